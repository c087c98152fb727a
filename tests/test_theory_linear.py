"""The paper's Section 3.3 theory, checked with the sharpness instrument on toy-linear + linear2.

Theorems 3.1/3.2 (two-layer linear net, opposing signal of strength alpha, target norm ||beta||):
under gradient flow the sharpness starts in (alpha, 3 alpha), first decreases, then grows to at least
(5/8) ||beta|| alpha; with GD at a step size eta > 16 / (5 ||beta|| alpha), b_o starts oscillating
across zero with growing magnitude. The theorems' constants (||beta|| > 245, sqrt(alpha) >> ||beta||^2)
are asymptotic; this small instance (d1=20, d2=40, alpha=1000, p=0.05, ||beta||=10, n=1000) shows
every claimed phase and runs in seconds.
"""
from __future__ import annotations

import pytest

from osig_core.config.run_config import RunConfig
from osig_core.engine.inputs import optimizer_view
from osig_core.instruments.inputs import StepInputs
from instrument_inputs import sharpness_for
from osig_core.problem.losses import per_sample_loss
from osig_core.components.registry import DATASETS, MODELS, OPTIMIZERS, dataset_arg

DATA = "toy-linear:d1=20,d2=40,alpha=1000,p=0.05,beta_norm=10"
ALPHA, BETA_NORM = 1000.0, 10.0
ETA_CRIT = 16.0 / (5.0 * BETA_NORM * ALPHA)  # the theorem's step size for oscillation


def build(lr: float):
    cfg = RunConfig(model="linear2", data=DATA, optim="gd", lr=lr, n=1000, n_test=10, chunk_size=1000,
                    sharpness_every=10, sharpness_cheap_tol=0.0, seed=0)  # every estimate to the tolerance
    data = DATASETS["toy-linear"](cfg, dataset_arg(DATA))
    assert data.meta["alpha"] == ALPHA and data.meta["beta_norm"] == BETA_NORM
    model = MODELS["linear2"](data, 1.0)
    spec = OPTIMIZERS["gd"]
    optimizer = spec.build(model.parameters(), cfg)
    return cfg, data, model, spec, optimizer, sharpness_for(cfg, model, data)


def gd_step(model, data, optimizer) -> None:
    optimizer.zero_grad()
    per_sample_loss(model(data.x), data.y, "mse").mean().backward()
    optimizer.step()


def opposing_weight(model) -> float:
    """b_o along the opposing signal's direction 1/sqrt(d2)."""
    return float(model.b_o.detach().sum()) / model.b_o.numel() ** 0.5


def sign_flips(values: list[float]) -> int:
    return sum(1 for a, b in zip(values, values[1:]) if a * b < 0)


def test_sharpness_dips_then_sharpens_under_gradient_flow():
    cfg, data, model, spec, optimizer, inst = build(lr=0.25 * ETA_CRIT)
    target = 5.0 / 8.0 * BETA_NORM * ALPHA
    estimates: list[tuple[int, float]] = []
    b_o: list[float] = []
    for step in range(4000):
        if step < 200 and step % 10 == 0 or step % 100 == 0:
            m = inst.measure(StepInputs(step, optimizer_view(cfg, optimizer, spec)))
            assert m.scalars["threshold"] == pytest.approx(2.0 / cfg.lr)
            assert m.scalars["eig_residual"] <= cfg.sharpness_tol
            estimates.append((step, m.scalars["sharpness"]))
            if m.scalars["sharpness"] >= target:
                break
        b_o.append(opposing_weight(model))
        gd_step(model, data, optimizer)
    values = [s for _, s in estimates]
    assert ALPHA < values[0] < 3 * ALPHA  # Theorem 3.1: at initialisation
    low = min(range(len(values)), key=values.__getitem__)
    assert 0 < low and estimates[low][0] <= 200 and values[low] < values[0]  # first decreases
    assert all(b >= a for a, b in zip(values[low:], values[low + 1:]))  # then only grows
    assert values[-1] >= target  # Theorem 3.2: to at least (5/8) ||beta|| alpha
    assert values[-1] < 2.0 / cfg.lr  # stayed below 2/eta: no oscillation, as in gradient flow
    assert sign_flips(b_o[10:]) <= 1


def test_b_o_oscillates_across_zero_above_the_critical_step_size():
    cfg, data, model, spec, optimizer, inst = build(lr=1.5 * ETA_CRIT)
    b_o: list[float] = []
    sharpness: dict[int, float] = {}
    for step in range(600):
        if step % 10 == 0:
            ctx = StepInputs(step, optimizer_view(cfg, optimizer, spec))
            sharpness[step] = inst.measure(ctx).scalars["sharpness"]
        b_o.append(opposing_weight(model))
        gd_step(model, data, optimizer)
    # the first run of >= 5 consecutive steps alternating in sign with growing magnitude
    onset = next((t for t in range(10, len(b_o) - 5)
                  if sign_flips(b_o[t:t + 5]) == 4 and all(abs(b) > abs(a) for a, b in zip(b_o[t:t + 4], b_o[t + 1:t + 5]))),
                 None)
    assert onset is not None, "b_o never oscillated across zero"
    assert sharpness[0] < 2.0 / cfg.lr  # stable at initialisation ...
    assert sharpness[onset // 10 * 10] > 2.0 / cfg.lr  # ... oscillating once the sharpness passed 2/eta
