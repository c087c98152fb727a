"""The one place a RunConfig becomes instrument inputs (`osig run`; osig.Monitor builds its own).

Seeds and defaults pass through unchanged, so a run measures exactly what it did when instruments
read the config themselves.
"""
from __future__ import annotations

import torch

from osig_core.config.run_config import RunConfig
from osig_core.data.base import Dataset
from osig_core.instruments.inputs import (InstrumentSettings, OptimizerView, PerSampleSettings, ProbeSettings,
                                          Problem, SharpnessSettings)
from osig_core.optim.base import OptimizerSpec
from osig_core.optim.thresholds import OptimizerRule
from osig_core.loop.recording import RecorderSettings


def problem_of(cfg: RunConfig, model: torch.nn.Module, data: Dataset, device) -> Problem:
    """The loss the run's optimizer minimises; a minibatch step sees `resolved_batch_size()` samples."""
    return Problem(model=model, data=data, loss=cfg.loss or data.loss, device=torch.device(device),
                   chunk_size=int(cfg.chunk_size), step_samples=data.n if cfg.full_batch else cfg.resolved_batch_size(),
                   label_smoothing=float(cfg.label_smoothing), full_batch=bool(cfg.full_batch))


def optimizer_view(cfg: RunConfig, optimizer: torch.optim.Optimizer | None, spec: OptimizerSpec | None) -> OptimizerView:
    """The threshold read from the optimizer's param_groups at each step, by the rule osig.Monitor
    applies to a user's optimizer (a plugin spec with its own `threshold(cfg)` keeps it); cfg's lr,
    beta2 and eps stand in for what a param group lacks."""
    if spec is not None and spec.threshold is not None:
        threshold_of, rule_preconditioned = (lambda: spec.threshold(cfg)), False
    elif optimizer is not None:
        rule = OptimizerRule.of(optimizer)
        threshold_of, rule_preconditioned = rule.threshold, rule.preconditioned
    else:
        threshold_of, rule_preconditioned = (lambda: None), False
    return OptimizerView(optimizer=optimizer, threshold_of=threshold_of,
                         preconditioned=bool(rule_preconditioned or (spec is not None and spec.preconditioned)),
                         defaults={"lr": float(cfg.lr), "beta2": float(cfg.beta2), "eps": float(cfg.eps)})


def sharpness_settings(cfg: RunConfig) -> SharpnessSettings:
    return SharpnessSettings(every=int(cfg.sharpness_every), subset=cfg.sharpness_subset, tol=float(cfg.sharpness_tol),
                             cheap_tol=float(cfg.sharpness_cheap_tol), budget=float(cfg.sharpness_budget),
                             follow=int(cfg.sharpness_follow), eig_k=int(cfg.eig_k), seed=cfg.seed)


def instrument_settings(cfg: RunConfig) -> InstrumentSettings:
    return InstrumentSettings(
        sharpness=sharpness_settings(cfg),
        per_sample=PerSampleSettings(every=int(cfg.per_sample_every), sharpness_every=int(cfg.sharpness_every),
                                     outliers_k=int(cfg.outliers_k), seed=int(cfg.seed)),
        probes=ProbeSettings(probes=tuple(cfg.probes or ()), every=int(cfg.probe_every), seed=int(cfg.seed)))


def recorder_settings(cfg: RunConfig) -> RecorderSettings:
    return RecorderSettings(full_batch=bool(cfg.full_batch), track=cfg.track, track_every=int(cfg.track_every),
                            groups=bool(cfg.groups), outliers_k=int(cfg.outliers_k),
                            group_window=int(cfg.group_window), seed=int(cfg.seed))


def instruments_for(cfg: RunConfig, model: torch.nn.Module, data: Dataset, device) -> list:
    """The instruments `osig run` builds for this config (osig_core/instruments/schedule.py)."""
    from osig_core.instruments.schedule import build_instruments
    return build_instruments(problem_of(cfg, model, data, device), instrument_settings(cfg))
