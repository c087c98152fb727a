"""adam: torch.optim.Adam. Its threshold applies to the preconditioned sharpness lambda_max(P^-1 H).

Adam's first moment is heavy-ball momentum with momentum = dampening = beta1 (plus debiasing), so the
heavy-ball bound (2 + 2 beta) / ((1 - tau) eta) becomes (2 + 2 beta1) / ((1 - beta1) eta), 38/eta for
beta1 = 0.9 (Cohen et al., "Adaptive gradient methods at the edge of stability"); read from the optimizer's
param_groups by osig_core/optim/thresholds.py (adam_threshold).
State (step, exp_avg, exp_avg_sq) is all tensors.
"""
from __future__ import annotations

from typing import Any, Iterable

import torch

from osig_core.optim.base import OptimizerSpec


def build(params: Iterable[torch.nn.Parameter], cfg: Any) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, weight_decay=cfg.weight_decay)



ADAM = OptimizerSpec(
    name="adam", build=build, preconditioned=True,
    summary="Adam (--beta1, --beta2, --eps); threshold (2+2*beta1)/((1-beta1)*lr) on the preconditioned sharpness")
