"""Adam's diagonal preconditioner, read from the optimizer's state without changing it.

Adam's step is lr * m_hat / (sqrt(v_hat) + eps), so along the weights it behaves like GD on the
preconditioned Hessian P^-1 H with P = diag(sqrt(v_hat) + eps) and v_hat = exp_avg_sq / (1 - beta2^t)
(bias-corrected). The stability threshold of an Adam spec applies to lambda_max(P^-1 H), which equals
lambda_max(P^-1/2 H P^-1/2), the symmetric form Lanczos needs.
"""
from __future__ import annotations

import math
from typing import Any

import torch


def _group_of(optimizer: torch.optim.Optimizer) -> dict[torch.Tensor, dict[str, Any]]:
    return {p: group for group in optimizer.param_groups for p in group["params"]}


def adam_denominators(optimizer: torch.optim.Optimizer, params: list[torch.Tensor],
                      defaults: dict[str, float]) -> torch.Tensor | None:
    """Flat sqrt(v_hat) + eps over `params` (in order), or None before Adam has taken a step.

    Works with any optimizer that keeps Adam's `exp_avg_sq` and `step` in its per-parameter state;
    beta2 and eps come from the parameter group ("betas", "eps") or else from `defaults` (the driver's).
    """
    groups = _group_of(optimizer)
    pieces = []
    for p in params:
        state = optimizer.state.get(p, {})
        if "exp_avg_sq" not in state or "step" not in state:
            return None
        group = groups.get(p, {})
        beta2 = float(group["betas"][1]) if "betas" in group else float(defaults.get("beta2", 0.999))
        eps = float(group["eps"]) if "eps" in group else float(defaults.get("eps", 1e-8))
        step = float(state["step"])
        if step <= 0:
            return None
        v_hat = state["exp_avg_sq"].detach() / (1.0 - beta2 ** step)
        pieces.append((v_hat.sqrt() + eps).reshape(-1))
    return torch.cat(pieces).to(params[0].dtype) if pieces else None


def adam_learning_rates(optimizer: torch.optim.Optimizer, params: list[torch.Tensor],
                        defaults: dict[str, float]) -> torch.Tensor:
    """Flat learning rate per weight (from each parameter's group; the driver's default lr if none)."""
    groups = _group_of(optimizer)
    return torch.cat([torch.full((p.numel(),), float(groups.get(p, {}).get("lr", defaults.get("lr", math.nan))),
                                 device=p.device, dtype=p.dtype) for p in params])
