"""The monitor's store poller: reads only what is new, and gives each step's pairs / outliers / values
exactly as stored (checked against the reader and the raw matrices)."""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from fixtures.synthetic_run import start_run, write_run
from osig_core.store.reader import RunReader
from osig_tui.store_poller import FOLLOW_VIEW_S, StorePoller
from osig_tui.store_views import History, hist_text


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("tui") / "fx", n=240, steps=40)


def test_first_poll_reads_everything_then_nothing_changes(run_dir):
    p = StorePoller(run_dir)
    r = p.poll()
    h = r.progress.history
    assert r.progress.status == "finished" and r.progress.last_step == 39 and r.progress.total_steps == 40
    assert list(h.steps) == list(range(40))
    ref = RunReader(run_dir).metrics()
    np.testing.assert_array_equal(h.values["train_loss"], ref["train_loss"])
    assert r.progress.rate == pytest.approx(50.0)  # replay: 1 / recorded step_time, the same every time
    assert r.view.following and r.view.step == 39
    assert p.poll() is None  # nothing new: no message, no redraw


def test_view_at_a_step_matches_the_store(run_dir):
    p = StorePoller(run_dir)
    p.poll()
    p.request_step(12)
    v = p.poll().view
    assert v.step == 12 and not v.following
    reader = RunReader(run_dir)
    stored = reader.pairs_at(12)
    assert [row.id for row in v.pairs] == [q["id"] for q in stored]
    ext = reader.record_at("extremes", 12)[1]
    assert [o.id for o in v.up] == [e["id"] for e in ext["up"]][:len(v.up)]
    assert [o.delta for o in v.down] == [e["delta"] for e in ext["down"]][:len(v.down)]
    assert v.layers_step == 10 and v.layers[0][1] >= v.layers[-1][1]
    # each sparkline is the side's mean loss over the recorded rows up to the step
    losses = np.asarray(reader.losses(), np.float32)
    a_ids = stored[0]["sides"][0]["members"]
    expect = losses[12 - len(v.pairs[0].spark[0]) + 1:13][:, a_ids].mean(1)
    np.testing.assert_allclose(v.pairs[0].spark[0], expect, rtol=1e-6)
    assert set(v.pictures) == {o.id for o in v.up + v.down}
    p.request_step(-5)  # clamped to the first step
    assert p.poll().view.step == 0


def test_outliers_are_computed_from_losses_when_the_run_stored_none(tmp_path):
    d = write_run(tmp_path / "nogroups", n=100, steps=6, groups=False, sharpness=False)
    p = StorePoller(d)
    v = p.poll().view
    losses = np.asarray(RunReader(d).losses(), np.float32)
    delta = losses[5] - losses[4]
    assert v.up[0].id == int(np.argmax(delta)) and v.down[0].id == int(np.argmin(delta))
    assert v.up[0].delta == pytest.approx(float(delta.max()))
    assert v.pairs == ()


def test_group_detail_has_predictions_before_and_after_the_step(run_dir):
    p = StorePoller(run_dir)
    p.poll()
    g = p.group(0, 20)
    assert g.found and g.step == 20 and g.prev_step == 19 and g.first_step == 3 and g.last_step == 20
    reader = RunReader(run_dir)
    preds = np.asarray(reader.preds())
    side = g.sides[0]
    np.testing.assert_array_equal(side.pred_before, preds[19][side.members])
    np.testing.assert_array_equal(side.pred_after, preds[20][side.members])
    np.testing.assert_array_equal(side.labels, reader.labels()[side.members])
    assert np.all(np.diff(np.abs(side.deltas)) <= 1e-6)  # most moved first
    assert side.images.shape[1:] == (32, 32, 3)
    np.testing.assert_array_equal(side.images[0], reader.images()[side.members[0]])
    steps, loss = side.curve
    assert steps[0] == 3 and len(steps) == 37
    assert hist_text(side.classes)  # e.g. "ship 4, horse 3, ..."
    assert not p.group(99, 20).found


def test_new_steps_are_read_incrementally_while_written(tmp_path):
    w = start_run(tmp_path / "live", steps=30, n=80)
    w.write(5)
    p = StorePoller(tmp_path / "live")
    first = p.poll()
    seen = time.monotonic()
    assert first.progress.status == "running" and first.progress.last_step == 4
    w.write(12)
    second = p.poll()
    soon = time.monotonic() - seen < FOLLOW_VIEW_S
    assert second.progress.last_step == 11 and list(second.progress.history.steps) == list(range(12))
    # following a live run, the latest step's pairs / outliers are re-read at most every FOLLOW_VIEW_S
    assert second.view is None or not soon
    time.sleep(FOLLOW_VIEW_S)
    assert p.poll().view.step == 11
    w.finish()
    assert p.poll().progress.status == "finished"


def test_a_run_whose_engine_died_reads_as_failed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    d = write_run(tmp_path / "dead", n=50, steps=4, status="running", pid=dead.pid)
    progress = StorePoller(d).poll().progress
    assert progress.status == "failed" and "died" in progress.reason and not progress.live


def test_history_keeps_keys_aligned_across_chunks():
    h = History.empty().extended({"step": np.array([0, 1]), "time": np.zeros(2), "a": np.array([1.0, 2.0])})
    h = h.extended({"step": np.array([2]), "time": np.zeros(1), "b": np.array([5.0])})
    assert list(h.steps) == [0, 1, 2]
    np.testing.assert_array_equal(h.values["a"], [1.0, 2.0, np.nan])
    np.testing.assert_array_equal(h.values["b"], [np.nan, np.nan, 5.0])
    assert h.latest("a") == 2.0 and h.latest("a", through=0) == 1.0 and h.series("b")[0].tolist() == [2]


def test_polling_a_growing_run_reads_only_the_new_rows(tmp_path):
    """Loss steps and a pair's loss curves are read with `since`, and still equal a full read."""
    w = start_run(tmp_path / "grow", steps=40, n=80)
    w.write(10)
    p = StorePoller(tmp_path / "grow")
    calls = []

    def spy(name):
        method = getattr(p.reader, name)

        def wrapped(*args, **kwargs):
            out = method(*args, **kwargs)
            rows = len(out) if name == "loss_steps" else sum(len(s) for s, _ in out.values())
            calls.append((name, kwargs.get("since"), rows))
            return out
        setattr(p.reader, name, wrapped)
    spy("loss_steps")
    spy("group_losses")
    p.poll()
    first = p.group(0, 9)
    w.write(25)
    p.poll()
    later = p.group(0, 24)
    full = RunReader(tmp_path / "grow")
    assert [c[:2] for c in calls] == [("loss_steps", None), ("group_losses", None),
                                      ("loss_steps", 9), ("group_losses", 9)]
    assert calls[2][2] == 15  # steps 10..24 only
    assert 0 < calls[3][2] == sum(len(b.curve[0]) - len(a.curve[0]) for a, b in zip(first.sides, later.sides))
    np.testing.assert_array_equal(p._loss_steps, full.loss_steps())
    for side, (steps, loss) in full.group_losses(0).items():
        np.testing.assert_array_equal(later.sides[side].curve[0], steps)
        np.testing.assert_array_equal(later.sides[side].curve[1], loss)
    assert len(first.sides[0].curve[0]) < len(later.sides[0].curve[0])
    # the reader's `since` is exactly the rows after that step; without it, everything as before
    np.testing.assert_array_equal(full.loss_steps(since=20), full.loss_steps()[full.loss_steps() > 20])
    for side, (steps, loss) in full.group_losses(0, since=20).items():
        s_all, l_all = full.group_losses(0)[side]
        np.testing.assert_array_equal(steps, s_all[s_all > 20])
        np.testing.assert_array_equal(loss, l_all[s_all > 20])
    w.finish()
