"""Checkpoints as safetensors only: model, optimizer state, RNG states and the step.

Tensors go in the tensor section; everything else (param groups, step, non-tensor state) is JSON
in the safetensors metadata. Nothing is ever unpickled.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from osig_core.store.layout import CHECKPOINT_DIR, RunStoreError, checkpoint_name


def save_checkpoint(run_dir: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                    rng: dict[str, torch.Tensor], extra: dict[str, Any] | None = None,
                    instrument_state: dict[str, torch.Tensor] | None = None) -> Path:
    """Write atomically (tmp file + rename) so a kill mid-write never leaves a half checkpoint.

    instrument_state: tensors an instrument needs to continue exactly after a resume (the sharpness
    instrument's reference weights for `proj_top`), stored as `state.NAME`."""
    tensors: dict[str, torch.Tensor] = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta: dict[str, Any] = {"step": step, "extra": extra or {}}
    if optimizer is not None:
        sd = optimizer.state_dict()
        scalar_state: dict[str, dict[str, Any]] = {}
        for idx, st in sd["state"].items():
            for key, val in st.items():
                if torch.is_tensor(val):
                    tensors[f"optim.{idx}.{key}"] = val.detach().cpu().contiguous()
                else:
                    scalar_state.setdefault(str(idx), {})[key] = val
        meta["optim_groups"] = sd["param_groups"]
        meta["optim_scalars"] = scalar_state
    for name, state in rng.items():
        tensors[f"rng.{name}"] = state.cpu().contiguous()
    for name, value in (instrument_state or {}).items():
        tensors[f"state.{name}"] = value.detach().cpu().contiguous()
    out_dir = run_dir / CHECKPOINT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / checkpoint_name(step)
    tmp = path.with_suffix(".tmp")
    meta_json = json.dumps(meta)
    try:
        save_file(tensors, str(tmp), metadata={"osig": meta_json, "osig_sha256": _digest(meta_json, tensors)})
        os.replace(tmp, path)
    except SafetensorError as e:  # safetensors reports a failed write (a full disk) as its own error
        tmp.unlink(missing_ok=True)
        text = str(e).strip().splitlines()[0] if str(e).strip() else "write failed"
        code = errno.ENOSPC if "No space left" in text else errno.EDQUOT if "quota" in text.lower() else errno.EIO
        raise OSError(code, os.strerror(code) if code != errno.EIO else text, str(path)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)  # e.g. a full disk: leave no half-written file behind
        raise
    return path


def _digest(meta_json: str, tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of the metadata and every tensor (name, dtype, shape, bytes): finds a flipped bit anywhere."""
    h = hashlib.sha256(meta_json.encode())
    for name in sorted(tensors):
        t = tensors[name]
        h.update(f"|{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.numel():  # an empty tensor has no bytes (and may carry a stride that cannot be viewed as bytes)
            h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def load_checkpoint(path: Path) -> dict[str, Any]:
    """-> {"step", "model": state_dict, "optim": state_dict | None, "rng": {...}, "extra": {...}, "state": {...}}."""
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
        meta = json.loads(header["osig"])
        if "osig_sha256" in header and header["osig_sha256"] != _digest(header["osig"], tensors):
            raise ValueError("its checksum does not match its contents")
        return _unpack(meta, tensors)
    except (SafetensorError, OSError, KeyError, ValueError, RuntimeError, TypeError, AttributeError) as e:
        raise RunStoreError(f"checkpoint '{path}' is corrupt or unreadable ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None


def _unpack(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    model = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    rng = {k[4:]: v for k, v in tensors.items() if k.startswith("rng.")}
    optim = None
    if "optim_groups" in meta:
        state: dict[int, dict[str, Any]] = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, idx, key = k.split(".", 2)
                state.setdefault(int(idx), {})[key] = v
        for idx, d in meta.get("optim_scalars", {}).items():
            state.setdefault(int(idx), {}).update(d)
        optim = {"state": state, "param_groups": meta["optim_groups"]}
    instrument_state = {k[6:]: v for k, v in tensors.items() if k.startswith("state.")}
    return {"step": int(meta["step"]), "model": model, "optim": optim, "rng": rng, "extra": meta.get("extra", {}),
            "state": instrument_state}


def non_finite_parameter(model: torch.nn.Module) -> str | None:
    """The first parameter holding a NaN or inf, or None: weights like that are never checkpointed
    (by either driver), so every checkpoint on disk can be resumed."""
    return next((name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())), None)


def newest_at_or_before(run_dir: Path, checkpoints: list[tuple[int, Path]], step: int | None) -> tuple[int, Path]:
    """The newest of `checkpoints` (a reader's list, oldest first) at or before `step` (None: newest)."""
    chosen = [c for c in checkpoints if step is None or c[0] <= step]
    if not chosen:
        raise RunStoreError(f"'{run_dir}' has no checkpoint at or before step {step}")
    return chosen[-1]


def load_weights(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None,
                 what: str = "this model") -> dict[str, Any]:
    """A checkpoint's weights (and optimizer state, where it holds one) into `model` (and `optimizer`);
    returns the loaded checkpoint. One that does not fit is one sentence naming it and `what`.
    (`osig run --resume` loads more than this: osig_core/engine/training.py; osig.open_run and
    osig.Monitor.restore load this.)"""
    state = load_checkpoint(path)
    try:
        model.load_state_dict(state["model"])
        if optimizer is not None and state["optim"] is not None:
            optimizer.load_state_dict(state["optim"])
    except (RuntimeError, ValueError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RunStoreError(f"checkpoint '{path}' does not fit {what} ({first[:160]})") from None
    return state
