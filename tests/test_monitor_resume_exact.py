"""A Monitor run stopped (from `osig watch`, or by closing it) and resumed equals an uninterrupted one
in every table (issue 23, item 4), as the engine's does (tests/test_resume_exact.py): its checkpoints
hold every component's state (sharpness warm starts and generator, per-sample schedule, the group
detector, the loss-spike reference), the user's loop restores model and optimizer."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import osig_core as osig
from osig_core.store.reader import RunReader
from test_resume_exact import assert_same_tables, tables

STEPS = 42  # per-sample curvature at 0, 20 and 40; the first opposing pair near step 27


def data():
    from osig_core.components.registry import DATASETS
    d = DATASETS["synthetic"](osig.RunConfig(n=120, n_test=10), None)  # planted opposing signals: pairs
    return d.x.reshape(d.n, -1), d.y, d.classes


def user_objects(optim: str, x):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(x.shape[1], 24), nn.Tanh(), nn.Linear(24, 10))
    opt = (torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.5) if optim == "sgd"
           else torch.optim.AdamW(model.parameters(), lr=0.01))
    return model, opt


def monitor(run_dir, model, opt, x, y, classes, **kw):
    # sharpness every step (warm-started estimates), per-sample curvature on its 20-step schedule,
    # the monitor's own tracked-loss pass every step (the group detector)
    return osig.Monitor(run_dir, model, opt, data=(x, y), classes=classes, sharpness_every=1, sharpness_subset=60,
                        checkpoint_every=10, steps=STEPS, seed=3, **kw)


def train(mon, model, opt, x, y, upto):
    while mon.step_index < upto:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        mon.step()


@pytest.mark.parametrize("how, optim", [("watch", "sgd"), ("close", "adamw")])
def test_a_stopped_and_resumed_monitor_run_equals_an_uninterrupted_one(tmp_path, optim, how):
    x, y, classes = data()
    model, opt = user_objects(optim, x)
    with monitor(tmp_path / "ref", model, opt, x, y, classes) as mon:
        train(mon, model, opt, x, y, STEPS)

    stop = 29  # between checkpoints, after the first pair formed, before the per-sample measurement at 40
    model, opt = user_objects(optim, x)
    with monitor(tmp_path / "got", model, opt, x, y, classes) as mon:
        train(mon, model, opt, x, y, stop - 1)
        if how == "watch":
            RunReader(tmp_path / "got").send_control("stop")
            with pytest.raises(osig.StopTraining):
                train(mon, model, opt, x, y, stop)
        else:
            train(mon, model, opt, x, y, stop)
    assert osig.open_run(tmp_path / "got").steps_done() == stop

    model, opt = user_objects(optim, x)  # a new process: fresh objects, the checkpoint restores them
    model[0].weight.data.add_(1.0)  # (so nothing carries over by accident)
    start = osig.Monitor.restore(tmp_path / "got", model, opt)
    assert start == stop
    with monitor(tmp_path / "got", model, opt, x, y, classes, resume=True) as mon:
        assert mon.step_index == stop
        train(mon, model, opt, x, y, STEPS)

    ref = tables(tmp_path / "ref")
    kinds = {k for _, k, _ in ref["records"]}
    assert {"eig", "per_sample", "extremes"} <= kinds, kinds
    assert_same_tables(tmp_path / "ref", tmp_path / "got")
    if optim == "sgd":
        assert ref["pairs"] and ref["pairs"][0][1] < stop, "the detector's state must matter at the stop"


def test_a_resume_without_a_checkpoint_at_that_step_still_continues(tmp_path):
    """From an older checkpoint (a loop restarted from step 10 of 13 recorded), the run continues from
    the stored rows as before: the steps are complete, nothing is asked of the checkpoint's components."""
    x, y, classes = data()
    model, opt = user_objects("sgd", x)
    with monitor(tmp_path / "r", model, opt, x, y, classes) as mon:
        train(mon, model, opt, x, y, 13)
    model, opt = user_objects("sgd", x)
    start = osig.Monitor.restore(tmp_path / "r", model, opt, step=12)
    assert start == 10
    with monitor(tmp_path / "r", model, opt, x, y, classes, resume=start) as mon:
        train(mon, model, opt, x, y, STEPS)
    assert osig.open_run(tmp_path / "r").metrics()["step"].tolist() == list(range(STEPS))
