"""Optimizer registry: updates against hand-computed numbers, thresholds, and state round trips."""
from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from osig_core.config.run_config import RunConfig
from osig_core.components.registry import OPTIMIZERS
from osig_core.engine.inputs import optimizer_view


def make(name: str, params, **cfg):
    return OPTIMIZERS[name].build(params, RunConfig(optim=name, **cfg))


def step_with(opt, params, grads):
    """One optimizer step with the given gradients written into .grad (as the engine does)."""
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g, dtype=torch.float32)
    opt.step()


def values(params) -> list[float]:
    return [v for p in params for v in p.detach().tolist()]


def test_registry_has_every_optimizer_with_a_summary():
    assert set(OPTIMIZERS) >= {"gd", "sgd", "adam", "signsgd", "splitsgd"}
    for name, spec in OPTIMIZERS.items():
        assert spec.name == name and spec.summary and "\n" not in spec.summary


def test_splitsgd_three_steps_by_hand():
    # eta1 = 0.1, eta2 = 0.01, beta = tau = 0.5, q = 0.5; two tensors so r must be a JOINT quantile.
    a = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    b = torch.nn.Parameter(torch.tensor([-1.0, 0.5]))
    opt = make("splitsgd", [a, b], lr=0.1, lr2=0.01, momentum=0.5, dampening=0.5, split_quantile=0.5)
    # step 1: g = [0.1, -0.4 | 0.2, 0.8]; |g| sorted 0.1 0.2 0.4 0.8 -> r = 0.3 (halfway 0.2..0.4)
    # m = 0.5 g, debias /(1 - 0.5) -> m_hat = g; mask [T F | T F]
    # theta = [1 - 0.1*0.1, 2 + 0.01 | -1 - 0.1*0.2, 0.5 - 0.01]
    step_with(opt, [a, b], [[0.1, -0.4], [0.2, 0.8]])
    assert values([a, b]) == pytest.approx([0.99, 2.01, -1.02, 0.49], abs=1e-6)
    assert opt.stats() == {"signed_fraction": 0.5}
    # step 2: g = [0.6, -0.2 | 0.0, 0.4]; m = [0.325, -0.2 | 0.05, 0.4]; m_hat = m / 0.75
    #   = [0.4333, -0.2667 | 0.0667, 0.5333]; mask [F T | T F]
    # (a per-tensor quantile would give r = 0.25 for `a` and sign-step -0.2667 instead)
    step_with(opt, [a, b], [[0.6, -0.2], [0.0, 0.4]])
    assert values([a, b]) == pytest.approx([0.98, 2.01 + 0.02 / 0.75, -1.02 - 0.005 / 0.75, 0.48], abs=1e-6)
    assert opt.stats() == {"signed_fraction": 0.5}
    # step 3: g = [-0.2, -0.6 | -1.0, 0.4]; m = [0.0625, -0.4 | -0.475, 0.4]; m_hat = m / 0.875
    #   = [0.0714, -0.4571 | -0.5429, 0.4571]; mask [T F | F F]
    step_with(opt, [a, b], [[-0.2, -0.6], [-1.0, 0.4]])
    expected = [0.98 - 0.00625 / 0.875, 2.01 + 0.02 / 0.75 + 0.01, -1.02 - 0.005 / 0.75 + 0.01, 0.47]
    assert values([a, b]) == pytest.approx(expected, abs=1e-6)
    assert opt.stats() == {"signed_fraction": 0.75}


def test_splitsgd_threshold_is_torch_quantile_of_first_gradient_and_stays_fixed():
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.zeros(7)), torch.nn.Parameter(torch.zeros(3, 4))]
    opt = make("splitsgd", params, split_quantile=0.1)
    first = [torch.randn(7), torch.randn(3, 4)]
    for p, g in zip(params, first):
        p.grad = g.clone()
    opt.step()
    r = torch.quantile(torch.cat([g.abs().flatten() for g in first]), 0.1)
    for p in params:
        assert opt.state[p]["threshold"].item() == pytest.approx(r.item(), rel=1e-6)
    for p in params:
        p.grad = 100 * torch.randn_like(p)
    opt.step()
    assert opt.state[params[0]]["threshold"].item() == pytest.approx(r.item(), rel=1e-6)


def test_heavy_ball_with_dampening_by_hand():
    # eta = 0.1, beta = 0.9, tau = 0.5: m1 = 0.5 g1 (torch.optim.SGD would use m1 = g1)
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = make("sgd", [p], lr=0.1, momentum=0.9, dampening=0.5)
    step_with(opt, [p], [[2.0, -4.0]])
    assert values([p]) == pytest.approx([1.0 - 0.1 * 0.5 * 2.0, -2.0 + 0.1 * 0.5 * 4.0])  # [0.9, -1.8]
    # m2 = 0.9 * [1, -2] + 0.5 * [1, 1] = [1.4, -1.3]
    step_with(opt, [p], [[1.0, 1.0]])
    assert values([p]) == pytest.approx([0.9 - 0.14, -1.8 + 0.13])


def test_plain_gd_is_theta_minus_lr_grad():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.0]))
    opt = make("gd", [p], lr=0.05)
    step_with(opt, [p], [[2.0, -4.0, 0.5]])
    assert values([p]) == pytest.approx([0.9, -1.8, -0.025])
    assert opt.state_dict()["state"] == {}  # no momentum, no state


def test_signsgd_by_hand():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    opt = make("signsgd", [p], lr=0.1)
    step_with(opt, [p], [[3.0, -0.001, 0.0]])
    assert values([p]) == pytest.approx([0.9, -1.9, 0.5])
    # with momentum 0.5: m1 = [1, -1, 0], m2 = [0.5 - 2, -0.5 + 0.1, 0 + 1] -> signs [-1, -1, +1]
    q = torch.nn.Parameter(torch.zeros(3))
    opt = make("signsgd", [q], lr=0.1, momentum=0.5)
    step_with(opt, [q], [[1.0, -1.0, 0.0]])
    step_with(opt, [q], [[-2.0, 0.1, 1.0]])
    assert values([q]) == pytest.approx([-0.1 + 0.1, 0.1 + 0.1, -0.1])


def test_adam_first_step_and_torch_reference():
    # Adam's first step is lr * g / (|g| + eps) after debiasing
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = make("adam", [p], lr=0.01)
    step_with(opt, [p], [[3.0, -0.5]])
    assert values([p]) == pytest.approx([0.99, -1.99], abs=1e-6)
    torch.manual_seed(0)
    ours = torch.nn.Parameter(torch.randn(5))
    ref = torch.nn.Parameter(ours.detach().clone())
    opt = make("adam", [ours], lr=0.003, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.01)
    ref_opt = torch.optim.Adam([ref], lr=0.003, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)
    for _ in range(5):
        g = torch.randn(5)
        ours.grad, ref.grad = g.clone(), g.clone()
        opt.step()
        ref_opt.step()
    assert torch.equal(ours, ref)
    assert OPTIMIZERS["adam"].preconditioned and not OPTIMIZERS["gd"].preconditioned


def _threshold(name: str, **cfg) -> float | None:
    """What `osig run` compares sharpness with: the rule read off the built optimizer's param_groups."""
    view = optimizer_view(RunConfig(optim=name, **cfg), make(name, [torch.nn.Parameter(torch.zeros(2))], **cfg),
                          OPTIMIZERS[name])
    value = view.threshold()
    return None if math.isnan(value) else value


def test_threshold_formulas():
    th = _threshold
    assert th("gd", lr=0.05) == pytest.approx(40.0)
    assert th("sgd", lr=0.1, momentum=0.9) == pytest.approx(38.0)
    assert th("sgd", lr=0.1, momentum=0.9, dampening=0.9) == pytest.approx(380.0)
    assert th("adam", lr=0.001, beta1=0.9) == pytest.approx(38_000.0)
    assert th("signsgd", lr=0.1) is None and th("splitsgd", lr=0.1) is None


@pytest.mark.parametrize("beta,tau", [(0.0, 0.0), (0.9, 0.0), (0.9, 0.9), (0.5, 0.3)])
def test_heavy_ball_threshold_is_the_stability_edge_on_a_quadratic(beta, tau):
    """Independent check: GD+momentum on L = lam/2 theta^2 converges just below the threshold, diverges above."""
    lr = 0.1
    edge = _threshold("sgd", lr=lr, momentum=beta, dampening=tau)
    for factor, stable in ((0.97, True), (1.03, False)):
        lam = factor * edge
        p = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
        opt = make("sgd", [p], lr=lr, momentum=beta, dampening=tau)
        for _ in range(3000):
            p.grad = lam * p.detach().clone()
            opt.step()
        assert (abs(p.item()) < 1e-3) == stable


CASES = [
    ("gd", dict(momentum=0.9, dampening=0.5)),
    ("sgd", dict()),
    ("adam", dict(lr=0.01)),
    ("signsgd", dict(lr=0.01, momentum=0.9, dampening=0.9)),
    ("splitsgd", dict(momentum=0.9, dampening=0.9, lr2=0.01)),
]


def _train(model, opt, steps: int, start: int) -> None:
    for t in range(start, start + steps):
        g = torch.Generator().manual_seed(t)
        x, y = torch.randn(8, 3, generator=g), torch.randn(8, 2, generator=g)
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()


@pytest.mark.parametrize("name,cfg", CASES, ids=[c[0] for c in CASES])
def test_state_round_trip_through_safetensors_continues_identically(name, cfg):
    def fresh():
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 2)
        return model, make(name, model.parameters(), **cfg)

    model, opt = fresh()
    _train(model, opt, 6, start=0)
    uninterrupted = [p.detach().clone() for p in model.parameters()]

    model, opt = fresh()
    _train(model, opt, 3, start=0)
    state = opt.state_dict()["state"]
    flat = {f"{i}.{k}": v for i, s in state.items() for k, v in s.items()}
    assert all(isinstance(v, torch.Tensor) for v in flat.values())
    assert bool(flat) == (name != "sgd")  # plain SGD keeps no state
    blob_state, blob_model = st_save(flat), st_save(dict(model.state_dict()))

    model2, opt2 = fresh()  # a new process: weights and optimizer rebuilt from cfg, state loaded
    model2.load_state_dict(st_load(blob_model))
    restored: dict[int, dict[str, torch.Tensor]] = {}
    for key, v in st_load(blob_state).items():
        i, k = key.split(".", 1)
        restored.setdefault(int(i), {})[k] = v
    sd = opt2.state_dict()
    sd["state"] = restored
    opt2.load_state_dict(sd)
    _train(model2, opt2, 3, start=3)
    assert all(torch.equal(a, b) for a, b in zip(uninterrupted, model2.parameters()))


def test_the_run_threshold_follows_an_lr_changed_in_param_groups():
    """One rule for both drivers: `osig run`'s threshold is read from param_groups at each step, as
    osig.Monitor's is, so an lr changed mid-run (a schedule, a plugin) moves 2/eta with it."""
    cfg = RunConfig(optim="gd", lr=0.1)
    opt = make("gd", [torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    view = optimizer_view(cfg, opt, OPTIMIZERS["gd"])
    assert view.threshold() == pytest.approx(20.0)
    opt.param_groups[0]["lr"] = 0.05
    assert view.threshold() == pytest.approx(40.0)
