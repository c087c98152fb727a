"""What a checkpoint holds beyond model, optimizer and RNG: every instrument's `state_dict()` and the
loss recorder's (the group detector whole), so a resumed run records exactly what an uninterrupted
one does. Tensors are stored as `state.inst.NAME.KEY` / `state.rec.KEY`, JSON under the metadata's
`extra` (see docs/run-format.md).
"""
from __future__ import annotations

import math

import torch


def component_states(instruments: list, recorder, prev_loss: float) -> tuple[dict[str, torch.Tensor], dict]:
    """-> (tensors, JSON for `extra`). Instruments without `state_dict` keep nothing."""
    tensors: dict[str, torch.Tensor] = {}
    doc: dict = {"instruments": {}, "prev_loss": prev_loss}
    parts = [(f"inst.{inst.name}.", inst) for inst in instruments if hasattr(inst, "state_dict")]
    for prefix, part in parts + [("rec.", recorder)]:
        sd = part.state_dict()
        tensors.update({prefix + k: torch.as_tensor(v) for k, v in sd.get("tensors", {}).items()})
        if part is recorder:
            doc["recorder"] = sd.get("json", {})
        else:
            doc["instruments"][part.name] = sd.get("json", {})
    return tensors, doc


def load_component_states(instruments: list, recorder, state: dict) -> tuple[dict | None, float]:
    """Inverse of component_states -> (the recorder's state or None, prev_loss). A checkpoint written
    before these were kept restores none (the recorder then refills its detector from the stored
    rows). Raises what a state that does not fit raises (ValueError, KeyError, RuntimeError...)."""
    extra, tensors = state["extra"], state.get("state", {})
    for inst in instruments:
        if hasattr(inst, "load_state_dict") and inst.name in extra.get("instruments", {}):
            prefix = f"inst.{inst.name}."
            inst.load_state_dict({"tensors": {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)},
                                  "json": extra["instruments"][inst.name]})
    recorder_state = None
    if "recorder" in extra:
        recorder_state = {"json": extra["recorder"],
                          "tensors": {k[4:]: v.numpy() for k, v in tensors.items() if k.startswith("rec.")}}
        recorder.load_state_dict(recorder_state)
    return recorder_state, float(extra.get("prev_loss", math.nan))
