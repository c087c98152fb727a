"""osig.Monitor on a user's own model, optimizer and loop: what it records is checked against
independent computations, and the loop trains exactly as it would without the monitor."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

import osig_core as osig
from curvature_reference import exact_hessian


class TinyNet(nn.Module):
    """The user's own model: defined here, unknown to osig's registry (dropout uses the RNG)."""

    def __init__(self, d_in=8, hidden=16, classes=3, dropout=0.1):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Dropout(dropout))
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.head(self.body(x))


class BNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        return self.head(self.drop(torch.relu(self.bn(self.conv(x)))).flatten(1))


def toy_data(n=120, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = ((x[:, 0] > 0).long() + (x[:, 1] > 0.5).long())
    return x, y


def state_of(model, optimizer=None):
    """Everything a monitor could disturb, cloned."""
    return {"modes": [m.training for m in model.modules()],
            "requires_grad": [p.requires_grad for p in model.parameters()],
            "params": [p.detach().clone() for p in model.parameters()],
            "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
            "buffers": [b.clone() for b in model.buffers()],
            "rng": torch.get_rng_state().clone(),
            "optim": None if optimizer is None else copy.deepcopy(optimizer.state_dict())}


def assert_same_state(a, b):
    assert a["modes"] == b["modes"] and a["requires_grad"] == b["requires_grad"]
    for key in ("params", "buffers"):
        assert all(torch.equal(u, v) for u, v in zip(a[key], b[key])), key
    assert all((u is None and v is None) or (u is not None and v is not None and torch.equal(u, v))
               for u, v in zip(a["grads"], b["grads"]))
    assert torch.equal(a["rng"], b["rng"])
    if a["optim"] is not None:
        assert_same_optim(a["optim"], b["optim"])


def assert_same_optim(sa, sb):
    assert sa["param_groups"] == sb["param_groups"]
    for k in sa["state"]:
        for key, v in sa["state"][k].items():
            w = sb["state"][k][key]
            assert torch.equal(v, w) if torch.is_tensor(v) else v == w


def adamw_loop(run_dir=None, steps=25, seed=0, watch=None):
    """The user's loop: minibatches drawn from the global RNG, AdamW with weight decay, cosine lr."""
    torch.manual_seed(seed)
    x, y = toy_data()
    model = TinyNet()
    opt = torch.optim.AdamW(model.parameters(), lr=0.02, weight_decay=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    mon = osig.Monitor(run_dir, model, opt, data=(x, y), sharpness_every=5, checkpoint_every=10,
                       steps=steps) if run_dir is not None else None
    for step in range(steps):
        idx = torch.randint(0, len(x), (32,))
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if mon is not None:
            watch(step, model, opt, x, y)
            before = state_of(model, opt)
            mon.step()
            assert_same_state(before, state_of(model, opt))
    if mon is not None:
        mon.close()
    return model, opt


@pytest.fixture(scope="module")
def adamw_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("mon") / "adamw"
    seen = {"losses": [], "lr": [], "nets": {}}

    def watch(step, model, opt, x, y):
        ref = copy.deepcopy(model).eval()  # no BatchNorm here, so eval is train mode without dropout
        with torch.no_grad():
            seen["losses"].append(nn.functional.cross_entropy(ref(x), y, reduction="none").numpy())
        seen["lr"].append(opt.param_groups[0]["lr"])
        seen["nets"][step] = ref

    model, opt = adamw_loop(run_dir, watch=watch)
    return run_dir, seen, model, opt


def test_per_sample_losses_equal_an_independent_forward(adamw_run):
    run_dir, seen, _, _ = adamw_run
    run = osig.open_run(run_dir)
    stored = np.asarray(run.losses(), dtype=np.float32)
    ref = np.stack(seen["losses"])
    assert stored.shape == ref.shape == (25, 120)
    np.testing.assert_allclose(stored, ref.astype(np.float16).astype(np.float32), rtol=0, atol=1e-6)
    m = run.metrics()
    np.testing.assert_allclose(m["train_loss"], ref.mean(1), rtol=1e-5)
    assert np.isfinite(m["frac_up"][1:]).all() and run.status()[0] == "finished"


def test_thresholds_follow_the_learning_rate_schedule(adamw_run):
    run_dir, seen, _, _ = adamw_run
    m = osig.open_run(run_dir).metrics()
    lr = np.array(seen["lr"])
    assert np.ptp(lr) > 0.01  # the cosine schedule really moved it
    np.testing.assert_allclose(m["lr"], lr, rtol=1e-12)
    with np.errstate(divide="ignore"):  # the cosine ends at lr 0: no threshold (stored as missing)
        expected = np.where(lr > 0, 38.0 / lr, np.nan)  # AdamW, beta1 = 0.9: (2 + 2 b1) / ((1 - b1) lr)
    np.testing.assert_allclose(m["threshold"], expected, rtol=1e-9)
    steps = m["step"][np.isfinite(m["precond_sharpness"])]
    assert list(steps[:5]) == [0, 5, 10, 15, 20]


def test_full_sharpness_estimates_of_the_adamw_run_equal_the_exact_hessian(adamw_run):
    """The estimates run to the tolerance (the first, then every 20th interval) on the AdamW run itself."""
    run_dir, seen, _, _ = adamw_run
    x, y = toy_data()
    full = [(s, rec) for s, rec in osig.open_run(run_dir).records("eig") if rec.get("mode", "full") == "full"]
    assert full and full[0][0] == 0
    for step, rec in full:
        ref = float(torch.linalg.eigvalsh(exact_hessian(seen["nets"][step], x, y, "ce", 1000))[-1])
        assert abs(rec["eigenvalues"][0] - ref) <= 1e-4 * max(1.0, abs(ref)), (step, rec["eigenvalues"][0], ref)


def test_the_loop_trains_exactly_as_without_the_monitor(adamw_run):
    _, _, model, opt = adamw_run
    plain_model, plain_opt = adamw_loop(None)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), plain_model.parameters()))
    assert_same_optim(opt.state_dict(), plain_opt.state_dict())


def test_checkpoints_hold_the_users_model_and_optimizer(adamw_run):
    run_dir, seen, model, opt = adamw_run
    run = osig.open_run(run_dir)
    assert [s for s, _ in run.checkpoints()] == [10, 20, 25]
    net = run.model(25, model=TinyNet)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), model.parameters()))
    with pytest.raises(osig.RunStoreError, match="your own network"):
        run.model(25)
    fresh, fresh_opt = TinyNet(), torch.optim.AdamW(TinyNet().parameters(), lr=0.02, weight_decay=0.1)
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=0.02, weight_decay=0.1)
    assert osig.Monitor.restore(run_dir, fresh, fresh_opt, step=24) == 20
    assert torch.equal(fresh.head.weight, run.model(20, model=TinyNet()).head.weight)
    assert fresh_opt.state_dict()["state"][0]["step"] == 20  # Adam's step count came back


def test_sharpness_equals_the_exact_hessian_top_eigenvalue():
    """SGD with momentum and dampening on a tiny model: each estimate against torch.func.hessian at
    the weights the monitor saw; the threshold is the heavy-ball bound at the scheduled lr."""
    torch.manual_seed(1)
    x, y = toy_data(n=40, d=4, seed=1)
    model = TinyNet(d_in=4, hidden=5, classes=3, dropout=0.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.5, dampening=0.2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    snaps, lrs = {}, []
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        with osig.Monitor(d + "/run", model, opt, data=(x, y), sharpness_every=2, groups=False,
                          sharpness_cheap_tol=0) as mon:  # every estimate to the tolerance, none cheap
            for step in range(7):
                opt.zero_grad()
                nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
                sched.step()
                snaps[step] = copy.deepcopy(model)
                lrs.append(opt.param_groups[0]["lr"])
                mon.step()
        m = osig.open_run(d + "/run").metrics()
    np.testing.assert_allclose(m["threshold"], (2 + 2 * 0.5) / ((1 - 0.2) * np.array(lrs)), rtol=1e-12)
    checked = 0
    for step, lam in zip(m["step"], m["sharpness"]):
        if not math.isfinite(lam):
            continue
        ref = float(torch.linalg.eigvalsh(exact_hessian(snaps[int(step)], x, y, "ce", 1000))[-1])
        assert abs(lam - ref) <= 1e-4 * max(1.0, abs(ref)), (step, lam, ref)
        checked += 1
    assert checked == 4  # steps 0, 2, 4, 6


def test_batchnorm_dropout_model_is_left_as_the_loop_left_it(tmp_path):
    """Train mode and eval mode, BN running statistics, .grad, RNG: identical after every step()."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 1, 6, 6, generator=g), torch.randint(0, 3, (64,), generator=g)
    torch.manual_seed(0)
    model = BNNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.head.weight.requires_grad_(True)
    with osig.Monitor(tmp_path / "bn", model, opt, data=(x, y), sharpness_every=2, track=32) as mon:
        for step in range(5):
            model.train()
            idx = torch.randint(0, 64, (16,))
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            if step % 2:
                model.eval()  # a loop may hand over the model in eval mode (after validation)
            before = state_of(model, opt)
            mon.step()
            assert_same_state(before, state_of(model, opt))
    run = osig.open_run(tmp_path / "bn")
    assert np.isfinite(run.metrics()["sharpness"][[0, 2, 4]]).all()
    assert np.isnan(np.asarray(run.losses(), dtype=np.float32)).sum(1).tolist() == [32] * 5  # 32 of 64 tracked


def test_an_unknown_optimizer_gets_sharpness_without_a_threshold_and_says_why(tmp_path):
    x, y = toy_data(n=30)
    model = TinyNet(dropout=0.0)
    opt = torch.optim.RMSprop(model.parameters(), lr=0.01)
    with osig.Monitor(tmp_path / "rms", model, opt, data=(x, y), sharpness_every=1) as mon:
        for _ in range(2):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            mon.step()
    run = osig.open_run(tmp_path / "rms")
    m = run.metrics()
    assert np.isfinite(m["sharpness"]).all() and np.isnan(m["threshold"]).all()
    assert "RMSprop" in run.meta()["threshold_note"]
    assert any("no stability threshold" in e["message"] for e in run.events())


def test_full_batch_losses_handed_over_need_no_second_forward(tmp_path):
    """step(losses=, ids=) records exactly the losses the loop computed, in sample-id order."""
    x, y = toy_data(n=50)
    model = TinyNet(dropout=0.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rows = []
    calls = {"n": 0}
    model.register_forward_hook(lambda *a: calls.__setitem__("n", calls["n"] + 1))
    with osig.Monitor(tmp_path / "fb", model, opt, data=(x, y), sharpness_every=0) as mon:
        calls["n"] = 0
        for _ in range(3):
            perm = torch.randperm(50)
            per = nn.functional.cross_entropy(model(x[perm]), y[perm], reduction="none")
            opt.zero_grad()
            per.mean().backward()
            opt.step()
            rows.append(torch.empty(50).index_put_((perm,), per.detach()).numpy())
            mon.step(losses=per, ids=perm)
    assert calls["n"] == 3  # only the loop's own forwards
    stored = np.asarray(osig.open_run(tmp_path / "fb").losses(), dtype=np.float32)
    np.testing.assert_allclose(stored, np.stack(rows).astype(np.float16).astype(np.float32), atol=1e-6)
