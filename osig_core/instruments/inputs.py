"""What an instrument is given, explicitly: the problem it measures, the optimizer as it stands, the
step's inputs, its own settings, and the typed links between instruments.

Instruments never see a RunConfig: `osig run` maps its config onto these (osig_core/engine/inputs.py),
`osig.Monitor` builds them from its own arguments and the user's optimizer. So an instrument reads
exactly what it needs, and a driver that has no config (a user's loop) invents none.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from osig_core.data.base import Dataset

LossSpec = Any  # "ce" | "mse" | callable(out, y) -> per-sample losses [B]


@dataclass
class Problem:
    """The loss the optimizer minimises: model, per-sample loss and training tensors on `device`."""
    model: torch.nn.Module
    data: Dataset  # training tensors, already on `device`
    loss: LossSpec
    device: torch.device
    chunk_size: int = 1000  # samples per forward chunk of a pass over many samples
    step_samples: int = 0  # samples one optimizer step sees (what a sharpness budget is counted in); 0: all
    label_smoothing: float = 0.0
    full_batch: bool = False  # the step's gradient is the full-batch mean (its pass may carry HVPs)

    def samples_per_step(self) -> int:
        return int(self.step_samples) if self.step_samples > 0 else self.data.n


@dataclass
class OptimizerView:
    """The optimizer as instruments may read it: lr and stability threshold, Adam's preconditioner.

    `threshold_of` is the driver's rule (the engine: the optimizer spec applied to its config; the
    Monitor: the user's param_groups, read again each call so schedules are followed). `defaults`
    stands in for lr / beta2 / eps a param group does not carry."""
    optimizer: torch.optim.Optimizer | None
    threshold_of: Callable[[], float | None] = lambda: None
    preconditioned: bool = False  # the threshold applies to lambda_max(P^-1 H) (Adam)
    defaults: dict[str, float] = field(default_factory=dict)

    def threshold(self) -> float:
        value = self.threshold_of()
        return math.nan if value is None else float(value)

    def lr(self) -> float:
        groups = self.optimizer.param_groups if self.optimizer is not None else []
        return float(groups[0].get("lr", self.defaults.get("lr", math.nan))) if groups else math.nan

    def adam_denominators(self, params: list[torch.Tensor]) -> torch.Tensor | None:
        from osig_core.instruments.adam_precond import adam_denominators
        return adam_denominators(self.optimizer, params, self.defaults)

    def learning_rates(self, params: list[torch.Tensor]) -> torch.Tensor:
        from osig_core.instruments.adam_precond import adam_learning_rates
        return adam_learning_rates(self.optimizer, params, self.defaults)


@dataclass
class SharpnessLink:
    """What the sharpness instrument publishes after each estimate."""
    vectors: torch.Tensor  # the top-k Ritz vectors [k, dim], flat over the trainable parameters
    eigenvalue: float  # the top one
    step: int
    hvp_method: str  # "double-backward" | "fwd-rev" (after a fallback, the one that worked)
    theta_ref: torch.Tensor | None = None  # the weights proj_top is measured from


@dataclass
class Links:
    """What one part of a run hands another (typed; one object per run, kept by the driver)."""
    sharpness: SharpnessLink | None = None
    tracked_groups: dict[str, list[int]] = field(default_factory=dict)  # published by the group detector
    theta_ref: Any = None  # reference weights restored from a checkpoint (flat tensor, list or array)


@dataclass
class StepInputs:
    """The state at the weights theta_t of step t, after the step's gradient was computed and
    before the optimizer applies it. Instruments must not modify parameters or `.grad`."""
    step: int
    optim: OptimizerView
    losses: np.ndarray | None = None  # float32 [N] per-sample losses at theta_t (None if not recorded this step)
    preds: np.ndarray | None = None  # int/float [N] predictions at theta_t (None if not recorded this step)
    train_loss: float = float("nan")  # the loss the optimizer minimised this step
    links: Links = field(default_factory=Links)
    dist: Any = None  # osig_core.engine.distributed.DistContext in a multi-process run (collective instruments use it)
    # (start block [m, dim], H times it [m, dim]) from the step's own gradient pass at theta_t, when the
    # sharpness instrument asked for it (`fused_start`); None otherwise
    step_hvp: tuple[torch.Tensor, torch.Tensor] | None = None
    report: Callable[[str], None] | None = None  # an instrument's own progress ("HVP 5 of ≤ 20"); None: unheard


@dataclass(frozen=True)
class SharpnessSettings:
    """`osig run --sharpness-*` and `--eig-k` (the defaults are RunConfig's; a test keeps them equal)."""
    every: int = 0  # 0: never
    subset: int | None = None  # fixed sample subset the Hessian is taken over; None: all samples
    tol: float = 1e-4
    cheap_tol: float = 0.05
    budget: float = 0.0
    follow: int = 0
    eig_k: int = 1
    seed: int = 0


@dataclass(frozen=True)
class PerSampleSettings:
    every: int = 0  # 0: every CURVATURE_INTERVALS-th sharpness interval
    sharpness_every: int = 0
    outliers_k: int = 24  # size of the random baseline group when there are no tracked groups
    seed: int = 0


@dataclass(frozen=True)
class ProbeSettings:
    probes: tuple[str, ...] = ()
    every: int = 10
    seed: int = 0


@dataclass(frozen=True)
class InstrumentSettings:
    sharpness: SharpnessSettings = SharpnessSettings()
    per_sample: PerSampleSettings = PerSampleSettings()
    probes: ProbeSettings = ProbeSettings()
