"""What the engine hands an instrument each step, and what an instrument gives back to be stored."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from osig_core.config import RunConfig
from osig_core.data.base import Dataset
from osig_core.optim.base import OptimizerSpec


@dataclass
class StepContext:
    """The state at the weights theta_t of step t, after the step's gradient was computed and
    before the optimizer applies it. Instruments must not modify parameters or `.grad`."""
    step: int
    cfg: RunConfig
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    opt_spec: OptimizerSpec
    data: Dataset  # training tensors, already on `device`
    device: torch.device
    losses: np.ndarray | None = None  # float32 [N] per-sample losses at theta_t (None if not recorded this step)
    preds: np.ndarray | None = None  # int/float [N] predictions at theta_t (None if not recorded this step)
    train_loss: float = float("nan")  # the loss the optimizer minimised this step
    shared: dict[str, Any] = field(default_factory=dict)  # state instruments share, e.g. "top_eigvecs", "tracked_ids"
    dist: Any = None  # osig_core.distributed.DistContext in a multi-process run (collective instruments use it)
    # (start block [m, dim], H times it [m, dim]) from the step's own gradient pass at theta_t, when the
    # sharpness instrument asked for it (`fused_start`); None otherwise
    step_hvp: tuple[torch.Tensor, torch.Tensor] | None = None


@dataclass
class Measurement:
    scalars: dict[str, float] = field(default_factory=dict)  # per-step scalars (become export keys)
    records: dict[str, Any] = field(default_factory=dict)  # kind -> JSON-able payload stored for this step
