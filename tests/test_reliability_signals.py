"""Interruptions of a live `osig run`: SIGINT (foreground), SIGTERM (detached engine), SIGKILL mid-step.

Each leaves a consistent run directory; `--resume` continues it and, on CPU, gives exactly the loss
matrix of an uninterrupted run. While a run is live, a second writer (plain, --force, --resume) is
refused and any number of readers are fine; a killed run's lock is not stuck.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import osig_core as osig
from fixtures.waiting import HANG_S, process_ended, wait_until
from osig_core.store import RunStoreError

TINY = ["--model", "mlp", "--width", "0.05", "--n", "100", "--n-test", "50", "--eval-every", "3"]
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # same arithmetic as this (1-thread) process


def _sentence(err: str) -> str:
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("osig: error: ")
    return lines[0]


def _wait_for_steps(run_dir: Path, proc: subprocess.Popen, k: int) -> None:
    def reached() -> bool:
        try:
            r = osig.open_run(run_dir)
            done = r.steps_done()
            r.close()
            return done >= k
        except RunStoreError:
            return False
    wait_until(reached, f"the run reach {k} steps (the engine ended before it was interrupted)",
               gone=process_ended(proc), poll=0.02)


def _assert_consistent(run) -> int:
    """Steps 0..T-1 each complete, loss rows for exactly those; returns T."""
    m = run.metrics()
    t = len(m["step"])
    assert list(m["step"]) == list(range(t))
    assert list(run.loss_steps()) == list(range(t))
    losses = np.asarray(run.losses(), np.float32)
    assert losses.shape == (t, run.n) and np.isfinite(losses).all()
    return t


def _assert_matches_uninterrupted(resumed_dir: Path, cfg: osig.RunConfig, reference_dir: Path) -> None:
    ref = osig.train(cfg, reference_dir)
    res = osig.open_run(resumed_dir)
    assert res.status()[0] == ref.status()[0] == "finished"
    a, b = np.asarray(ref.losses()), np.asarray(res.losses())
    assert a.shape == b.shape == (cfg.steps, cfg.n)
    assert a.tobytes() == b.tobytes()  # bit for bit
    ma, mb = ref.metrics(), res.metrics()
    assert set(ma) == set(mb)
    clocks = {k for k in ma if k in ("time", "step_time") or k.startswith("time_")}  # osig_core.store.cost's timings
    for key in set(ma) - clocks:  # every recorded scalar but the clock
        np.testing.assert_array_equal(ma[key], mb[key], err_msg=key)
    assert [e for e in ref.pairs_all()] == [e for e in res.pairs_all()]


def test_sigint_checkpoints_refuses_second_writers_and_resumes_exactly(cli, tmp_path):
    d = tmp_path / "fg"
    proc = subprocess.Popen([sys.executable, "-m", "osig_tui.cli", "run", *TINY, "--steps", "100000",
                             "--checkpoint-every", "1000", "--run-dir", str(d)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    try:
        _wait_for_steps(d, proc, 4)
        osig.open_run(d).send_control("pause")  # hold it near step 4 while we look (the signal ends the pause)
        wait_until(lambda: osig.open_run(d).status()[0] == "paused", "the engine pause", gone=process_ended(proc))
        # one writer: plain, forced and resuming second writers are all refused, nothing is touched
        code, _, err = cli("run", *TINY, "--steps", "3", "--run-dir", d, "--quiet")
        assert code == 2 and "already holds a run" in _sentence(err)
        code, _, err = cli("run", *TINY, "--steps", "3", "--run-dir", d, "--quiet", "--force")
        assert code == 2 and "another live osig process" in _sentence(err)
        code, _, err = cli("run", "--resume", d, "--quiet")
        assert code == 2 and "another live osig process" in _sentence(err)
        assert (d / "config.json").is_file() and osig.open_run(d).status()[0] == "paused"
        # many readers at once, each sees a consistent prefix
        problems: list[BaseException] = []

        def read() -> None:
            try:
                for _ in range(5):
                    r = osig.open_run(d)
                    m, steps, losses = r.metrics(), r.loss_steps(), r.losses()
                    assert len(m["step"]) <= len(steps) <= losses.shape[0]
                    assert np.isfinite(np.asarray(losses[: len(steps)], np.float32)).all()
                    r.close()
            except BaseException as e:  # noqa: BLE001 - reported below
                problems.append(e)
        threads = [threading.Thread(target=read) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(HANG_S)
        assert not problems, problems
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=HANG_S)
    finally:
        proc.kill()
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err, err.decode()
    run = osig.open_run(d)
    status, reason = run.status()
    s = _assert_consistent(run)
    assert status == "stopped" and reason == f"stopped at step {s} by SIGINT"
    assert [c for c, _ in run.checkpoints()][-1] == s  # the final checkpoint
    assert b"stopped at step" in out  # the summary says so
    cfg = run.config.replace(steps=s + 5)
    run.close()
    code, _, err = cli("run", "--resume", d, "--steps", str(s + 5), "--quiet")
    assert code == 0, err
    _assert_matches_uninterrupted(d, cfg, tmp_path / "ref")


def test_sigterm_to_a_detached_engine_stops_cleanly_and_resumes_exactly(cli, tmp_path, monkeypatch):
    from osig_tui.lifecycle import start_detached
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    d = tmp_path / "bg"
    proc = start_detached([*TINY, "--steps", "100000", "--checkpoint-every", "2"], d)
    try:
        _wait_for_steps(d, proc, 3)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(HANG_S) == 130
    finally:
        proc.kill()
    log = (d / "engine.log").read_text()
    assert "Traceback" not in log, log
    run = osig.open_run(d)
    s = _assert_consistent(run)
    assert run.status() == ("stopped", f"stopped at step {s} by SIGTERM")
    assert run.checkpoints()[-1][0] == s
    cfg = run.config.replace(steps=s + 4)
    code, _, err = cli("run", "--resume", d, "--steps", str(s + 4), "--quiet")
    assert code == 0, err
    _assert_matches_uninterrupted(d, cfg, tmp_path / "ref")


# Kills itself with SIGKILL in the middle of step K: half of the step's loss row is on disk, a
# checkpoint's temporary file is half written, the step's transaction never commits.
KILL_MID_STEP = """
import os, signal, sys
import numpy as np
from osig_core.store.writer import RunWriter
K = int(sys.argv[1])
original = RunWriter.write_step
def write_step(self, step, scalars, **kw):
    if step == K:
        self._losses.write(np.asarray(kw["losses"], np.float16).tobytes()[: self.n])
        self._losses.flush()
        (self.dir / "checkpoints" / "step_{:07d}.tmp".format(K)).write_bytes(b"partial")
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, step, scalars, **kw)
RunWriter.write_step = write_step
from osig_tui.cli import main
sys.argv = ["osig", "run", *sys.argv[2:]]
main()
"""


def test_sigkill_mid_step_leaves_a_readable_resumable_run(cli, tmp_path):
    d = tmp_path / "killed"
    k = 11
    p = subprocess.run([sys.executable, "-c", KILL_MID_STEP, str(k), *TINY, "--steps", "18",
                        "--checkpoint-every", "4", "--run-dir", str(d), "--quiet"],
                       env=ENV, capture_output=True, timeout=HANG_S)
    assert p.returncode == -signal.SIGKILL, p.stderr.decode()
    assert (d / "losses.f16").stat().st_size > k * 100 * 2  # the half row is on disk ...
    run = osig.open_run(d)
    assert _assert_consistent(run) == k  # ... but invisible
    status, reason = run.status()
    assert status == "failed" and "died" in reason
    assert [c for c, _ in run.checkpoints()] == [4, 8]
    run.close()
    code, out, _ = cli("ls", tmp_path)
    assert code == 0 and "failed" in out
    # the dead engine's lock is not stuck: resume takes it and continues from step 8
    cfg = osig.open_run(d).config
    code, _, err = cli("run", "--resume", d, "--quiet")
    assert code == 0, err
    assert not list((d / "checkpoints").glob("*.tmp"))  # the half-written file is cleaned up
    _assert_matches_uninterrupted(d, cfg, tmp_path / "ref")
    events = [e["kind"] for e in osig.open_run(d).events()]
    assert "resume" in events and events[-1] == "finished"


def test_force_replaces_a_finished_run(cli, tmp_path):
    """--force on a run whose engine is gone (not live) is allowed; the old data is replaced."""
    d = tmp_path / "old"
    code, _, err = cli("run", *TINY, "--steps", "3", "--run-dir", d, "--quiet", "--no-groups")
    assert code == 0, err
    code, _, err = cli("run", *TINY, "--steps", "2", "--run-dir", d, "--quiet", "--force", "--no-groups")
    assert code == 0, err
    assert osig.open_run(d).steps_done() == 2


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_a_signal_in_process_stops_after_the_step_and_resumes_exactly(tmp_path, sig):
    """The engine's handler (SIGHUP = a lost SSH session) lets the step finish, checkpoints, and stops."""
    cfg = osig.RunConfig(model="mlp", width=0.05, n=100, n_test=50, eval_every=3, optim="sgd", batch_size=32,
                         momentum=0.9, steps=40, checkpoint_every=0, group_window=4)

    def progress(step, total, scalars):
        if step == 5:
            os.kill(os.getpid(), sig)
    before = signal.getsignal(sig)
    run = osig.train(cfg, tmp_path / "r", progress=progress)
    assert signal.getsignal(sig) == before  # the engine's handler is gone again
    assert run.status() == ("stopped", f"stopped at step 5 by {signal.Signals(sig).name}")
    assert _assert_consistent(run) == 5 and run.checkpoints()[-1][0] == 5
    osig.resume(tmp_path / "r", steps=12)
    _assert_matches_uninterrupted(tmp_path / "r", cfg.replace(steps=12), tmp_path / "ref")


def test_sighup_is_left_alone_under_nohup(tmp_path):
    """`nohup osig run` ignores hangups: the engine keeps that choice and trains on."""
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        cfg = osig.RunConfig(model="mlp", width=0.05, n=100, n_test=50, eval_every=0, steps=8, groups=False)
        run = osig.train(cfg, tmp_path / "r", progress=lambda s, t, _: s == 3 and os.kill(os.getpid(), signal.SIGHUP))
        assert run.status()[0] == "finished" and run.steps_done() == 8
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, old)


def test_a_run_whose_creator_died_while_starting_reads_as_failed(tmp_path):
    """Killed between creating the directory and its first step (e.g. while writing samples)."""
    from osig_core.store import RunWriter
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    w = RunWriter(tmp_path, n=4)
    w.acquire_lock()
    w.create({"format_version": 1, "config": osig.RunConfig().to_dict(), "n": 4})
    assert osig.open_run(tmp_path).status()[0] == "starting"  # its creator (this process) is alive
    w.set_meta(writer_pid=dead.pid)
    w.close()
    status, reason = osig.open_run(tmp_path).status()
    assert status == "failed" and "died" in reason


# A monitor's view of the loss matrix: mapped before a resume rewinds the run, touched after it.
HOLD_MAP = """
import sys
import numpy as np
import osig_core as osig
run = osig.open_run(sys.argv[1])
rows = run.losses()
print(rows.shape[0], flush=True)
sys.stdin.readline()
print(float(np.asarray(rows[-1], np.float32).sum()), flush=True)
"""


def test_a_reader_holding_the_loss_matrix_survives_a_resume(tmp_path):
    """Resume rewinds to the last checkpoint; shrinking losses.f16 under a reader's memory map would
    kill that reader with SIGBUS when it touches a row past the new end."""
    cfg = osig.RunConfig(model="mlp", width=0.05, n=1024, n_test=50, eval_every=0, steps=40, checkpoint_every=8,
                         groups=False)  # rows of 2 kB: rows 8.. lie on 4 kB pages of their own
    d = tmp_path / "r"
    osig.train(cfg.replace(steps=13), d)
    # as after a kill at step 13: the last checkpoint is step 8 (the final one at 13 is lost)
    (d / "checkpoints" / "step_0000013.safetensors").unlink()
    reader = subprocess.Popen([sys.executable, "-c", HOLD_MAP, str(d)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "13"
        from osig_core.engine.training import Engine
        engine = Engine(cfg.replace(steps=9), d)  # resume and stop right after the rewind
        engine.start_resume()
        engine.writer.close()
        assert osig.open_run(d).losses().shape[0] == 8
        out, err = reader.communicate("go\n", timeout=HANG_S)
    finally:
        reader.kill()
    assert reader.returncode == 0, (reader.returncode, err)
    assert np.isfinite(float(out.strip()))


def test_ctrl_c_twice_quits_at_once_and_stays_resumable(tmp_path):
    cfg = osig.RunConfig(model="mlp", width=0.05, n=100, n_test=50, eval_every=0, steps=30, checkpoint_every=4,
                         groups=False)

    def progress(step, total, scalars):
        if step == 6:
            os.kill(os.getpid(), signal.SIGINT)  # "stop after this step" ...
            os.kill(os.getpid(), signal.SIGINT)  # ... "no, now"
    with pytest.raises(KeyboardInterrupt):
        osig.train(cfg, tmp_path / "r", progress=progress)
    run = osig.open_run(tmp_path / "r")
    status, reason = run.status()
    assert status == "failed" and "interrupted at step 6" in reason
    assert _assert_consistent(run) == 6 and run.checkpoints()[-1][0] == 4
    osig.resume(tmp_path / "r", steps=10)
    _assert_matches_uninterrupted(tmp_path / "r", cfg.replace(steps=10), tmp_path / "ref")
