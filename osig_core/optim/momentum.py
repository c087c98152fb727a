"""The momentum rule with dampening that gd, sgd, signsgd and splitsgd share (paper, Appendix F, Algorithm 1).

    m_t = beta * m_{t-1} + (1 - tau) * g_t,   m_0 = 0

Unlike torch.optim.SGD (whose first step sets the buffer to g undamped), the first step here is
already (1 - tau) * g_1. The buffer is a tensor in the optimizer state, so it round-trips through
`state_dict()` / safetensors.
"""
from __future__ import annotations

from typing import Any

import torch


def gradient_with_decay(p: torch.Tensor, weight_decay: float) -> torch.Tensor:
    """g_t: the gradient engine left in p.grad, plus coupled L2 weight decay (wd * theta) if asked."""
    return p.grad if weight_decay == 0 else p.grad.add(p, alpha=weight_decay)


def update_momentum(state: dict[str, Any], p: torch.Tensor, g: torch.Tensor, beta: float, tau: float) -> torch.Tensor:
    """Advance and return the momentum buffer m_t of parameter p (created as zeros on first use)."""
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
    m = state["momentum_buffer"]
    return m.mul_(beta).add_(g, alpha=1.0 - tau)


def run_closure(closure) -> Any:
    """Evaluate an optional closure with gradients enabled (torch.optim's convention)."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()
