"""The engine end to end: what a run records, the Python API, export and resume equality."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import osig_core as osig
from osig_core.store.checkpoint import load_checkpoint


def test_gd_run_records_every_sample_every_step(tiny_gd_run):
    run = osig.open_run(tiny_gd_run.dir)
    losses = np.asarray(run.losses(), dtype=np.float32)
    assert losses.shape == (12, 200)
    assert np.isfinite(losses).all()
    m = run.metrics()
    assert list(m["step"]) == list(range(12))
    for key in ("train_loss", "train_acc", "frac_up"):
        assert key in m
    # train_loss is the mean of the recorded per-sample losses (same pass, float16 rounding aside)
    np.testing.assert_allclose(m["train_loss"], losses.mean(1), rtol=2e-3)
    # frac_up is the share of samples whose loss rose since the previous step
    expect = (np.diff(losses, axis=0) > 0).mean(1)
    np.testing.assert_allclose(m["frac_up"][1:], expect, atol=1e-6)
    assert np.isnan(m["frac_up"][0])
    assert np.isfinite(m["test_acc"][[0, 4, 8]]).all() and np.isnan(m["test_acc"][1])
    assert run.status()[0] == "finished"


def test_checkpoints_are_loadable_safetensors_and_rebuild_the_model(tiny_gd_run):
    run = osig.open_run(tiny_gd_run.dir)
    steps = [s for s, _ in run.checkpoints()]
    assert steps == [5, 10, 12]
    state = load_checkpoint(run.checkpoints()[-1][1])
    assert state["step"] == 12 and state["optim"] is not None
    model = run.model()
    x, y = run.train_data()
    assert x.shape[0] == 200 and y.shape == (200,)
    with torch.no_grad():
        out = model(x)
    assert out.shape == (200, 10)
    # an older checkpoint gives different weights
    m5 = run.model(step=7)
    assert not all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), m5.state_dict().values()))


def test_export_npz_and_csv(tiny_gd_run, tmp_path, cli):
    out = tmp_path / "e.npz"
    code, _, err = cli("export", tiny_gd_run.dir, out, "--losses")
    assert code == 0, err
    d = np.load(out)
    for key in ("step", "train_loss", "train_acc", "frac_up", "labels", "losses", "loss_steps"):
        assert key in d.files
    assert d["losses"].shape == (12, 200) and d["labels"].shape == (200,)
    np.testing.assert_array_equal(d["losses"], np.asarray(osig.open_run(tiny_gd_run.dir).losses()))
    code, _, _ = cli("export", tiny_gd_run.dir, tmp_path / "e.csv")
    rows = (tmp_path / "e.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and len(rows) == 13


@pytest.mark.parametrize("optim,extra", [("gd", {}), ("sgd", {"batch_size": 32, "momentum": 0.9, "dampening": 0.5})])
def test_resume_reproduces_uninterrupted_run_exactly(tmp_path, optim, extra):
    cfg = osig.RunConfig(model="mlp", width=0.1, n=160, steps=14, lr=0.05, optim=optim, checkpoint_every=0,
                         eval_every=0, **extra)
    full = osig.train(cfg, tmp_path / "full")
    part = osig.train(cfg.replace(steps=6), tmp_path / "part")
    assert part.steps_done() == 6
    resumed = osig.resume(tmp_path / "part", steps=14)
    a, b = np.asarray(full.losses()), np.asarray(resumed.losses())
    assert a.shape == b.shape
    np.testing.assert_array_equal(a, b)
    ma, mb = full.metrics(), resumed.metrics()
    np.testing.assert_array_equal(ma["train_loss"], mb["train_loss"])
    assert resumed.config.steps == 14


def test_minibatch_tracks_a_fixed_subset(tmp_path):
    cfg = osig.RunConfig(model="mlp", width=0.1, n=200, steps=6, optim="sgd", batch_size=50, track=80, track_every=2)
    run = osig.train(cfg, tmp_path / "r")
    losses = np.asarray(run.losses(), dtype=np.float32)
    assert list(run.loss_steps()) == [0, 2, 4]
    tracked = ~np.isnan(losses[0])
    assert tracked.sum() == 80
    assert (~np.isnan(losses[1]) == tracked).all()
