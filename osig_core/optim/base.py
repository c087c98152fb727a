"""OptimizerSpec: how the engine builds an optimizer and what stability threshold it implies."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    summary: str
    build: Callable[[Iterable[torch.nn.Parameter], Any], torch.optim.Optimizer]  # (params, cfg) -> optimizer
    threshold: Callable[[Any], float | None]  # cfg -> stability threshold on the (raw or preconditioned) sharpness
    preconditioned: bool = False  # True: the threshold applies to lambda_max(P^-1 H) (Adam)
