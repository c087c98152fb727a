"""The step's gradient, single-process or sharded across ranks (the engine calls only this).

Full batch: each rank runs its contiguous shard of sample ids, scaling by 1/N_global, then the
gradients are all-reduced and the per-sample losses gathered in sample-id order. Minibatch: every
rank draws the same global batch and takes its interleaved share.
"""
from __future__ import annotations

import torch

from osig_core.config.run_config import RunConfig
from osig_core.data.base import Dataset
from osig_core.engine.distributed import DistContext
from osig_core.problem.losses import per_sample_loss
from osig_core.problem.passes import PassResult, _autocast, full_batch_gradient


class Gradients:
    def __init__(self, cfg: RunConfig, model: torch.nn.Module, data: Dataset, loss: str, dist: DistContext | None):
        self.cfg, self.model, self.data, self.loss, self.dist = cfg, model, data, loss, dist
        self.lo, self.hi = dist.shard(data.n) if dist else (0, data.n)
        # --compile: the passes run a compiled view sharing the model's parameters; checkpoints and
        # instruments keep using the plain module (its state_dict keys stay unchanged).
        self.forward = torch.compile(model) if cfg.compile else model

    def can_fuse_products(self) -> bool:
        """Whether the full-batch pass can also return Hessian-vector products of the loss the
        sharpness instrument estimates: one process, the plain module, fp32 (the HVPs are fp32)."""
        return self.dist is None and not self.cfg.compile and self.cfg.precision == "fp32"

    def full_batch(self, tangents: torch.Tensor | None = None) -> PassResult:
        """The step's gradient into `.grad` and every sample's loss; with `tangents` (only where
        `can_fuse_products`) also H t for each row, from the same pass."""
        cfg, d = self.cfg, self.data
        res = full_batch_gradient(self.forward, d.x[self.lo:self.hi], d.y[self.lo:self.hi], loss=self.loss,
                                  label_smoothing=cfg.label_smoothing, chunk_size=cfg.chunk_size,
                                  precision=cfg.precision, record=True, grad_scale=1.0 / d.n, tangents=tangents)
        if self.dist is None:
            return res
        self.dist.all_reduce_grads(self.model)
        n = d.n
        return PassResult(self.dist.gather_rows(res.losses, n),
                          self.dist.gather_rows(res.preds, n),
                          self.dist.gather_rows(res.correct.to(torch.uint8), n).bool())

    def minibatch(self, idx: torch.Tensor) -> float:
        """Gradient of the mean loss over the global batch `idx` into `.grad`; returns that loss."""
        cfg = self.cfg
        if self.dist is not None:
            local = idx[self.dist.rank::self.dist.world]
        else:
            local = idx
        with _autocast(self.data.x.device, cfg.precision):
            out = self.forward(self.data.x[local])
        total = per_sample_loss(out, self.data.y[local], self.loss, cfg.label_smoothing).sum()
        (total / len(idx)).backward()
        total = total.detach().reshape(1)
        if self.dist is not None:
            self.dist.all_reduce_grads(self.model)
            self.dist.all_reduce_(total)
        return float(total) / len(idx)
