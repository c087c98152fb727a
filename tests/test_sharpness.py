"""SharpnessInstrument: what a run records about the top of the Hessian, checked on tiny models."""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from curvature_reference import exact_hessian, tiny_dataset
from osig_core.config.run_config import RunConfig
from osig_core.data.base import balanced_subset
from osig_core.engine.inputs import optimizer_view
from osig_core.instruments.hvp import flat_params, unflatten
from osig_core.instruments.inputs import Links, StepInputs
from instrument_inputs import sharpness_for
from osig_core.instruments.sharpness import SharpnessInstrument
from osig_core.problem.losses import per_sample_loss
from osig_core.optim.base import OptimizerSpec
from osig_core.components.registry import OPTIMIZERS


def gd_spec(threshold=None) -> OptimizerSpec:
    return OptimizerSpec(name="gd", summary="", build=lambda params, cfg: torch.optim.SGD(params, lr=cfg.lr),
                         threshold=threshold or (lambda cfg: 2.0 / cfg.lr))


ADAM_SPEC = OptimizerSpec(name="adam", summary="", preconditioned=True,
                          build=lambda params, cfg: torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps),
                          threshold=lambda cfg: (2 + 2 * cfg.beta1) / ((1 - cfg.beta1) * cfg.lr))


def tiny_setup(seed=0, n=60, bn=False):
    torch.manual_seed(seed)
    layers = [nn.Linear(5, 16)] + ([nn.BatchNorm1d(16)] if bn else []) + [nn.Tanh(), nn.Linear(16, 12), nn.Tanh(), nn.Linear(12, 3)]
    x, y = torch.randn(n, 5), torch.randint(0, 3, (n,))
    return nn.Sequential(*layers), tiny_dataset(x, y)


def make_ctx(step, cfg, model, data, spec, optimizer=None, links=None):
    optimizer = optimizer or spec.build(model.parameters(), cfg)
    return StepInputs(step=step, optim=optimizer_view(cfg, optimizer, spec), links=Links() if links is None else links)


def test_gd_estimate_matches_exact_hessian_and_leaves_model_alone():
    model, data = tiny_setup(bn=True)
    cfg = RunConfig(lr=0.1, sharpness_every=5, eig_k=2, chunk_size=25)
    inst = sharpness_for(cfg, model, data)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ctx = make_ctx(0, cfg, model, data, gd_spec())
    m = inst.measure(ctx)
    evals, evecs = torch.linalg.eigh(exact_hessian(model, data.x, data.y, "ce", 25))
    s = m.scalars
    assert s["sharpness"] == pytest.approx(float(evals[-1]), rel=1e-4)
    assert s["sharpness_2"] == pytest.approx(float(evals[-2]), rel=1e-4)
    assert s["threshold"] == pytest.approx(20.0)
    assert s["eig_residual"] <= cfg.sharpness_tol and s["eig_hvps"] == m.records["eig"]["hvps"] > 0
    assert s["sharpness_subset"] == 60 and s["proj_top"] == 0.0
    assert m.records["eig"]["eigenvalues"] == [s["sharpness"], s["sharpness_2"]]
    for k, t in model.state_dict().items():
        assert torch.equal(t, before[k]), k  # weights and BN running statistics
    assert all(p.grad is None for p in model.parameters())

    vecs = [unflatten(v, list(model.parameters())) for v in ctx.links.sharpness.vectors]
    assert len(vecs) == 2 and [t.shape for t in vecs[0]] == [p.shape for p in model.parameters()]
    v = torch.cat([t.reshape(-1) for t in vecs[0]]).double()
    assert abs(float(v @ evecs[:, -1])) >= 1 - 1e-4
    assert ctx.links.sharpness.eigenvalue == s["sharpness"]

    shares = m.records["layer_curvature"]
    names = [n for n, _ in model.named_parameters()]
    expected = {n: float(t.pow(2).sum()) for n, t in zip(names, vecs[0])}
    assert shares["params"] == pytest.approx(expected, abs=1e-6)
    assert sum(shares["params"].values()) == pytest.approx(1.0)
    assert sum(shares["modules"].values()) == pytest.approx(1.0)
    assert shares["modules"]["0"] == pytest.approx(expected["0.weight"] + expected["0.bias"], abs=1e-6)


def test_projection_warm_start_and_follow_up_after_gd_steps():
    model, data = tiny_setup()
    cfg = RunConfig(lr=0.1, sharpness_every=5, chunk_size=60, sharpness_cheap_tol=0.0)  # every estimate to tol
    inst = sharpness_for(cfg, model, data)
    shared = Links()
    first = inst.measure(make_ctx(0, cfg, model, data, gd_spec(), links=shared))
    theta0 = flat_params(model).clone()
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    for _ in range(5):
        opt.zero_grad()
        per_sample_loss(model(data.x), data.y, "ce").mean().backward()
        opt.step()
    later = inst.measure(make_ctx(5, cfg, model, data, gd_spec(), links=shared))
    v = shared.sharpness.vectors[0]
    assert later.scalars["proj_top"] == pytest.approx(float((flat_params(model) - theta0) @ v), rel=1e-5, abs=1e-7)
    evals = torch.linalg.eigvalsh(exact_hessian(model, data.x, data.y, "ce", 60))
    assert later.scalars["sharpness"] == pytest.approx(float(evals[-1]), rel=1e-4)
    assert later.scalars["sharpness"] <= float(evals[-1]) * (1 + 1e-6) <= later.scalars["sharpness_upper"]


def test_schedule_every_step_zero_spikes_and_threshold_crossing():
    model, data = tiny_setup()
    limit = [1e9]
    spec = gd_spec(threshold=lambda cfg: limit[0])
    cfg = RunConfig(sharpness_every=10, sharpness_follow=5)
    inst = sharpness_for(cfg, model, data)
    assert inst.due(0, False) and inst.due(20, False) and not inst.due(5, False)
    assert inst.due(7, True)  # a loss spike
    shared = Links()
    lam = inst.measure(make_ctx(10, cfg, model, data, spec, links=shared)).scalars["sharpness"]
    assert not inst.due(11, False)
    limit[0] = lam / 2  # the next estimate lies above the threshold: a crossing
    inst.measure(make_ctx(20, cfg, model, data, spec, links=shared))
    assert all(inst.due(s, False) for s in range(21, 26))
    assert not inst.due(26, False)
    off = sharpness_for(RunConfig(sharpness_every=0), model, data)
    assert not off.due(0, False) and not off.due(3, True)


def test_minibatch_sharpness_on_a_fixed_subset():
    model, data = tiny_setup(n=90)
    cfg = RunConfig(optim="sgd", batch_size=16, sharpness_every=1, sharpness_subset=30, chunk_size=1000, seed=3)
    inst = sharpness_for(cfg, model, data)
    m = inst.measure(make_ctx(0, cfg, model, data, gd_spec()))
    ids = torch.as_tensor(balanced_subset(data.y.numpy(), 30, 3))
    evals = torch.linalg.eigvalsh(exact_hessian(model, data.x[ids], data.y[ids], "ce", 1000))
    assert m.scalars["sharpness_subset"] == 30
    assert m.scalars["sharpness"] == pytest.approx(float(evals[-1]), rel=1e-4)


def test_adam_preconditioned_sharpness_and_effective_step():
    model, data = tiny_setup(seed=4)
    cfg = RunConfig(optim="adam", lr=0.01, sharpness_every=1, chunk_size=60)
    opt = ADAM_SPEC.build(model.parameters(), cfg)
    inst = sharpness_for(cfg, model, data)
    m0 = inst.measure(make_ctx(0, cfg, model, data, ADAM_SPEC, optimizer=opt))
    assert math.isnan(m0.scalars["precond_sharpness"]) and math.isnan(m0.scalars["adam_eff_step"])
    for _ in range(3):
        opt.zero_grad()
        per_sample_loss(model(data.x), data.y, "ce").mean().backward()
        opt.step()
    opt.zero_grad(set_to_none=True)
    shared = Links()
    m = inst.measure(make_ctx(3, cfg, model, data, ADAM_SPEC, optimizer=opt, links=shared))
    # independent reference: D H D with D = (sqrt(v_hat) + eps)^-1/2 from Adam's state
    denom = []
    for p in model.parameters():
        st = opt.state[p]
        v_hat = st["exp_avg_sq"].double() / (1 - cfg.beta2 ** float(st["step"]))
        denom.append((v_hat.sqrt() + cfg.eps).reshape(-1))
    denom = torch.cat(denom)
    H = exact_hessian(model, data.x, data.y, "ce", 60)
    d = denom.rsqrt()
    top = float(torch.linalg.eigvalsh(d[:, None] * H * d[None, :])[-1])
    assert m.scalars["precond_sharpness"] == pytest.approx(top, rel=1e-4)
    assert top == pytest.approx(float(torch.linalg.eigvals(torch.linalg.solve(torch.diag(denom), H)).real.max()), rel=1e-6)
    v = shared.sharpness.vectors[0].double()
    assert m.scalars["adam_eff_step"] == pytest.approx(abs(float((cfg.lr / denom) @ v)), rel=1e-5)
    assert m.scalars["threshold"] == pytest.approx(38 / cfg.lr)
    assert m.records["eig"]["precond"]["residual"] <= cfg.sharpness_tol


def test_reference_weights_after_resume():
    model, data = tiny_setup()
    cfg = RunConfig(sharpness_every=10)
    ref = flat_params(model).clone() - 0.01
    resumed = sharpness_for(cfg, model, data)
    shared = Links(theta_ref=ref.numpy())
    m = resumed.measure(make_ctx(30, cfg, model, data, gd_spec(), links=shared))
    v = shared.sharpness.vectors[0]
    assert m.scalars["proj_top"] == pytest.approx(float((flat_params(model) - ref) @ v), rel=1e-5)
    assert "note" not in m.records["eig"]
    lost = sharpness_for(cfg, model, data)
    m = lost.measure(make_ctx(30, cfg, model, data, gd_spec()))
    assert m.scalars["proj_top"] == 0.0 and "step 30" in m.records["eig"]["note"]
    assert np.isfinite(m.scalars["sharpness"])


def test_warm_start_directions_follow_the_period_two_oscillation():
    a, b = torch.ones(2, 3), torch.zeros(1, 3)  # the last estimate tracked two vectors, the one before one
    history = [(9, a), (8, b)]
    assert torch.equal(SharpnessInstrument._warm(history, 19), a)  # even gap: the last estimate's block
    assert torch.equal(SharpnessInstrument._warm(history, 10), torch.cat([a, b]))  # odd gap: + the even one
    assert torch.equal(SharpnessInstrument._warm([(9, a), (7, b)], 10), a)  # nothing an even gap back
    assert SharpnessInstrument._warm([], 3) is None  # cold


def test_projection_on_the_top_eigenvector_continues_exactly_across_a_resume(tmp_path):
    """proj_top is measured from the weights at the first estimate; a resumed run must keep that reference."""
    import osig_core as osig
    from osig_core.report.stats import series
    cfg = RunConfig(model="mlp", width=0.05, n=100, n_test=20, eval_every=0, lr=0.05, sharpness_every=3,
                    sharpness_tol=1e-8, sharpness_cheap_tol=0.0, checkpoint_every=5, groups=False,
                    steps=12)  # v exact, whatever the warm start
    straight = osig.train(cfg, tmp_path / "straight")
    osig.train(cfg.replace(steps=7), tmp_path / "resumed")  # final checkpoint at step 7
    resumed = osig.resume(tmp_path / "resumed", steps=12)
    s1, p1 = series(straight, "proj_top")
    s2, p2 = series(resumed, "proj_top")
    assert list(s1) == list(s2) and s1[-1] >= 9
    assert np.abs(p1).max() > 0
    np.testing.assert_allclose(p2, p1, rtol=1e-4, atol=1e-7)
    assert not any("note" in r for _, r in resumed.records("eig"))


def gd_steps(model, data, lr, count):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(count):
        opt.zero_grad()
        per_sample_loss(model(data.x), data.y, "ce").mean().backward()
        opt.step()


def test_every_estimate_carries_a_band_that_holds_and_an_honest_flag():
    """Every stored value: the exact top eigenvalue lies in [sharpness, sharpness_upper], an exact
    eigenvalue within sharpness +- eig_bound; eig_converged = 1 only when the value is within the
    tolerance; between full estimates the band is within --sharpness-cheap-tol of the value."""
    model, data = tiny_setup(seed=2)
    cfg = RunConfig(lr=0.2, sharpness_every=1, chunk_size=60)
    inst = sharpness_for(cfg, model, data)
    shared = Links()
    modes = {"cheap": [], "full": []}
    for step in range(22):
        m = inst.measure(make_ctx(step, cfg, model, data, gd_spec(), links=shared))
        s, rec = m.scalars, m.records["eig"]
        evals = torch.linalg.eigvalsh(exact_hessian(model, data.x, data.y, "ce", 60))
        top = float(evals[-1])
        assert s["sharpness"] <= top * (1 + 1e-6) <= s["sharpness_upper"] * (1 + 1e-6), step
        assert float((evals - s["sharpness"]).abs().min()) <= s["eig_bound"], step
        assert s["eig_residual"] == pytest.approx(s["eig_bound"] / s["sharpness"])
        assert s["eig_converged"] == float(rec["converged"]) and rec["bounds"][0] == s["eig_bound"]
        assert rec["band"] == {"lower": s["sharpness"], "upper": s["sharpness_upper"], "kind": "probabilistic",
                               "probability": 0.999}
        if s["eig_converged"]:
            assert abs(top - s["sharpness"]) <= cfg.sharpness_tol * top
        assert s["sharpness_upper"] - s["sharpness"] <= cfg.sharpness_cheap_tol * s["sharpness"] * (1 + 1e-9)
        modes[rec["mode"]].append(s["eig_hvps"])
        gd_steps(model, data, cfg.lr, 1)
    assert len(modes["full"]) == 2 and len(modes["cheap"]) == 20  # steps 0 and 20 ran to the tolerance


def run_schedule(instruments, model, data, cfg, steps, shared):
    """The engine's loop in miniature: due instruments measure at theta_t, then a GD step."""
    out = []
    spec = OPTIMIZERS["gd"]
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    for t in steps:
        ctx = StepInputs(step=t, optim=optimizer_view(cfg, opt, spec), links=shared)
        for inst in instruments:
            if inst.due(t, False):
                m = inst.measure(ctx)
                out.append((t, inst.name, m.scalars, json.dumps(m.records, sort_keys=True)))
        opt.zero_grad()
        per_sample_loss(model(data.x), data.y, "ce").mean().backward()
        opt.step()
    return out


def test_instrument_state_survives_a_checkpoint_bit_for_bit(tmp_path):
    """state_dict -> safetensors + JSON -> load_state_dict into fresh instruments: the measurements
    after the 'resume' equal the uninterrupted run's exactly (warm-start vectors, generators,
    schedule, reference weights; per-sample curvature uses the restored eigenvector)."""
    from safetensors.torch import load_file, save_file
    from osig_core.engine.inputs import instruments_for
    model, data = tiny_setup(seed=5)
    cfg = RunConfig(lr=0.2, sharpness_every=2, per_sample_every=5, chunk_size=60, outliers_k=6, seed=3)
    spec = OPTIMIZERS["gd"]
    straight = instruments_for(cfg, model, data, torch.device("cpu"))
    shared = Links()
    run_schedule(straight, model, data, cfg, range(0, 15), shared)
    weights = copy.deepcopy(model.state_dict())
    tensors, docs = {}, {}
    for inst in straight:
        state = inst.state_dict()
        tensors.update({f"{inst.name}.{k}": v for k, v in state["tensors"].items()})
        docs[inst.name] = state["json"]
    save_file(tensors, tmp_path / "state.safetensors")
    (tmp_path / "state.json").write_text(json.dumps(docs))
    expected = run_schedule(straight, model, data, cfg, range(15, 25), shared)

    model2, _ = tiny_setup(seed=5)
    model2.load_state_dict(weights)
    resumed = instruments_for(cfg, model2, data, torch.device("cpu"))
    loaded, docs = load_file(tmp_path / "state.safetensors"), json.loads((tmp_path / "state.json").read_text())
    for inst in resumed:
        prefix = inst.name + "."
        inst.load_state_dict({"tensors": {k[len(prefix):]: v for k, v in loaded.items() if k.startswith(prefix)},
                              "json": docs[inst.name]})
    got = run_schedule(resumed, model2, data, cfg, range(15, 25), Links())  # the engine's links start empty
    assert [(t, name) for t, name, _, _ in got] == [(t, name) for t, name, _, _ in expected]
    assert any(name == "per_sample" and t == 15 for t, name, _, _ in got)  # before any new estimate
    for (_, _, s1, r1), (_, _, s2, r2) in zip(expected, got):
        assert s1 == s2 and r1 == r2


def test_identical_fresh_runs_give_bit_identical_sharpness(tmp_path):
    import osig_core as osig
    cfg = RunConfig(model="mlp", width=0.05, n=80, n_test=10, eval_every=0, lr=0.05, sharpness_every=2,
                    groups=False, steps=7, checkpoint_every=0)
    a, b = osig.train(cfg, tmp_path / "a"), osig.train(cfg, tmp_path / "b")
    for key in ("sharpness", "eig_bound", "eig_hvps", "proj_top"):
        np.testing.assert_array_equal(a.metrics()[key], b.metrics()[key])
