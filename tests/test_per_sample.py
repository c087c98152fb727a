"""PerSampleInstrument: per-sample and per-group curvature against exact per-sample Hessians."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from curvature_reference import exact_hessian, tiny_dataset
from osig_core.config.run_config import RunConfig
from instrument_inputs import per_sample_for
from osig_core.instruments.inputs import Links, OptimizerView, SharpnessLink, StepInputs
from osig_core.instruments.per_sample import RANDOM_GROUP
from osig_core.problem.losses import per_sample_loss


def setup(bn=False, n=40, seed=0):
    torch.manual_seed(seed)
    layers = [nn.Linear(4, 12)] + ([nn.BatchNorm1d(12)] if bn else []) + [nn.Tanh(), nn.Linear(12, 10), nn.Tanh(), nn.Linear(10, 3)]
    model = nn.Sequential(*layers)
    x, y = torch.randn(n, 4), torch.randint(0, 3, (n,))
    return model, tiny_dataset(x, y)


def ctx_for(cfg, model, data, links: Links) -> StepInputs:
    return StepInputs(step=0, optim=OptimizerView(torch.optim.SGD(model.parameters(), lr=0.1)), links=links)


def top(v: torch.Tensor) -> SharpnessLink:
    """A sharpness link whose top eigenvector is v (the HVP method left to the instrument)."""
    return SharpnessLink(vectors=v.reshape(1, -1), eigenvalue=float("nan"), step=0, hvp_method="")


def rel(a, b) -> float:
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float((a - b).norm() / b.norm())


@pytest.fixture(scope="module")
def measured():
    model, data = setup()
    H = exact_hessian(model, data.x, data.y, "ce", 1000)
    v = torch.linalg.eigh(H)[1][:, -1].float()
    groups = {"sky+": [1, 5, 7, 9], "sky-": [2, 3]}
    shared = Links(sharpness=top(v), tracked_groups=groups)
    cfg = RunConfig(sharpness_every=10, chunk_size=1000, seed=1)
    m = per_sample_for(cfg, model, data).measure(ctx_for(cfg, model, data, shared))
    return model, data, v.double(), groups, m


def test_per_sample_values_match_exact_per_sample_hessians(measured):
    model, data, v, groups, m = measured
    rec = m.records["per_sample"]
    ids = rec["ids"]
    assert set(groups["sky+"]) | set(groups["sky-"]) <= set(ids)
    vhv, gnorm, vgrad = [], [], []
    for i in ids:
        Hi = exact_hessian(model, data.x[i:i + 1], data.y[i:i + 1], "ce", 1)
        vhv.append(float(v @ Hi @ v))
        g = torch.cat([t.reshape(-1) for t in torch.autograd.grad(
            per_sample_loss(model(data.x[i:i + 1]), data.y[i:i + 1], "ce").sum(), list(model.parameters()))]).double()
        gnorm.append(float(g.norm()))
        vgrad.append(float(g @ v))
    assert rel(rec["vHv"], vhv) < 1e-4
    assert rel(rec["grad_norm"], gnorm) < 1e-4
    assert rel(rec["v_grad"], vgrad) < 1e-4
    assert all(p.grad is None for p in model.parameters())


def test_group_curvature_matches_exact_group_hessian(measured):
    model, data, v, groups, m = measured
    stats = m.records["group_curvature"]
    assert set(stats) == {"sky+", "sky-", RANDOM_GROUP}
    assert stats[RANDOM_GROUP]["size"] == 4  # the size of the largest group
    for name, members in groups.items():
        ids = torch.as_tensor(members)
        Hg = exact_hessian(model, data.x[ids], data.y[ids], "ce", 1000)
        loss = per_sample_loss(model(data.x[ids]), data.y[ids], "ce").mean()
        g = torch.cat([t.reshape(-1) for t in torch.autograd.grad(loss, list(model.parameters()))])
        s = stats[name]
        assert s["size"] == len(members)
        assert s["loss"] == pytest.approx(loss.item(), rel=1e-5)
        assert s["grad_norm"] == pytest.approx(float(g.norm()), rel=1e-4)
        assert s["vHv"] == pytest.approx(float(v @ Hg @ v), rel=1e-4, abs=1e-6)
        assert s["top_eig"] == pytest.approx(float(torch.linalg.eigvalsh(Hg)[-1]), rel=1e-3)


def test_batchnorm_uses_fixed_training_set_statistics():
    model, data = setup(bn=True)
    with torch.no_grad():
        model.train()
        model(data.x)  # move the running statistics away from their initial values
    before = {k: t.clone() for k, t in model.state_dict().items()}
    v = torch.randn(sum(p.numel() for p in model.parameters()))
    v = v / v.norm()
    shared = Links(sharpness=top(v), tracked_groups={"g": [0, 4, 8]})
    cfg = RunConfig(sharpness_every=10, chunk_size=1000)
    m = per_sample_for(cfg, model, data).measure(ctx_for(cfg, model, data, shared))
    for k, t in model.state_dict().items():
        assert torch.equal(t, before[k]), k
    rec = m.records["per_sample"]
    with torch.no_grad():  # train-mode losses of the whole set (one chunk) = the fixed-statistics losses
        model.train()
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm1d):
                mod.track_running_stats = False
        full = per_sample_loss(model(data.x), data.y, "ce")
    assert rec["loss"] == pytest.approx(full[rec["ids"]].tolist(), rel=1e-5)
    rows = [rec["ids"].index(i) for i in (0, 4, 8)]
    g = m.records["group_curvature"]["g"]
    assert g["vHv"] == pytest.approx(sum(rec["vHv"][r] for r in rows) / 3, rel=1e-6)


def test_schedule_and_missing_inputs():
    model, data = setup()
    cfg = RunConfig(sharpness_every=10, per_sample_every=0, outliers_k=5)
    inst = per_sample_for(cfg, model, data)
    # its own slower schedule: every 20th sharpness interval, and a loss spike (none measured yet)
    assert inst.due(0, False) and inst.due(200, False) and not inst.due(100, False) and not inst.due(3, False)
    assert inst.due(3, True)
    assert per_sample_for(RunConfig(per_sample_every=4), model, data).due(8, False)
    assert not per_sample_for(RunConfig(sharpness_every=0), model, data).due(0, False)
    empty = inst.measure(ctx_for(cfg, model, data, Links()))
    assert empty.scalars == {} and empty.records == {}
    v = torch.randn(sum(p.numel() for p in model.parameters()))
    m = inst.measure(ctx_for(cfg, model, data, Links(sharpness=top(v / v.norm()))))
    assert list(m.records["group_curvature"]) == [RANDOM_GROUP]
    assert m.records["group_curvature"][RANDOM_GROUP]["size"] == 5 == len(m.records["per_sample"]["ids"])
    assert not inst.due(99, True) and inst.due(100, True)  # spikes at most every half interval after a measurement
