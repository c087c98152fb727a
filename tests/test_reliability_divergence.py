"""A NaN/inf loss stops the run as `diverged`: the steps before and the last good checkpoint stay,
and the CLI (exit 1, one sentence), the store's meta and `status()` all say at which step and why."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import osig_core as osig
from osig_core.store.checkpoint import load_checkpoint

TINY = ["--model", "mlp", "--width", "0.05", "--n", "100", "--n-test", "50", "--eval-every", "0"]


def _sentence(err: str) -> str:
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "Warning" not in err, err
    assert lines[0].startswith("osig: error: ")
    return lines[0]


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a numpy warning would be a second line
def test_huge_lr_diverges_with_one_sentence_and_keeps_good_data(cli, tmp_path):
    d = tmp_path / "div"
    code, _, err = cli("run", *TINY, "--lr", "1e6", "--steps", "30", "--checkpoint-every", "1",
                       "--run-dir", d, "--quiet")
    assert code == 1
    line = _sentence(err)
    run = osig.open_run(d)
    status, reason = run.status()
    assert status == "diverged"
    t = run.steps_done()  # the step whose loss was not finite
    assert 0 < t < 30
    assert f"at step {t}" in reason and ("nan" in reason or "inf" in reason) and "--lr" in reason
    assert reason in line
    assert run.meta()["error"] == reason
    # every step before is there, complete; the diverged step itself is not recorded
    m = run.metrics()
    assert list(m["step"]) == list(range(t))
    assert run.losses().shape == (t, 100)
    assert np.isfinite(m["train_loss"]).all()
    # the last good checkpoint is kept, and nothing at or after the diverged step (its weights give NaN)
    ckpts = [s for s, _ in run.checkpoints()]
    assert ckpts and max(ckpts) < t and max(ckpts) == t - 1
    state = load_checkpoint(run.checkpoints()[-1][1])
    assert all(np.isfinite(v.numpy()).all() for v in state["model"].values())
    kinds = [e["kind"] for e in run.events()]
    assert kinds.count("diverged") == 1 and kinds[-1] == "diverged"
    assert [e["message"] for e in run.events() if e["kind"] == "diverged"] == [reason]
    # `osig show` says it too, literally
    code, out, _ = cli("show", d)
    assert code == 0 and "diverged" in out and f"at step {t}" in " ".join(out.split())


def test_divergence_of_a_minibatch_run_via_the_api(tmp_path):
    cfg = osig.RunConfig(model="mlp", width=0.05, n=100, n_test=50, eval_every=0, optim="sgd", batch_size=25,
                         lr=1e5, steps=40, checkpoint_every=0, groups=False)
    run = osig.train(cfg, tmp_path / "sgd")
    status, reason = run.status()
    assert status == "diverged"
    t = run.steps_done()
    assert f"at step {t}" in reason
    m = run.metrics()
    assert len(m["step"]) == t and all(math.isfinite(v) for v in m["train_loss"])


@pytest.mark.parametrize("steps,checkpoint_every", [(6, 0), (6, 3)])
def test_weights_turning_non_finite_without_a_nan_loss_end_diverged(tmp_path, monkeypatch, steps, checkpoint_every):
    """An update that leaves NaN weights after the last recorded loss (the final step, or just before a
    periodic checkpoint) must not end 'finished' with a checkpoint that cannot be resumed."""
    from osig_core.optim.heavy_ball import HeavyBall
    poison_at = steps - 1 if checkpoint_every == 0 else checkpoint_every - 1
    original, calls = HeavyBall.step, []

    def step(self, closure=None):
        out = original(self, closure)
        calls.append(1)
        if len(calls) - 1 == poison_at:
            with torch.no_grad():
                self.param_groups[0]["params"][0].view(-1)[0] = float("nan")
        return out

    monkeypatch.setattr(HeavyBall, "step", step)
    cfg = osig.RunConfig(model="mlp", width=0.05, n=100, n_test=50, eval_every=0, lr=0.05, steps=steps,
                         checkpoint_every=checkpoint_every, groups=False)
    run = osig.train(cfg, tmp_path / "r")
    status, reason = run.status()
    assert status == "diverged"
    assert "non-finite" in reason and f"after step {poison_at}" in reason and "--lr" in reason
    assert np.isfinite(run.metrics()["train_loss"]).all()
    for _, path in run.checkpoints():  # only the initial one; never a NaN one
        state = load_checkpoint(path)
        assert all(np.isfinite(v.numpy()).all() for v in state["model"].values())
