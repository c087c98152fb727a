"""What each instrument costs, and steps/s computed one way: the engine stores `step_time` and
`time_<part>` per step; `osig show`, the progress bar and the monitor state the shares and the rate
from them (osig_core.store.cost). No test here depends on how fast the machine is."""
from __future__ import annotations

import math

import numpy as np
import pytest

from osig_core.store import cost as cost_mod
from osig_core.store.cost import StepClock, active_seconds, cost_shares, format_shares, steps_per_second


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def fake_time(monkeypatch):
    ft = FakeTime()
    monkeypatch.setattr(cost_mod, "time", ft)
    return ft


def test_clock_laps_telescope_and_leave_out_pauses(fake_time):
    c = StepClock()
    c.start()
    fake_time.now += 1.0  # training
    with c.timing("sharpness"):
        fake_time.now += 3.0
    with c.timing("recording"):
        fake_time.now += 0.5
    c.move("recording", "groups", 0.2)
    first = c.lap()
    assert first == pytest.approx({"step_time": 4.5, "time_sharpness": 3.0, "time_recording": 0.3, "time_groups": 0.2})
    with c.timing("recording"):  # writing step 0 and a checkpoint count towards step 1
        fake_time.now += 0.25
    with c.timing("checkpoint"):
        fake_time.now += 2.0
    fake_time.now += 60.0  # paused for a minute
    c.exclude(60.0)
    fake_time.now += 1.0
    second = c.lap()
    assert second == pytest.approx({"step_time": 3.25, "time_sharpness": 0.0, "time_recording": 0.25,
                                    "time_groups": 0.0, "time_checkpoint": 2.0})
    # the laps add up to the wall time less the pause
    assert first["step_time"] + second["step_time"] == pytest.approx(fake_time.now - 100.0 - 60.0)


def test_steps_per_second_is_the_recent_mean_and_skips_missing_times():
    assert steps_per_second([0.5] * 10) == pytest.approx(2.0)
    assert steps_per_second([10.0] * 100 + [0.1] * 50) == pytest.approx(10.0)  # only the last 50 steps
    assert steps_per_second([0.2, math.nan, 0.3]) == pytest.approx(2 / 0.5)
    assert steps_per_second([]) is None and steps_per_second(None) is None and steps_per_second([math.nan]) is None


def test_shares_are_of_active_time_with_training_the_rest():
    m = {"step": np.arange(4), "step_time": np.array([2.0, 1.0, 1.0, math.nan]),
         "time_sharpness": np.array([1.0, 0.0, 0.0, math.nan]), "time_per_sample": np.array([0.5, 0.0, 0.0, 9.0]),
         "time_recording": np.array([0.1, 0.1, 0.1, 0.1])}
    assert active_seconds(m) == pytest.approx(4.0)
    shares = cost_shares(m)
    assert [(label, round(s, 6)) for label, s, _ in shares] == [
        ("sharpness", 1.0), ("per-sample curvature", 0.5), ("recording", 0.3), ("training", 2.2)]
    assert sum(share for *_, share in shares) == pytest.approx(1.0)
    assert format_shares(shares) == "sharpness 25%, per-sample curvature 12%, recording 8%, training 55%"
    assert cost_shares({"step": np.arange(2), "step_time": np.array([1.0, 1.0])}) == []  # a run without timings


@pytest.fixture(scope="module")
def timed_run(tmp_path_factory):
    import osig_core as osig
    cfg = osig.RunConfig(model="mlp", width=0.05, n=120, n_test=40, steps=12, lr=0.05, sharpness_every=5,
                         checkpoint_every=4, eval_every=6)
    return osig.train(cfg, tmp_path_factory.mktemp("cost") / "run")


def test_the_engine_stores_each_parts_time_within_the_step(timed_run):
    m = timed_run.metrics()
    first = {"time_checkpoint": 4}  # a part's key appears from the first step it ran in
    for key in ("step_time", "time_recording", "time_groups", "time_sharpness", "time_per_sample",
                "time_checkpoint", "time_eval"):
        v = m[key][first.get(key, 0):]
        assert np.isfinite(v).all() and (v >= 0).all(), key
    m = {k: np.nan_to_num(v) for k, v in m.items()}
    parts = sum(m[k] for k in m if k.startswith("time_"))
    assert (parts <= m["step_time"] + 1e-6).all()  # each part lies within its step's span
    steps = m["step"]
    # instruments cost time only on the steps they ran
    assert (m["time_sharpness"][steps % 5 != 0] == 0).all() and (m["time_sharpness"][steps % 5 == 0] > 0).all()
    assert (m["time_eval"][steps % 6 != 0] == 0).all() and (m["time_eval"][steps % 6 == 0] > 0).all()
    # a checkpoint after step s (state before s + 1) is paid within step s + 1's span
    assert (m["time_checkpoint"][np.isin(steps, [4, 8])] > 0).all()
    assert (m["time_checkpoint"][~np.isin(steps, [4, 8])] == 0).all()
    assert active_seconds(m) == pytest.approx(float(m["step_time"].sum()))


def test_show_states_each_parts_share_of_wall_time(timed_run, cli):
    code, out, err = cli("show", timed_run.dir)
    assert code == 0, err
    m = timed_run.metrics()
    rate = steps_per_second(m["step_time"])
    assert f"steps/s                    {rate:.3g}" in out or f"{rate:.3g} (last" in out
    assert "time stopped or paused not counted" in out
    line = " ".join(out.split("share of wall time", 1)[1].split())
    for label in ("sharpness", "per-sample curvature", "training"):
        assert f"{label} " in line and "%" in line


def test_the_monitor_header_states_the_shares_and_the_same_rate(timed_run):
    from osig_tui.store_poller import StorePoller
    from osig_tui.widgets.header import header_text
    p = StorePoller(timed_run.dir)
    try:
        progress = p.poll().progress
    finally:
        p.close()
    m = timed_run.metrics()
    assert progress.rate == pytest.approx(steps_per_second(m["step_time"]))
    assert progress.cost == format_shares(cost_shares(m), limit=5)
    text = header_text(p.info, progress, progress.last_step, True).plain
    assert f"time: {progress.cost}" in text and "sharpness" in progress.cost


def test_time_paused_counts_towards_no_step(tmp_path, monkeypatch):
    """A run paused from the monitor: its steps' times, the rate and the wall time leave the pause out.
    The engine's clock is replaced by one on which each pause poll lasts 1000 s, so no real waiting."""
    import time as real

    import osig_core as osig
    from osig_core.engine import training as engine_mod

    class PauseClock:
        offset = 0.0
        run_dir = None

        def perf_counter(self):
            return real.perf_counter() + self.offset

        def time(self):
            return real.time()

        def sleep(self, seconds):  # the engine waiting while paused: 1000 s pass, then the user resumes
            self.offset += 1000.0
            osig.open_run(self.run_dir).send_control("resume")

    clock = PauseClock()
    clock.run_dir = tmp_path / "r"
    from osig_core.loop import controls as controls_mod
    monkeypatch.setattr(engine_mod, "time", clock)
    monkeypatch.setattr(controls_mod, "time", clock)  # the pause wait lives in the shared step core
    monkeypatch.setattr(cost_mod, "time", clock)

    def pause_after_two(step, total, scalars):
        if step == 2:
            osig.open_run(clock.run_dir).send_control("pause")

    cfg = osig.RunConfig(model="mlp", width=0.05, n=60, steps=5, lr=0.05, groups=False)
    run = osig.train(cfg, clock.run_dir, progress=pause_after_two)
    m = run.metrics()
    assert clock.offset >= 1000.0 and [e["kind"] for e in run.events() if e["kind"] in ("pause", "resume")] == ["pause", "resume"]
    assert (m["step_time"] < 1000.0).all()  # the step after the pause does not carry it
    assert active_seconds(m) < 1000.0 and steps_per_second(m["step_time"]) > 5 / 1000.0
