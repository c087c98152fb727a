"""No silent waits: while a step takes long, `osig run`'s bar and the monitor say what is running
("step 0: sharpness estimate, HVP 5 of ≤ 20"), from what the engine publishes (osig_core.store.activity)."""
from __future__ import annotations

import json
import time

import pytest

from fixtures.synthetic_run import start_run
from fixtures.waiting import wait_until
from osig_core.store.activity import Activity, current_activity
from osig_core.store import layout as L
from osig_core.store.reader import RunReader


def test_the_engine_says_each_phase_and_an_instruments_own_progress(tmp_path, monkeypatch):
    import osig_core as osig
    heard: list[tuple[str, int, str]] = []

    class Hook:  # what `osig run` passes: the progress callable, with an activity hook
        def __call__(self, step, total, scalars):
            heard.append(("step done", step, ""))

        def activity(self, step, message):
            heard.append(("doing", step, message))

    from osig_core.instruments import sharpness as S
    measure = S.SharpnessInstrument.measure

    def measure_and_report(self, ctx):  # an instrument reporting through the engine's hook
        ctx.report("HVP 1 of ≤ 20")
        return measure(self, ctx)

    monkeypatch.setattr(S.SharpnessInstrument, "measure", measure_and_report)
    cfg = osig.RunConfig(model="mlp", width=0.05, n=80, steps=3, lr=0.05, sharpness_every=2)
    run = osig.train(cfg, tmp_path / "r", progress=Hook())
    said = [m for kind, _, m in heard if kind == "doing"]
    assert said[0] == "step 0: forward and backward pass over 80 samples"
    i = said.index("step 0: sharpness estimate")
    assert said[i + 1] == "step 0: sharpness estimate, HVP 1 of ≤ 20"
    assert "step 0: per-sample curvature" in said and "step 1: sharpness estimate" not in said
    assert "step 2: sharpness estimate, HVP 1 of ≤ 20" in said
    # every message of step t comes before step t is reported done
    done_at = {s: k for k, (kind, s, _) in enumerate(heard) if kind == "step done"}
    assert all(k < done_at[s + 1] for k, (kind, s, _) in enumerate(heard) if kind == "doing" and s + 1 in done_at)
    assert run.meta().get("activity") is None  # a finished run is doing nothing


def test_the_sharpness_estimate_counts_its_hvps_aloud(tmp_path):
    """The real instrument says which HVP of how many it is on, one message per product."""
    import re

    import osig_core as osig
    said: list[str] = []

    class Hook:
        def __call__(self, step, total, scalars):
            pass

        def activity(self, step, message):
            said.append(message)

    cfg = osig.RunConfig(model="mlp", width=0.05, n=80, steps=1, lr=0.05, sharpness_every=1)
    run = osig.train(cfg, tmp_path / "r", progress=Hook())
    counted = [int(m.group(1)) for m in (re.fullmatch(r"step 0: sharpness estimate, HVP (\d+) of ≤ \d+", s)
                                         for s in said) if m]
    assert counted == list(range(1, len(counted) + 1))  # 1, 2, 3, ... in order, none skipped
    raw = run.records("eig")[0][1]["hvps"]
    assert len(counted) == raw  # one message per Hessian-vector product of the estimate


def test_what_runs_reaches_the_store_and_is_cleared_at_the_end(tmp_path):
    r = start_run(tmp_path / "live", steps=10)
    r.write(3)
    a = Activity(tmp_path / "live" / L.DB_FILE)
    try:
        a.say(3, "sharpness estimate")
        a.detail("HVP 5 of ≤ 20")
        reader = RunReader(tmp_path / "live")
        wait_until(lambda: (reader.meta().get("activity") or {}).get("text") == "sharpness estimate, HVP 5 of ≤ 20",
                   "the activity in the run's meta")
        msg, seconds = current_activity(reader.meta(), reader.last_step(), live=True)
        assert msg == "step 3: sharpness estimate, HVP 5 of ≤ 20" and seconds >= 0
    finally:
        a.close()
    assert reader.meta().get("activity") is None
    reader.close()
    r.finish()


def test_an_activity_about_a_committed_step_or_a_stopped_run_is_not_shown():
    meta = {"activity": {"step": 4, "text": "checkpoint", "since": time.time() - 3}}
    assert current_activity(meta, last_step=3, live=True)[0] == "step 4: checkpoint"
    assert current_activity(meta, last_step=4, live=True) is None  # step 4 landed since: stale
    assert current_activity(meta, last_step=3, live=False) is None
    assert current_activity({"activity": None}, last_step=None, live=True) is None
    assert current_activity({"activity": {"text": 3}}, last_step=None, live=True) is None  # corrupt: ignored


def _say(run_dir, step: int, text: str, seconds_ago: float) -> None:
    con = L.connect(run_dir / L.DB_FILE)
    with con:
        con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('activity', ?)",
                    (json.dumps({"step": step, "text": text, "since": time.time() - seconds_ago}),))
    con.close()


def test_the_monitor_says_what_a_long_step_0_is_doing_instead_of_no_steps_yet(tmp_path, monkeypatch):
    import osig_core.store.activity as A
    from osig_tui.store_poller import StorePoller
    from osig_tui.widgets.header import header_text
    now = time.time()  # the reader's clock stands still, so a slow poll cannot change the seconds shown
    monkeypatch.setattr(A.time, "time", lambda: now)
    r = start_run(tmp_path / "slow", steps=10)
    _say(tmp_path / "slow", 0, "sharpness estimate, HVP 5 of ≤ 20", seconds_ago=12)
    p = StorePoller(tmp_path / "slow")
    try:
        res = p.poll()
        assert res.progress.activity == "step 0: sharpness estimate, HVP 5 of ≤ 20 (12 s)"
        assert res.view.outlier_note == "no steps recorded yet: step 0: sharpness estimate, HVP 5 of ≤ 20 (12 s)"
        head = header_text(p.info, res.progress, None, True).plain
        assert "▸ step 0: sharpness estimate, HVP 5 of ≤ 20 (12 s)" in head
        r.write(1)  # step 0 lands: the message about it is stale
        res = p.poll()
        assert res.progress.activity is None and "▸" not in header_text(p.info, res.progress, 0, True).plain
        _say(tmp_path / "slow", 1, "forward and backward pass over 240 samples", seconds_ago=0.1)
        res = p.poll()
        assert res is None or res.progress is None  # a short phase is not worth a line
    finally:
        p.close()
        r.finish()


def test_the_progress_bar_names_a_slow_step(monkeypatch):
    import io

    from rich.console import Console

    from osig_tui import progress as P
    monkeypatch.setattr(P, "err", Console(file=io.StringIO(), width=200))
    out = Console(width=200, color_system=None)

    def shown(bar) -> str:
        with out.capture() as cap:
            out.print(bar._p.make_tasks_table(bar._p.tasks))
        return cap.get()

    bar = P.TrainingProgress(quiet=False)
    with bar:
        bar.step_started -= 3  # building a big model's data before step 0 starts is no silent wait either
        assert "▸ preparing the data and the model (3 s)" in shown(bar)
        bar.step_started += 3
        bar.activity(0, "step 0: sharpness estimate, HVP 5 of ≤ 20")
        assert "▸" not in shown(bar)  # a second into a step there is nothing to explain yet
        bar.step_started -= 5  # as if the step had been running for 5 s
        assert "▸ step 0: sharpness estimate, HVP 5 of ≤ 20 (5 s)" in shown(bar)
        bar(1, 10, {"train_loss": 1.0, "step_time": 0.5})
        bar(2, 10, {"train_loss": 0.9, "step_time": 1.5})
        line = shown(bar)
    assert "2/10" in line and " 1 steps/s" in line  # 2 steps in 2 s: the figure the summary and monitor show
    assert "0:00:02" in line and "ETA 0:00:08" in line and "▸" not in line
