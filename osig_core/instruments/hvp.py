"""Hessian-vector products of exactly the loss the optimiser minimises.

The loss is the mean per-sample loss (`osig_core.problem.losses.per_sample_loss`) over a fixed set of samples,
evaluated in chunks of `chunk_size` like the engine's full-batch step: L = sum_chunks sum_i l_i / N.
Vectors are flat (one float tensor of all trainable parameters, in `named_parameters()` order) and
stay on the model's device.

Two HVP methods, both via `torch.func.functional_call` on detached copies of the weights (so
parameters and `.grad` are never touched):
- "fwd-rev": forward-over-reverse, jvp of grad (torch.func);
- "double-backward": reverse-over-reverse, autograd.grad of (grad . v).
Which is faster depends on the model (on CPU: double-backward for the MLP, fwd-rev for VGG-11;
benchmarks/bench_sharpness.py). The default "auto" is a fixed rule, never a timing, so two identical
runs (and a resumed run) compute bit-identical products: fwd-rev for models with convolutions,
double-backward otherwise. A model whose ops lack forward-mode AD falls back to double-backward.
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, jvp

from osig_core.problem.measure_mode import batch_stats_mode, eval_mode
from osig_core.problem.losses import per_sample_loss

# torch's own forward-mode decompositions call the deprecated torch.jit.script the first time jvp
# runs; that warning is about torch internals, not the user's run, and would clutter `osig run`.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)

HVP_METHODS = ("fwd-rev", "double-backward")
DEFAULT_HVP_METHOD = "auto"  # a fixed rule per model (see auto_method), so runs are reproducible


def auto_method(model: nn.Module) -> str:
    """The "auto" HVP method for a model: fwd-rev with convolutions (measured faster on VGG-11),
    double-backward otherwise (faster on the MLP). A rule, not a timing: runs stay bit-reproducible."""
    convs = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
    return "fwd-rev" if any(isinstance(m, convs) for m in model.modules()) else "double-backward"


def trainable(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return [(name, p) for name, p in model.named_parameters() if p.requires_grad]


def flatten(tensors: list[torch.Tensor] | tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def unflatten(flat: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
    out, start = [], 0
    for t in like:
        out.append(flat[start:start + t.numel()].view_as(t))
        start += t.numel()
    return out


def flat_params(model: nn.Module) -> torch.Tensor:
    return flatten([p.detach() for _, p in trainable(model)])


class LossHessian:
    """The mean loss over (x, y) as a function of the trainable weights: value, gradient, HVPs.

    bn_buffers=None evaluates like the training step (train mode, batch statistics per chunk, no
    running-stat updates); a dict from `frozen_bn_buffers` evaluates in eval mode with those fixed
    BatchNorm statistics (a per-sample-separable loss). `hvps` counts the HVPs computed.
    """

    def __init__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str,
                 label_smoothing: float = 0.0, chunk_size: int = 1000, method: str = DEFAULT_HVP_METHOD,
                 bn_buffers: dict[str, torch.Tensor] | None = None,
                 reduce: Callable[[torch.Tensor], torch.Tensor] | None = None, n_total: int | None = None):
        """reduce/n_total: in a distributed run (x, y) is this rank's shard; sums are all-reduced with
        `reduce` and divided by the global sample count `n_total`."""
        if method not in HVP_METHODS + ("auto",):
            raise ValueError(f"unknown HVP method {method!r}; choose auto or one of {HVP_METHODS}")
        self.model, self.x, self.y = model, x, y
        self.loss, self.label_smoothing = loss, label_smoothing
        self.chunk_size = max(1, int(chunk_size))
        self.method = auto_method(model) if method == "auto" else method
        self.names = [name for name, _ in trainable(model)]
        self.shapes = [p.detach() for _, p in trainable(model)]
        self.buffers = dict(model.named_buffers())
        self.frozen = bn_buffers is not None
        if bn_buffers:
            self.buffers.update(bn_buffers)
        self.hvps = 0
        self.reduce = reduce
        self.n_total = int(n_total) if n_total is not None else int(x.shape[0])

    @property
    def n(self) -> int:
        """Samples this process evaluates (the shard size in a distributed run)."""
        return int(self.x.shape[0])

    def _mean(self, total: torch.Tensor) -> torch.Tensor:
        if self.reduce is not None:
            total = self.reduce(total)
        return total / self.n_total

    @property
    def dim(self) -> int:
        return sum(t.numel() for t in self.shapes)

    def params(self) -> dict[str, torch.Tensor]:
        """Detached views of the current weights (they follow the model as it trains)."""
        named = dict(trainable(self.model))
        return {name: named[name].detach() for name in self.names}

    def _mode(self):
        return eval_mode(self.model) if self.frozen else batch_stats_mode(self.model)

    def _chunks(self):
        for start in range(0, self.n, self.chunk_size):
            yield self.x[start:start + self.chunk_size], self.y[start:start + self.chunk_size]

    def per_sample_losses(self, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = functional_call(self.model, {**self.buffers, **params}, (x,))
        return per_sample_loss(out, y, self.loss, self.label_smoothing)

    def _chunk_sum(self, x: torch.Tensor, y: torch.Tensor) -> Callable[[dict[str, torch.Tensor]], torch.Tensor]:
        return lambda params: self.per_sample_losses(params, x, y).sum()

    # ------------------------------------------------------------------ value and gradient
    def value(self) -> float:
        params = self.params()
        total = 0.0
        with self._mode(), torch.no_grad():
            for xc, yc in self._chunks():
                total += float(self._chunk_sum(xc, yc)(params))
        return float(self._mean(torch.tensor([total], dtype=torch.float64, device=self.x.device)))

    def gradient(self) -> torch.Tensor:
        """Flat gradient of the mean loss (the step's gradient, without touching `.grad`)."""
        params = self.params()
        total = None
        with self._mode():
            for xc, yc in self._chunks():
                g = flatten(list(grad(self._chunk_sum(xc, yc))(params).values()))
                total = g if total is None else total + g
        return self._mean(total)

    # ------------------------------------------------------------------ Hessian-vector products
    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        """H v for a flat vector v (same dtype/device as the weights)."""
        self.hvps += 1
        params = self.params()
        tangents = dict(zip(self.names, unflatten(v, list(params.values()))))
        total = None
        with self._mode():
            for xc, yc in self._chunks():
                hv = self._chunk_hvp(params, tangents, xc, yc)
                total = hv if total is None else total + hv
        return self._mean(total)

    def _chunk_hvp(self, params, tangents, xc, yc) -> torch.Tensor:
        if self.method == "fwd-rev":
            try:
                _, hv = jvp(grad(self._chunk_sum(xc, yc)), (params,), (tangents,))
                # forward-mode AD may promote tangents of Python-scalar ops to float64: cast back
                return flatten([h.to(p.dtype) for h, p in zip(hv.values(), params.values())])
            except (NotImplementedError, RuntimeError) as e:
                if "forward" not in str(e).lower() and "jvp" not in str(e).lower():
                    raise
                self.method = "double-backward"  # an op without forward-mode AD: use reverse twice
        leaves = {k: t.clone().requires_grad_(True) for k, t in params.items()}
        with torch.enable_grad():
            loss = self._chunk_sum(xc, yc)(leaves)
            g = torch.autograd.grad(loss, list(leaves.values()), create_graph=True, allow_unused=True)
            dot = sum((gi * tangents[k]).sum() for gi, k in zip(g, self.names) if gi is not None)
            hv = torch.autograd.grad(dot, list(leaves.values()), allow_unused=True)
        return flatten([h if h is not None else torch.zeros_like(p) for h, p in zip(hv, params.values())])

    def diag_sandwich(self, d: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """u -> D H D u with D = diag(d): the symmetric form of a diagonally preconditioned Hessian."""
        return lambda u: d * self.hvp(d * u)
