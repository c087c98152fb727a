"""OptimizerSpec: how the engine builds an optimizer (its stability threshold: osig_core/optim/thresholds.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    summary: str
    build: Callable[[Iterable[torch.nn.Parameter], Any], torch.optim.Optimizer]  # (params, cfg) -> optimizer
    # cfg -> stability threshold, only for a rule osig cannot read off the optimizer. Left None, the threshold
    # is read from the built optimizer's param_groups at every step (osig_core/optim/thresholds.py), the
    # same rule osig.Monitor applies to your optimizer, so a changed lr is followed.
    threshold: Callable[[Any], float | None] | None = None
    preconditioned: bool = False  # True: the threshold applies to lambda_max(P^-1 H) (Adam)
