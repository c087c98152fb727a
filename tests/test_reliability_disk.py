"""A full disk (or any write error) mid-run: the run stops with one clear sentence, the recorded steps
stay readable and complete, no half-written checkpoint is left, and `--resume` continues afterwards.

Simulated in-process: the loss file refuses bytes past a budget (ENOSPC), SQLite is capped with
PRAGMA max_page_count (its own "database or disk is full"), or the checkpoint write fails."""
from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import osig_core as osig
from osig_core.store.checkpoint import load_checkpoint
from osig_core.store.writer import RunWriter

N = 100
TINY = ["--model", "mlp", "--width", "0.05", "--n", str(N), "--n-test", "50", "--eval-every", "0",
        "--checkpoint-every", "4", "--quiet"]


class _FullDisk:
    """A file object that takes `budget` more bytes, then writes part of the next chunk and fails."""

    def __init__(self, f, budget: int):
        self._f, self._budget = f, budget

    def write(self, data: bytes) -> int:
        if len(data) > self._budget:
            self._f.write(bytes(data)[: self._budget])
            self._budget = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._budget -= len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)


def _fill_loss_file_at(monkeypatch, step: int) -> None:
    original = RunWriter._open_matrices

    def patched(self, *a, **kw):
        original(self, *a, **kw)
        self._losses = _FullDisk(self._losses, step * N * 2 + N)  # half of row `step` fits
    monkeypatch.setattr(RunWriter, "_open_matrices", patched)


def _cap_database(monkeypatch, pages: int) -> None:
    original = RunWriter.create

    def patched(self, *a, **kw):
        original(self, *a, **kw)
        count = self.db.execute("PRAGMA page_count").fetchone()[0]
        self.db.execute(f"PRAGMA max_page_count = {count + pages}")
    monkeypatch.setattr(RunWriter, "create", patched)


def _fail_checkpoint_at(monkeypatch, step: int) -> None:
    import osig_core.store.checkpoint as ck
    original = ck.save_file

    def patched(tensors, filename, metadata=None):
        if f"step_{step:07d}" in filename:
            with open(filename, "wb") as f:
                f.write(b"half a checkpoint")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), filename)
        return original(tensors, filename, metadata=metadata)
    monkeypatch.setattr(ck, "save_file", patched)


def _sentence(err: str) -> str:
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("osig: error: ")
    return lines[0]


@pytest.mark.parametrize("where", ["loss file", "database", "checkpoint"])
def test_a_full_disk_stops_the_run_cleanly(cli, monkeypatch, tmp_path, where):
    d = tmp_path / "full"
    with monkeypatch.context() as m:
        if where == "loss file":
            _fill_loss_file_at(m, 9)
        elif where == "database":
            _cap_database(m, 6)
        else:
            _fail_checkpoint_at(m, 8)
        code, _, err = cli("run", *TINY, "--steps", "400", "--run-dir", d)
    line = _sentence(err)
    assert code == 2
    assert "stopped at step" in line and "--resume" in line
    assert ("No space left on device" in line) or ("database or disk is full" in line), line
    run = osig.open_run(d)
    m = run.metrics()
    t = len(m["step"])
    assert 0 < t < 400
    if where == "loss file":
        assert t == 9 and "losses.f16" in line
    if where == "checkpoint":
        assert t == 8 and "step_0000008" in line
    assert f"stopped at step {t}" in line
    assert list(m["step"]) == list(range(t)) and list(run.loss_steps()) == list(range(t))
    assert np.isfinite(np.asarray(run.losses(), np.float32)).all()
    assert run.status()[0] == "failed"
    assert not list((d / "checkpoints").glob("*.tmp"))
    for _, path in run.checkpoints():  # every checkpoint that exists is whole
        load_checkpoint(path)
    run.close()
    # space is back: the run continues from its last checkpoint and finishes
    code, _, err = cli("run", "--resume", d, "--steps", str(t + 3), "--quiet")
    assert code == 0, err
    run = osig.open_run(d)
    assert run.status()[0] == "finished" and list(run.metrics()["step"]) == list(range(t + 3))
