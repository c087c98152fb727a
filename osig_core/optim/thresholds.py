"""The stability threshold of any optimizer (`osig run`'s and your own), read from its param_groups at each step.

Schedules change lr (and sometimes momentum or betas) between steps, so the threshold is never
cached: `OptimizerRule.threshold()` reads the groups every time it is asked.

- SGD-like (torch.optim.SGD, osig's heavy ball): (2 + 2 beta) / ((1 - tau) eta), 2/eta without
  momentum (see osig_core/optim/heavy_ball.py). Nesterov momentum has another bound: no threshold.
- Adam-like (torch.optim.Adam, AdamW): (2 + 2 beta1) / ((1 - beta1) eta) on the preconditioned
  sharpness lambda_max(P^-1 H), 38/eta for beta1 = 0.9 (see osig_core/optim/adam.py).
- anything else: no threshold; `reason` says why (recorded in the run's meta and events).
With several param groups the threshold is the smallest over the groups (the first to go unstable).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch


SGD_LIKE = ("SGD", "HeavyBall")
ADAM_LIKE = ("Adam", "AdamW")


def optimizer_label(optimizer: torch.optim.Optimizer) -> str:
    """'torch:AdamW' for torch.optim classes (the CLI's --optim spelling), else 'custom:Name'."""
    cls = type(optimizer)
    if cls.__module__.startswith("torch.optim"):
        return f"torch:{cls.__name__}"
    if cls.__module__.startswith("osig_core.optim"):
        return {"HeavyBall": "sgd"}.get(cls.__name__, f"custom:{cls.__name__}")
    return f"custom:{cls.__name__}"


def heavy_ball_threshold(group: dict[str, Any]) -> float:
    beta = float(group.get("momentum", 0.0) or 0.0)
    tau = float(group.get("dampening", 0.0) or 0.0) if beta > 0 else 0.0
    return (2.0 + 2.0 * beta) / ((1.0 - tau) * float(group["lr"]))


def adam_threshold(group: dict[str, Any]) -> float:
    beta1 = float(group["betas"][0])
    return (2.0 + 2.0 * beta1) / ((1.0 - beta1) * float(group["lr"]))


@dataclass
class OptimizerRule:
    """Which threshold rule applies to one optimizer instance, and why none does when it does not."""
    optimizer: torch.optim.Optimizer
    kind: str  # "heavy_ball" | "adam" | "none"
    reason: str | None = None

    @classmethod
    def of(cls, optimizer: torch.optim.Optimizer) -> "OptimizerRule":
        name = type(optimizer).__name__
        groups = optimizer.param_groups
        if name in SGD_LIKE and all("lr" in g for g in groups):
            if any(g.get("nesterov") for g in groups):
                return cls(optimizer, "none", f"{name} with Nesterov momentum has no threshold osig knows; "
                                              "sharpness is recorded without one")
            return cls(optimizer, "heavy_ball")
        if name in ADAM_LIKE and all("lr" in g and "betas" in g for g in groups):
            return cls(optimizer, "adam")
        return cls(optimizer, "none", f"osig knows no stability threshold for the optimizer {name}; "
                                      "sharpness is recorded without one")

    @property
    def preconditioned(self) -> bool:
        return self.kind == "adam"

    def lr(self) -> float:
        return float(self.optimizer.param_groups[0].get("lr", math.nan))

    def threshold(self) -> float:
        """The current threshold (NaN where there is none or a group has lr 0)."""
        if self.kind == "none":
            return math.nan
        rule = heavy_ball_threshold if self.kind == "heavy_ball" else adam_threshold
        values = []
        for g in self.optimizer.param_groups:
            try:
                values.append(rule(g))
            except (ZeroDivisionError, KeyError, TypeError, ValueError, IndexError):
                values.append(math.inf)  # lr 0: this group never goes unstable
        finite = [v for v in values if math.isfinite(v)]
        return min(finite) if finite else math.nan
