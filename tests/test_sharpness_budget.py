"""--sharpness-budget: how far cheap estimates may refine, counted (never timed) so runs stay
reproducible; an estimate the budget cuts short keeps a certified bound and says it was cut short."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import osig_core as osig
from curvature_reference import exact_hessian
from osig_core.config.run_config import ConfigError, RunConfig
from instrument_inputs import sharpness_for
from osig_core.instruments.inputs import Links
from osig_core.instruments.sharpness_budget import HVP_COST, ProductBudget
from test_sharpness import gd_spec, gd_steps, make_ctx, tiny_setup


def test_allowance_grows_with_the_steps_and_shrinks_with_what_was_spent():
    b = ProductBudget(0.5, hvp_samples=1000, step_samples=1000)
    hvp = HVP_COST["double-backward"]
    assert b.hvp("double-backward") == hvp and b.fused("double-backward") == hvp - 1
    # at step 9 the run has earned 5 steps' worth; a fused first product costs 1, each further HVP 2
    assert b.steps_allowed(9, "double-backward", fused_rows=1) == 1 + 2
    assert b.steps_allowed(9, "double-backward", fused_rows=0) == 1 + 1  # the first product is a whole HVP
    b.spend("double-backward", standalone=2, fused=1)  # 5 steps' worth
    assert b.steps_allowed(9, "double-backward", fused_rows=1) == 1  # the floor: one product, always
    assert b.steps_allowed(19, "double-backward", fused_rows=1) == 1 + 2
    minibatch = ProductBudget(0.5, hvp_samples=1000, step_samples=100)  # an HVP over 10 batches' samples
    assert minibatch.hvp("fwd-rev") == pytest.approx(HVP_COST["fwd-rev"] * 10)
    assert ProductBudget(math.inf, 10, 10).steps_allowed(5, "fwd-rev", 1) is None
    assert ProductBudget(0.0, 10, 10).steps_allowed(5, "fwd-rev", 1) is None  # 0, the default: no cap


def test_a_budget_cut_estimate_is_certified_flagged_and_cheap():
    """A budget near 0: every cheap estimate takes its one product. Its band still holds the top
    eigenvalue (only wider), its value never exceeds it, and it says the budget stopped it."""
    model, data = tiny_setup(seed=2)
    cfg = RunConfig(lr=0.2, sharpness_every=1, chunk_size=60, sharpness_budget=1e-9, sharpness_cheap_tol=0.01)
    inst = sharpness_for(cfg, model, data)
    shared = Links()
    capped = 0
    for step in range(12):
        m = inst.measure(make_ctx(step, cfg, model, data, gd_spec(), links=shared))
        s, rec = m.scalars, m.records["eig"]
        evals = torch.linalg.eigvalsh(exact_hessian(model, data.x, data.y, "ce", 60))
        assert float((evals - s["sharpness"]).abs().min()) <= s["eig_bound"], step  # the certified bracket
        assert s["sharpness"] <= float(evals[-1]) * (1 + 1e-6) <= s["sharpness_upper"]
        if step > 0:
            assert rec["hvps"] == 1 and rec["mode"] == "cheap"
            assert rec["budget_capped"] == (s["sharpness_upper"] - s["sharpness"] > cfg.sharpness_cheap_tol * s["sharpness"])
            assert not s["eig_converged"] or s["eig_residual"] <= cfg.sharpness_tol
            capped += rec["budget_capped"]
        gd_steps(model, data, cfg.lr, 1)
    assert capped > 0  # the cap did bind: without it these estimates would have refined


def _run(tmp_path, name, budget):
    cfg = osig.RunConfig(n=400, steps=60, sharpness_every=5, sharpness_budget=budget, checkpoint_every=0, eval_every=0)
    return osig.train(cfg, tmp_path / name).metrics()


def test_a_run_spends_within_its_budget_and_a_larger_one_refines_more(tmp_path):
    tight, loose = _run(tmp_path, "tight", 0.1), _run(tmp_path, "loose", 100.0)
    assert np.array_equal(tight["train_loss"], loose["train_loss"])  # estimates never change training
    ok = np.isfinite(tight["sharpness"])
    hvps_t, hvps_l = tight["eig_hvps"][ok], loose["eig_hvps"][ok]
    assert hvps_t[0] == hvps_l[0]  # the cold first estimate is outside the budget
    # after it: at most 0.1 steps' worth per step (MLP: double backward, 2 passes per HVP, 1 when fused),
    # plus the one product every estimate pays and the full estimate at step 200 (none in 60 steps)
    spent = sum(1.0 if h == 1 else 1.0 + 2.0 * (h - 1) for h in hvps_t[1:])
    assert spent <= 0.1 * 60 + len(hvps_t[1:]) * 1.0
    assert hvps_l[1:].sum() > hvps_t[1:].sum()


def test_bad_budget_is_one_sentence():
    with pytest.raises(ConfigError, match="--sharpness-budget must be 0 or more"):
        RunConfig(sharpness_budget=-1.0).validate()
