"""The user's model, data and loss as osig sees them: checked once, turned into an osig Dataset.

`osig.Monitor` and the `--data pkg.module:factory` plugins both accept data as (x, y) tensors,
(x, y, classes), a torch Dataset of (x, y) items, or an osig Dataset. Every problem is one
ConfigError sentence raised before anything is written to a run directory.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from osig_core.errors import ConfigError
from osig_core.data.base import Dataset
from osig_core.problem.losses import per_sample_loss

LossSpec = str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
PROBE_BATCH = 4  # samples of the one forward that checks labels and the loss before a run starts


def _tensor(value: Any, what: str) -> torch.Tensor:
    if torch.is_tensor(value):
        return value
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(f"{what} must be a tensor or an array, got {type(value).__name__}") from None


def _from_torch_dataset(ds: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack a map-style torch Dataset of (x, y) items into tensors (sample id = index)."""
    try:
        n = len(ds)
    except TypeError:
        raise ConfigError("data must be (x, y) tensors or a torch Dataset with a length "
                          f"(an iterable-style {type(ds).__name__} has no sample ids)") from None
    if n == 0:
        raise ConfigError("data is empty; the monitor needs at least one sample")
    xs, ys = [], []
    for i in range(n):
        item = ds[i]
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise ConfigError(f"data[{i}] must be an (x, y) pair, got {type(item).__name__}")
        xs.append(_tensor(item[0], f"data[{i}][0]"))
        ys.append(_tensor(item[1], f"data[{i}][1]"))
    try:
        return torch.stack(xs), torch.stack(ys)
    except RuntimeError:
        raise ConfigError("the samples of data have different shapes, so they cannot be stacked") from None


def as_dataset(data: Any, classes: Sequence[str] | None = None, name: str = "custom") -> Dataset:
    """(x, y) | (x, y, classes) | torch Dataset | osig Dataset -> osig Dataset (on the CPU, labels long)."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (tuple, list)) and len(data) in (2, 3) and not isinstance(data[0], (tuple, list)):
        x, y = _tensor(data[0], "data's x"), _tensor(data[1], "data's y")
        if len(data) == 3 and classes is None:
            classes = list(data[2])
    elif hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        x, y = _from_torch_dataset(data)
    else:
        raise ConfigError(f"data must be (x, y) tensors or a torch Dataset, got {type(data).__name__}")
    if x.ndim == 0 or y.ndim == 0:
        raise ConfigError("data's x and y must have a sample dimension first")
    if x.shape[0] != y.shape[0]:
        raise ConfigError(f"data's x has {x.shape[0]} samples but y has {y.shape[0]}; their lengths must agree")
    if x.shape[0] == 0:
        raise ConfigError("data is empty; the monitor needs at least one sample")
    x = x.detach().cpu()
    y = y.detach().cpu()
    if not x.is_floating_point() and x.dtype != torch.long:
        x = x.float()
    if y.is_floating_point():
        y = y.float().reshape(y.shape[0], -1).squeeze(-1) if y.ndim <= 2 and y[0].numel() == 1 else y.float()
        kind = "regression" if y.ndim == 1 else "vector"
        names: list[str] = []
    else:
        y = y.long().reshape(-1) if y.ndim > 1 and y[0].numel() == 1 else y.long()
        if y.ndim != 1:
            raise ConfigError(f"class labels y must be one id per sample, got shape {tuple(y.shape)}")
        if int(y.min()) < 0:
            raise ConfigError(f"class labels y must be 0 or more, got {int(y.min())}")
        names = [str(c) for c in classes] if classes is not None else [str(i) for i in range(int(y.max()) + 1)]
        kind = "image" if x.ndim == 4 and x.shape[1] in (1, 3) else "vector"
    meta: dict[str, Any] = {}
    if kind == "image":  # thumbnails and probes: map each channel's range onto [0, 1]
        dims = [0, 2, 3]
        lo, hi = x.amin(dim=dims).float(), x.amax(dim=dims).float()
        span = (hi - lo).clamp_min(1e-8)
        meta = {"mean": (-lo / span).tolist(), "std": (1.0 / span).tolist()}
    return Dataset(name=name, kind=kind, x=x, y=y, classes=names, meta=meta)


def check_model(model: Any) -> torch.nn.Module:
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ConfigError("model has no trainable parameters (none with requires_grad), so there is nothing to watch")
    return model


def loss_label(loss: LossSpec) -> str:
    if isinstance(loss, str):
        return loss
    return "custom:" + getattr(loss, "__qualname__", type(loss).__name__)


def check_loss(loss: Any) -> LossSpec:
    if isinstance(loss, str):
        if loss not in ("ce", "mse"):
            raise ConfigError(f"unknown loss '{loss}'; choose ce, mse or a callable(out, y) -> per-sample losses")
        return loss
    if not callable(loss):
        raise ConfigError(f"loss must be 'ce', 'mse' or a callable(out, y) -> per-sample losses, got {type(loss).__name__}")
    return loss


@torch.no_grad()
def check_fit(model: torch.nn.Module, data: Dataset, loss: LossSpec, device: torch.device) -> int:
    """One small forward: labels within the model's outputs, a loss of one value per sample.
    Returns the number of outputs per sample."""
    from osig_core.problem.measure_mode import batch_stats_mode
    k = min(PROBE_BATCH, data.n)
    x, y = data.x[:k].to(device), data.y[:k].to(device)
    rng = torch.get_rng_state()
    try:
        with batch_stats_mode(model):
            out = model(x)
    except Exception as e:  # the user's model: any error is theirs, said in one line
        raise ConfigError(f"the model cannot run on data's x ({type(e).__name__}: {str(e).strip().splitlines()[0][:160] if str(e).strip() else ''})") from None
    finally:
        torch.set_rng_state(rng)
    if not torch.is_tensor(out):
        raise ConfigError(f"the model must return a tensor of outputs, got {type(out).__name__}")
    outputs = out.shape[-1] if out.ndim >= 2 else 1
    if data.is_classification and loss in ("ce", "mse"):
        top = int(data.y.max())
        if top >= outputs:
            raise ConfigError(f"label {top} is out of range for the model's {outputs} outputs")
    try:
        per = per_sample_loss(out, y, loss)
    except Exception as e:
        raise ConfigError(f"the loss cannot be computed on the model's outputs ({type(e).__name__}: "
                          f"{str(e).strip().splitlines()[0][:160] if str(e).strip() else ''})") from None
    if not torch.is_tensor(per) or per.ndim != 1 or per.shape[0] != k:
        shape = tuple(per.shape) if torch.is_tensor(per) else type(per).__name__
        raise ConfigError(f"the loss must return one value per sample (shape [{k}] for {k} samples), got {shape}; "
                          "use reduction='none'")
    return int(outputs)
