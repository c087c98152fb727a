"""Fuzzing the run-store reader: random corruption of any file of a run directory (bit flips, zeroed
blocks, inserted bytes, truncation) makes every read either work or raise RunStoreError, never
anything else — for `open_run`, every reader query, checkpoints, `osig export`, and `resume`."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import osig_core as osig
from osig_core.config.run_config import ConfigError
from osig_core.data.base import DataError
from osig_core.export.tables import export_csv, export_npz
from osig_core.store import RunStoreError
from osig_core.store.checkpoint import load_checkpoint

EXAMPLES = int(os.environ.get("OSIG_FUZZ_EXAMPLES", 70))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FILES = ["config.json", "run.sqlite", "losses.f16", "preds.u16", "samples/labels.npy", "samples/images.npy",
         "samples/features.json", "checkpoints/step_0000004.safetensors", "checkpoints/step_0000006.safetensors"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A finished 6-step run with pairs, records and checkpoints at 2, 4, 6 (and no WAL left over)."""
    d = tmp_path_factory.mktemp("fuzz") / "run"
    cfg = osig.RunConfig(model="mlp", width=0.05, n=60, n_test=30, steps=6, checkpoint_every=2, eval_every=3,
                         group_window=3)
    osig.train(cfg, d)
    assert not (d / "run.sqlite-wal").exists() or (d / "run.sqlite-wal").stat().st_size == 0
    return d


@st.composite
def damage(draw, size: int) -> list[tuple]:
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "flip", "zero", "insert", "truncate"]))
        pos = draw(st.integers(0, max(size - 1, 0)))
        if kind == "flip":
            ops.append(("flip", pos, draw(st.integers(1, 255))))
        elif kind == "zero":
            ops.append(("zero", pos, draw(st.integers(1, 512))))
        elif kind == "insert":
            ops.append(("insert", pos, draw(st.binary(min_size=1, max_size=8))))
        else:
            ops.append(("truncate", pos, None))
    return ops


def _apply(path: Path, ops: list[tuple]) -> None:
    b = bytearray(path.read_bytes())
    for kind, pos, arg in ops:
        pos = min(pos, len(b))
        if kind == "flip" and pos < len(b):
            b[pos] ^= arg
        elif kind == "zero":
            b[pos:pos + arg] = bytes(len(b[pos:pos + arg]))
        elif kind == "insert":
            b[pos:pos] = arg
        elif kind == "truncate":
            del b[pos:]
    path.write_bytes(bytes(b))


def read_everything(run_dir: Path, out_dir: Path) -> None:
    """Every read a front end does; RunStoreError is the only acceptable failure."""
    run = osig.open_run(run_dir)
    try:
        run.meta(), run.status(), run.last_step(), run.steps_done(), run.classes, run.run_id
        m = run.metrics()
        run.metrics(since=2)
        losses, preds, steps = run.losses(), run.preds(), run.loss_steps()
        with np.errstate(all="ignore"):
            np.asarray(losses, np.float32).sum(), np.asarray(preds).sum()
        if len(steps):
            run.row_of(int(steps[-1]))
            run.loss_history([0, run.n - 1]) if run.n else None
        for kind in ("extremes", "pairs", "eig", "per_sample"):
            run.records(kind)
            run.record_at(kind)
        for p in run.pairs_all():
            run.group_losses(int(p["id"]) if isinstance(p, dict) and isinstance(p.get("id"), int) else 0)
        run.pairs_at(3)
        run.events()
        run.labels(), run.images(), run.texts(), run.features(), run.sample_x()
        for _, path in run.checkpoints():
            load_checkpoint(path)
        export_npz(run, out_dir / "o.npz", with_losses=True)
        export_csv(run, out_dir / "o.csv")
        assert len(m["step"]) >= 0
    finally:
        run.close()


@SETTINGS
@given(st.sampled_from(FILES), st.data())
def test_reader_survives_any_corruption(pristine, name, data):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "run"
        shutil.copytree(pristine, d)
        target = d / name
        ops = data.draw(damage(target.stat().st_size), label="damage")
        _apply(target, ops)
        try:
            read_everything(d, Path(tmp))
            event(f"{name}: read fine")
        except RunStoreError as e:
            msg = str(e)
            assert msg and "Traceback" not in msg
            event(f"{name}: RunStoreError")


@settings(max_examples=max(EXAMPLES // 4, 10), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["config.json", "run.sqlite", "losses.f16", "preds.u16",
                        "checkpoints/step_0000006.safetensors"]), st.data())
def test_resume_survives_any_corruption(pristine, name, data):
    """`osig run --resume` on a damaged run: continues, or one user-facing error; never a traceback."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "run"
        shutil.copytree(pristine, d)
        _apply(d / name, data.draw(damage((d / name).stat().st_size), label="damage"))
        try:
            osig.resume(d, steps=7).close()
            event(f"{name}: resumed")
        except (RunStoreError, ConfigError, DataError) as e:
            assert str(e)
            event(f"{name}: {type(e).__name__}")
