"""signsgd: theta <- theta - eta * sign(m_t), with m_t the dampened momentum of Algorithm 1.

With --momentum 0 (the default) m_t = (1 - tau) g_t, so the step is eta * sign(g_t). A fixed-size step
has no sharpness threshold of the 2/eta kind, so `threshold` is None.
"""
from __future__ import annotations

from typing import Any, Iterable

import torch

from osig_core.optim.base import OptimizerSpec
from osig_core.optim.momentum import gradient_with_decay, run_closure, update_momentum


class SignSGD(torch.optim.Optimizer):
    """Sign of the gradient (or of the momentum buffer when momentum > 0); coupled L2 weight decay."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = run_closure(closure)
        for group in self.param_groups:
            beta, tau = group["momentum"], group["dampening"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = gradient_with_decay(p, group["weight_decay"])
                direction = g if beta == 0 else update_momentum(self.state[p], p, g, beta, tau)
                p.add_(direction.sign(), alpha=-group["lr"])
        return loss


def build(params: Iterable[torch.nn.Parameter], cfg: Any) -> torch.optim.Optimizer:
    return SignSGD(params, lr=cfg.lr, momentum=cfg.momentum, dampening=cfg.dampening, weight_decay=cfg.weight_decay)


SIGNSGD = OptimizerSpec(
    name="signsgd", build=build,
    summary="SignSGD: fixed-size steps lr*sign(g) (sign of the momentum with --momentum)")
