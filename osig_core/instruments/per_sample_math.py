"""Per-sample first- and second-order quantities along a direction v, for a batch of samples.

For each sample i (loss l_i, BatchNorm statistics held fixed so l_i depends on sample i alone):
  grad_norm_i = ||grad l_i||         per-sample gradients with torch.func (vmap of grad)
  v_grad_i    = v . grad l_i         from the same per-sample gradients
  vHv_i       = v^T H(x_i) v         second directional derivative d^2/dt^2 l_i(theta + t v) at t = 0,
                                     by forward-over-forward jvp of the batch's loss vector: one
                                     nested forward pass gives all samples at once, no Hessian.
Models whose ops lack forward-mode AD fall back to reverse-over-reverse per sample (vmap).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, grad, jvp, vmap

from osig_core.problem.losses import per_sample_loss

VMAP_FLOATS = 2.5e7  # per-sample gradients held at once: chunk * n_params floats at most


@dataclass
class PerSampleValues:
    loss: torch.Tensor  # [B]
    grad_norm: torch.Tensor  # [B]
    v_grad: torch.Tensor  # [B]
    vHv: torch.Tensor  # [B]


class PerSampleCurvature:
    """Evaluates `model` (in eval mode, with `buffers` overriding BatchNorm statistics) per sample."""

    def __init__(self, model: nn.Module, loss: str, label_smoothing: float,
                 params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor]):
        self.model, self.loss, self.label_smoothing = model, loss, label_smoothing
        self.params, self.buffers = params, buffers
        n_params = sum(p.numel() for p in params.values())
        self.chunk = int(max(1, min(256, VMAP_FLOATS // max(n_params, 1))))

    def batch_losses(self, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = functional_call(self.model, {**self.buffers, **params}, (x,))
        return per_sample_loss(out, y, self.loss, self.label_smoothing)

    def _one_loss(self, params, xi, yi):
        return self.batch_losses(params, xi.unsqueeze(0), yi.unsqueeze(0))[0]

    def values(self, x: torch.Tensor, y: torch.Tensor, v: dict[str, torch.Tensor]) -> PerSampleValues:
        parts = [self._chunk_values(x[s:s + self.chunk], y[s:s + self.chunk], v) for s in range(0, x.shape[0], self.chunk)]
        return PerSampleValues(*(torch.cat([getattr(p, f) for p in parts]) for f in ("loss", "grad_norm", "v_grad", "vHv")))

    def _chunk_values(self, x, y, v) -> PerSampleValues:
        grads = vmap(grad(self._one_loss), in_dims=(None, 0, 0))(self.params, x, y)
        sq = sum(g.reshape(g.shape[0], -1).float().pow(2).sum(1) for g in grads.values())
        v_grad = sum((g.reshape(g.shape[0], -1) * v[k].reshape(1, -1)).sum(1) for k, g in grads.items())
        del grads
        with torch.no_grad():
            losses = self.batch_losses(self.params, x, y)
        return PerSampleValues(losses.detach(), sq.sqrt().to(losses.dtype), v_grad.detach(), self.curvature_along(x, y, v))

    def curvature_along(self, x: torch.Tensor, y: torch.Tensor, v: dict[str, torch.Tensor]) -> torch.Tensor:
        """[B] v^T H(x_i) v for every sample of the batch."""
        def directional(p):
            return jvp(lambda q: self.batch_losses(q, x, y), (p,), (v,))[1]
        try:
            return jvp(directional, (self.params,), (v,))[1].detach()
        except (NotImplementedError, RuntimeError) as e:
            if "forward" not in str(e).lower() and "jvp" not in str(e).lower():
                raise
        return self._curvature_reverse(x, y, v)

    def _curvature_reverse(self, x, y, v) -> torch.Tensor:
        def v_dot_grad(p, xi, yi):
            g = grad(self._one_loss)(p, xi, yi)
            return sum((g[k] * v[k]).sum() for k in g)
        hv = vmap(grad(v_dot_grad), in_dims=(None, 0, 0))(self.params, x, y)
        return sum((h.reshape(h.shape[0], -1) * v[k].reshape(1, -1)).sum(1) for k, h in hv.items()).detach()
