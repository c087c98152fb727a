"""The run directory as a contract: readers see only complete steps, also while a writer runs."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import osig_core as osig
from fixtures.waiting import HANG_S, process_ended, wait_until
from osig_core.store import RunStoreError, RunWriter


def test_reader_sees_only_committed_steps_while_a_writer_runs(tmp_path):
    run_dir = tmp_path / "live"
    proc = subprocess.Popen([sys.executable, "-m", "osig_tui.cli", "run", "--model", "mlp", "--width", "0.05",
                             "--n", "300", "--steps", "400", "--run-dir", str(run_dir), "--quiet", "--no-groups"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # no deadline: the loop ends with the writer (an event); HANG_S only catches a hang
        wait_until(lambda: (run_dir / "run.sqlite").exists(), "the run database", gone=process_ended(proc))
        seen = []

        def look_once() -> bool:
            """Read the live run once; true when the writer has ended."""
            try:
                run = osig.open_run(run_dir)
            except RunStoreError:
                return proc.poll() is not None
            steps = run.loss_steps()  # each query sees a committed state; later ones may see more
            losses = np.asarray(run.losses(), dtype=np.float32)
            m = run.metrics()
            assert len(steps) <= losses.shape[0] <= len(m["step"])
            assert np.isfinite(losses).all()  # no half-written row is ever visible
            assert list(steps) == list(range(len(steps)))
            if run.status()[0] in ("running", "starting"):
                seen.append(len(steps))
            run.close()
            return proc.poll() is not None
        wait_until(look_once, "the writer to finish", poll=0.02)
        assert proc.wait(HANG_S) == 0, proc.stderr.read().decode()
        assert len(set(seen)) > 3, f"the reader should have watched the run grow, saw {seen[:5]}..."
        assert osig.open_run(run_dir).status()[0] == "finished"
    finally:
        proc.kill()


def test_partial_row_after_a_crash_is_invisible(tmp_path):
    w = RunWriter(tmp_path, n=4)
    w.acquire_lock()
    w.create({"format_version": 1, "config": osig.RunConfig().to_dict(), "n": 4})
    w.write_samples(np.zeros(4, np.int64), None, None, {})
    w.write_step(0, {"train_loss": 1.0}, losses=np.ones(4))
    w._losses.write(np.full(2, 7, np.float16).tobytes())  # a crash mid-row: half a row on disk, no commit
    w._losses.flush()
    r = osig.open_run(tmp_path)
    assert r.losses().shape == (1, 4)
    w.close()


def test_newer_format_version_is_refused(tiny_gd_run, tmp_path):
    import shutil
    d = tmp_path / "newer"
    shutil.copytree(tiny_gd_run.dir, d)
    doc = json.loads((d / "config.json").read_text())
    doc["format_version"] = 99
    (d / "config.json").write_text(json.dumps(doc))
    with pytest.raises(RunStoreError, match="newer osig"):
        osig.open_run(d)


def test_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path):
    a = RunWriter(tmp_path, 1)
    a.acquire_lock()
    b = RunWriter(tmp_path, 1)
    with pytest.raises(RunStoreError, match="another live osig process"):
        b.acquire_lock()
    a.close()
    b.acquire_lock()  # released with its holder
    b.close()


def test_control_commands_reach_the_writer(tiny_gd_run, tmp_path):
    import shutil
    d = tmp_path / "c"
    shutil.copytree(tiny_gd_run.dir, d)
    osig.open_run(d).send_control("pause")
    w = RunWriter(d, 200)
    w.acquire_lock()
    w.reopen(keep_through_step=11)
    osig.open_run(d).send_control("stop")
    assert [c for _, c in w.pending_commands()] == ["stop"]  # reopen marks older commands handled
    assert w.pending_commands() == []
    w.close()


def test_loss_history_from_transposed_blocks_equals_the_rows(tmp_path):
    from osig_core.store.layout import BLOCK_ROWS
    n, steps = 37, BLOCK_ROWS * 2 + 11
    w = RunWriter(tmp_path, n)
    w.acquire_lock()
    w.create({"format_version": 1, "config": osig.RunConfig().to_dict(), "n": n})
    w.write_samples(np.zeros(n, np.int64), None, None, {})
    rng = np.random.default_rng(0)
    for s in range(steps):
        w.write_step(s, {}, losses=rng.random(n).astype(np.float32))
    r = osig.open_run(tmp_path)
    assert len(list((tmp_path / "losses_t").iterdir())) == 2
    ids = [5, 0, 36, 17]
    np.testing.assert_array_equal(r.loss_history(ids), np.asarray(r.losses(), np.float32)[:, ids])
    # a resume that keeps fewer rows drops the now-stale transposed block
    w.close()
    w2 = RunWriter(tmp_path, n)
    w2.acquire_lock()
    w2.reopen(keep_through_step=BLOCK_ROWS + 3)
    assert len(list((tmp_path / "losses_t").iterdir())) == 1
    w2.close()
