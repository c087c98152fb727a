"""How the curvature instruments evaluate a model without changing it.

Two modes, both leave parameters, `.grad` and BatchNorm running statistics untouched:

- `batch_stats_mode`: train mode like the training step (BatchNorm normalises with the statistics of
  each forward chunk) but with running-statistic updates switched off, and dropout disabled so that
  the loss is a deterministic function of the weights (Lanczos needs a fixed operator).
- `frozen_bn_buffers` + eval mode: BatchNorm normalises with fixed statistics measured on reference
  data (the training set), so every sample's loss depends on that sample alone. Per-sample gradients,
  per-sample curvature and probe outputs use this mode (a single sample has no batch statistics).
For models without BatchNorm both modes compute the same function.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def batchnorm_modules(model: nn.Module) -> list[tuple[str, _BatchNorm]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, _BatchNorm)]


def has_batchnorm(model: nn.Module) -> bool:
    return bool(batchnorm_modules(model))


@contextmanager
def batch_stats_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Train-mode forward with per-chunk batch statistics, no running-stat updates, no dropout."""
    was_training = {m: m.training for m in model.modules()}
    tracking = {m: m.track_running_stats for _, m in batchnorm_modules(model)}
    try:
        model.train()
        for m in model.modules():
            if isinstance(m, nn.modules.dropout._DropoutNd):
                m.eval()
        for m in tracking:
            # With track_running_stats off, a train-mode BatchNorm passes no running buffers to
            # F.batch_norm: it normalises by the batch and updates nothing.
            m.track_running_stats = False
        yield model
    finally:
        for m, flag in tracking.items():
            m.track_running_stats = flag
        for m, flag in was_training.items():
            m.training = flag


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode for the duration of a block (restores every module's own flag afterwards)."""
    was_training = {m: m.training for m in model.modules()}
    try:
        model.eval()
        yield model
    finally:
        for m, flag in was_training.items():
            m.training = flag


@torch.no_grad()
def frozen_bn_buffers(model: nn.Module, x: torch.Tensor, chunk_size: int = 1000) -> dict[str, torch.Tensor]:
    """{"<bn>.running_mean": mean, "<bn>.running_var": biased var} of every BatchNorm's input over x.

    Passed to `torch.func.functional_call` with the model in eval mode, these make BatchNorm
    normalise exactly as a train-mode forward of all of x at once would, but as fixed constants.
    Chunks are pooled (mean of means and of second moments, weighted by chunk size). Empty without BN.
    """
    bns = [(n, m) for n, m in batchnorm_modules(model) if m.running_mean is not None]
    if not bns:
        return {}
    sums: dict[str, list[torch.Tensor]] = {}

    def hook_for(name: str):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            wide = torch.float32 if inputs[0].device.type == "mps" else torch.float64  # no float64 on MPS
            inp = inputs[0].detach().to(wide)
            dims = [d for d in range(inp.dim()) if d != 1]
            count = inp.numel() // inp.shape[1]
            s1, s2 = inp.sum(dims), inp.pow(2).sum(dims)
            if name in sums:
                sums[name][0] += s1
                sums[name][1] += s2
                sums[name][2] += count
            else:
                sums[name] = [s1, s2, torch.tensor(float(count), dtype=wide, device=inp.device)]
        return hook

    handles = [m.register_forward_pre_hook(hook_for(name)) for name, m in bns]
    try:
        with batch_stats_mode(model):
            for start in range(0, x.shape[0], chunk_size):
                model(x[start:start + chunk_size])
    finally:
        for h in handles:
            h.remove()
    out: dict[str, torch.Tensor] = {}
    for name, m in bns:
        s1, s2, count = sums[name]
        mean = s1 / count
        var = (s2 / count - mean.pow(2)).clamp_min(0.0)
        dtype = m.running_mean.dtype
        prefix = f"{name}." if name else ""
        out[prefix + "running_mean"] = mean.to(dtype)
        out[prefix + "running_var"] = var.to(dtype)
    return out
