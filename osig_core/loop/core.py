"""StepCore: what one step does once its losses are known, the same under `osig run` and osig.Monitor.

The driver computes the step's gradient (engine) or finds the weights after the user's step
(Monitor) and hands over the per-sample losses; the core records them (frac_up, groups), applies the
loss-spike rule, runs the due instruments on typed inputs, writes the step, and owns what a
checkpoint must hold for a resumed run to record exactly what an uninterrupted one does.
"""
from __future__ import annotations

import math
from contextlib import nullcontext
from typing import Any, Callable, ContextManager

import torch

from osig_core.loop.component_state import component_states, load_component_states
from osig_core.instruments.base import Measurement
from osig_core.instruments.inputs import Links, OptimizerView, StepInputs

# A step whose loss exceeds the last finite one by this factor asks curvature instruments for an
# estimate out of schedule (each rate-limits its own answers).
SPIKE_FACTOR = 1.25


class StepCore:
    def __init__(self, instruments: list, recorder, optim: OptimizerView, dist: Any = None):
        self.instruments, self.recorder, self.optim, self.dist = instruments, recorder, optim, dist
        self.links = Links()  # what instruments and the group detector hand each other
        self.prev_loss = math.nan  # the last finite training loss (the spike rule's reference)
        self.report: Callable[[str], None] | None = None  # an instrument's own progress line

    # ------------------------------------------------------------------ per step
    def spike(self, train_loss: float) -> bool:
        """The loss-spike rule; remembers a finite loss as the next step's reference."""
        spike = math.isfinite(self.prev_loss) and train_loss > SPIKE_FACTOR * self.prev_loss
        if math.isfinite(train_loss):
            self.prev_loss = train_loss
        return spike

    def record(self, step: int, res):
        """The step's per-sample losses into a StepRecord; the groups it tracks become a link."""
        rec = self.recorder.record(step, res)
        self.links.tracked_groups = rec.tracked_groups
        return rec

    def fused_start(self, step: int) -> torch.Tensor | None:
        """Vectors whose Hessian products an instrument due at `step` wants from the step's own
        full-batch pass (sharpness `fused_start`), or None."""
        for inst in self.instruments:
            if hasattr(inst, "fused_start"):
                block = inst.fused_start(step)
                if block is not None:
                    return block
        return None

    def measure(self, step: int, rec, train_loss: float, spike: bool, step_hvp=None,
                timing: Callable[[Any], ContextManager] | None = None) -> Measurement:
        """Every due instrument at theta_t, in order; their scalars and records merged."""
        inputs = StepInputs(step=step, optim=self.optim, losses=None if rec is None else rec.losses,
                            preds=None if rec is None else rec.preds, train_loss=train_loss, links=self.links,
                            dist=self.dist, step_hvp=step_hvp, report=self.report)
        measured = Measurement()
        for inst in self.instruments:
            if inst.due(step, spike):
                with timing(inst) if timing is not None else nullcontext():
                    m = inst.measure(inputs)
                measured.scalars.update(m.scalars)
                measured.records.update(m.records)
        return measured

    @staticmethod
    def records(measured: Measurement, rec) -> dict[str, Any]:
        """The step's records: the instruments', then the recorder's (extremes, pairs)."""
        records = dict(measured.records)
        if rec is not None:
            records.update(rec.records)
        return records

    @staticmethod
    def write(writer, step: int, scalars: dict[str, float], records: dict[str, Any], rec) -> None:
        """One step into the run directory: scalars, records, the loss row and the groups."""
        writer.write_step(step, scalars, losses=None if rec is None else rec.losses_f16,
                          preds=None if rec is None else rec.preds, records=records,
                          group_losses=None if rec is None else rec.group_losses,
                          pairs=None if rec is None else rec.pairs_changed)

    # ------------------------------------------------------------------ checkpoints
    def theta_ref(self) -> Any:
        """The weights proj_top is measured from: the sharpness instrument's, else the restored ones."""
        return self.links.sharpness.theta_ref if self.links.sharpness is not None else self.links.theta_ref

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """(tensors, JSON for the checkpoint's `extra`): every instrument, the recorder and the spike
        reference (osig_core/loop/component_state.py)."""
        return component_states(self.instruments, self.recorder, self.prev_loss)

    def checkpoint_state(self, components: tuple[dict[str, torch.Tensor], dict]) -> tuple[dict[str, torch.Tensor], dict]:
        """`components` (what `state` gave) plus theta_ref as `state.theta_ref` (docs/run-format.md)."""
        tensors, doc = components
        ref = self.theta_ref()
        if torch.is_tensor(ref):
            tensors = {**tensors, "theta_ref": ref}
        return tensors, doc

    def load_state(self, state: dict) -> dict | None:
        """Inverse of `state` from a loaded checkpoint; returns the recorder's part (None for a
        checkpoint written before it was kept). Raises what a state that does not fit raises."""
        legacy = state["extra"].get("shared", {})  # an early checkpoint's untyped links
        self.links = Links(tracked_groups=dict(legacy.get("tracked_groups", {})), theta_ref=legacy.get("theta_ref"))
        if "theta_ref" in state.get("state", {}):  # proj_top continues from the same reference weights
            self.links.theta_ref = state["state"]["theta_ref"]
        recorder_state, self.prev_loss = load_component_states(self.instruments, self.recorder, state)
        return recorder_state
