"""gd / sgd: heavy-ball momentum with dampening exactly as the paper writes it.

    m_t = beta m_{t-1} + (1 - tau) g_t  (m_0 = 0),   theta_t = theta_{t-1} - eta m_t

beta = tau = 0 is plain GD (full batch) or SGD (minibatches); the engine decides the batch.

Stability threshold on the sharpness lambda (top Hessian eigenvalue). On a quadratic with curvature
lambda, eliminating m gives theta_t = theta_{t-1} - (1-tau) eta lambda theta_{t-1} + beta (theta_{t-1} - theta_{t-2}):
classical (undampened) heavy ball with step size eta' = (1 - tau) eta. Its characteristic polynomial
z^2 - (1 + beta - eta' lambda) z + beta has both roots inside the unit circle iff eta' lambda < 2 + 2 beta, so

    threshold = (2 + 2 beta) / ((1 - tau) eta)      (2/eta for plain GD; (2 + 2 beta)/eta undampened),

read from the optimizer's param_groups by osig_core/optim/thresholds.py (heavy_ball_threshold).
"""
from __future__ import annotations

from typing import Any, Iterable

import torch

from osig_core.optim.base import OptimizerSpec
from osig_core.optim.momentum import gradient_with_decay, run_closure, update_momentum


class HeavyBall(torch.optim.Optimizer):
    """SGD with heavy-ball momentum and dampening (Algorithm 1's momentum); coupled L2 weight decay.

    State per parameter: `momentum_buffer` (only when momentum > 0; with beta = 0 the step is
    (1 - tau) eta g and needs no state). param_groups hold only the hyperparameters from RunConfig.
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, beta, tau = group["lr"], group["momentum"], group["dampening"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = gradient_with_decay(p, group["weight_decay"])
                if beta == 0:
                    p.add_(g, alpha=-lr * (1.0 - tau))
                else:
                    p.add_(update_momentum(self.state[p], p, g, beta, tau), alpha=-lr)
        return loss


def build(params: Iterable[torch.nn.Parameter], cfg: Any) -> torch.optim.Optimizer:
    return HeavyBall(params, lr=cfg.lr, momentum=cfg.momentum, dampening=cfg.dampening, weight_decay=cfg.weight_decay)



GD = OptimizerSpec(
    name="gd", build=build,
    summary="full-batch gradient descent; --momentum/--dampening add heavy-ball momentum m = b*m + (1-t)*g")
SGD = OptimizerSpec(
    name="sgd", build=build,
    summary="minibatch SGD; --momentum/--dampening add heavy-ball momentum m = b*m + (1-t)*g")
