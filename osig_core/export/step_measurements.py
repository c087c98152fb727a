"""One step's measurements as a flat {name: number} dict, for trackers (TensorBoard, W&B, MLflow...).

`Monitor(on_step=...)` hands this dict to the user's callback and `osig export --tensorboard` writes
the same names, so charts logged live and charts exported later line up. Names are the run's scalar
keys (docs/run-format.md), plus `band_lower` / `band_upper` (the interval holding the top eigenvalue)
and `layer_share/NAME` (each layer's share of the top eigenvector's curvature). `tag_for` files a
name under a TensorBoard section, since TensorBoard groups charts by the part before the first '/'.
Imports nothing heavy: `osig export` must not load torch.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

# layer_curvature records: a few modules read best; a deep net's dozens read better as its blocks
MAX_MODULES = 12


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool) or isinstance(v, str):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def band(scalars: Mapping[str, Any]) -> dict[str, float]:
    """The band the top eigenvalue lies in, as the dashboard draws it: from the estimate (the top
    Ritz value never exceeds it) to `sharpness_upper` where the estimator stores one, else to the
    estimate + its certified residual bound `eig_bound`. Adam's preconditioned sharpness likewise."""
    out: dict[str, float] = {}
    for key, pre, name in (("sharpness", "eig", "band"), ("precond_sharpness", "precond", "precond_band")):
        lam = _number(scalars.get(key))
        if lam is None or not math.isfinite(lam):
            continue
        upper = next((x for x in (_number(scalars.get(k)) for k in (f"{key}_upper", f"{pre}_upper"))
                      if x is not None and math.isfinite(x)), None)
        half = _number(scalars.get(f"{pre}_bound"))
        if upper is None and half is not None and math.isfinite(half):
            upper = lam + abs(half)
        if upper is not None:
            out[f"{name}_lower"], out[f"{name}_upper"] = lam, upper
    return out


def layer_shares(record: Any) -> dict[str, float]:
    """Per-layer curvature shares of one `layer_curvature` record, as the dashboard picks them:
    modules (top-level blocks for a deep net), else parameters."""
    if not isinstance(record, dict):
        return {}
    modules, tops = record.get("modules") or {}, record.get("top_modules") or {}
    shares = modules if (len(modules) <= MAX_MODULES or len(tops) < 2) else tops
    shares = shares or record.get("params") or {}
    out = {}
    for name, v in shares.items():
        x = _number(v)
        if x is not None:
            out[f"layer_share/{name}"] = x
    return out


def step_measurements(step: int, scalars: Mapping[str, Any], records: Mapping[str, Any] | None = None) -> dict[str, float]:
    """{"step": step, every numeric scalar recorded that step, the band, the layer shares}."""
    out: dict[str, Any] = {"step": int(step)}
    for k, v in scalars.items():
        x = _number(v)
        if x is not None and k != "step":
            out[k] = x
    out.update(band(scalars))
    if records:
        out.update(layer_shares(records.get("layer_curvature")))
    return out


_SHARPNESS = {"sharpness", "threshold", "band_lower", "band_upper", "proj_top", "precond_sharpness"}
_GROUPS = {"frac_up", "opposing_score"}
_TIME = {"step_time", "monitor_time"}


def tag_for(name: str) -> str:
    """The TensorBoard tag of a measurement: `loss/train_loss`, `sharpness/threshold`, ... (a name
    that already has a section, such as `layer_share/body.0`, is kept)."""
    if "/" in name:
        return name
    if name.endswith("_loss"):
        section = "loss"
    elif name.endswith("_acc"):
        section = "accuracy"
    elif name in _SHARPNESS or name.startswith(("sharpness_", "eig_", "precond_")):
        section = "sharpness"
    elif name in _GROUPS:
        section = "groups"
    elif name in _TIME or name.startswith("time_"):
        section = "time"
    else:
        section = "train"
    return f"{section}/{name}"
