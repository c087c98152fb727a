"""splitsgd: the paper's Appendix F, Algorithm 1 (SplitSGD).

    m_t   = beta m_{t-1} + (1 - tau) g_t          (m_0 = 0)
    mh_t  = m_t / (1 - tau^t)                     (debias exactly as written; tau = 0 divides by 1)
    mask  = 1{|mh_t| <= r}
    theta = theta - eta1 (mh_t * mask) - eta2 sign(mh_t) * (1 - mask)

eta1 = --lr, eta2 = --lr2, beta = --momentum, tau = --dampening (the paper uses beta = tau = 0.9).
r is the --split-quantile (q, paper: 0.1) quantile of |g_1| over all parameters jointly, fixed at the
first step. Per-parameter state, all tensors: `momentum_buffer`, `step` (0-dim), `threshold` (r, 0-dim,
stored with every parameter so it survives a state_dict round trip). Coupled L2 weight decay if asked.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import torch

from osig_core.optim.base import OptimizerSpec
from osig_core.optim.momentum import gradient_with_decay, run_closure, update_momentum


def quantile(values: torch.Tensor, q: float) -> torch.Tensor:
    """The q-quantile of a 1-D tensor with linear interpolation (as torch.quantile), without its size limit."""
    n = values.numel()
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    v_lo = torch.kthvalue(values, lo + 1).values
    v_hi = torch.kthvalue(values, hi + 1).values
    return v_lo + (pos - lo) * (v_hi - v_lo)


class SplitSGD(torch.optim.Optimizer):
    """SGD on coordinates with small debiased momentum, SignSGD on the rest. See module docstring."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, lr2: float, momentum: float = 0.0,
                 dampening: float = 0.0, split_quantile: float = 0.1, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, lr2=lr2, momentum=momentum, dampening=dampening,
                                      split_quantile=split_quantile, weight_decay=weight_decay))
        self._signed = None  # tensor: coordinates that took the signed step on the last step
        self._total = 0

    def _with_grad(self) -> list[tuple[torch.Tensor, dict]]:
        return [(p, g) for g in self.param_groups for p in g["params"] if p.grad is not None]

    def _threshold(self, pairs: list[tuple[torch.Tensor, dict]]) -> torch.Tensor:
        """r from the state (after the first step or a restore), else the quantile of this first gradient."""
        for p, _ in pairs:
            if "threshold" in self.state[p]:
                return self.state[p]["threshold"]
        mags = torch.cat([gradient_with_decay(p, g["weight_decay"]).detach().abs().flatten().float() for p, g in pairs])
        return quantile(mags, pairs[0][1]["split_quantile"])

    @torch.no_grad()
    def step(self, closure=None):
        loss = run_closure(closure)
        pairs = self._with_grad()
        if not pairs:
            return loss
        r = self._threshold(pairs)
        signed, total = None, 0
        for p, group in pairs:
            state = self.state[p]
            if "step" not in state:
                state["step"] = torch.tensor(0.0)
                state["threshold"] = r.detach().clone().to(p.device)
            state["step"] += 1
            tau = group["dampening"]
            m = update_momentum(state, p, gradient_with_decay(p, group["weight_decay"]), group["momentum"], tau)
            m_hat = m / (1.0 - tau ** state["step"].item())
            mask = m_hat.abs() <= state["threshold"]
            p.sub_(torch.where(mask, group["lr"] * m_hat, group["lr2"] * m_hat.sign()))
            n_signed = (~mask).sum()
            signed = n_signed if signed is None else signed + n_signed.to(signed.device)
            total += mask.numel()
        self._signed, self._total = signed, total
        return loss

    @property
    def last_signed_fraction(self) -> float | None:
        """Share of coordinates that took the fixed-size signed step on the last step (None before any)."""
        return None if self._signed is None else float(self._signed) / self._total

    def stats(self) -> dict[str, float]:
        """{"signed_fraction": share of coordinates that took the fixed-size signed step last step}."""
        fraction = self.last_signed_fraction
        return {} if fraction is None else {"signed_fraction": fraction}


def build(params: Iterable[torch.nn.Parameter], cfg: Any) -> torch.optim.Optimizer:
    return SplitSGD(params, lr=cfg.lr, lr2=cfg.lr2, momentum=cfg.momentum, dampening=cfg.dampening,
                    split_quantile=cfg.split_quantile, weight_decay=cfg.weight_decay)


SPLITSGD = OptimizerSpec(
    name="splitsgd", build=build,
    summary="SplitSGD (paper App. F): SGD below |m| <= r, fixed signed steps of --lr2 above; r from --split-quantile")
