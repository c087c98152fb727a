"""Resume reproduces everything a run records, bit for bit on CPU (issue 17, finding 1), and a resume
checks everything before it deletes anything (finding 3).

The engine is SIGKILLed at chosen points (inside a sharpness estimate, half-way through writing a
checkpoint, between a step's loss row and its commit), also while it is itself resuming; the resumed
run must then equal an uninterrupted one in every table: per-step scalars, records, pairs, group
losses, loss and prediction rows. Kill points are reached by waiting on a marker the engine writes
there (tests/kill_points.py), never on a clock."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import osig_core as osig
from fixtures.waiting import process_ended, wait_until

HERE = Path(__file__).parent
GD = ["--model", "mlp", "--width", "0.1", "--n", "500", "--n-test", "50", "--eval-every", "0", "--lr", "0.6",
      "--steps", "40", "--checkpoint-every", "10", "--group-window", "8", "--quiet"]


def _config(args: list[str]) -> osig.RunConfig:
    from osig_tui.config_flags import build_config
    flags, it = {}, iter(args)
    for a in it:
        if a == "--quiet":
            continue
        name = a[2:].replace("-", "_")
        flags[name] = next(it)
    cfg = osig.RunConfig()
    kinds = {k: type(getattr(cfg, k)) for k in flags}
    typed = {k: (float(v) if k in ("lr", "width", "momentum") else int(v) if kinds[k] in (int, type(None)) else v)
             for k, v in flags.items()}
    return cfg.replace(**typed)


def tables(d: Path) -> dict:
    """Everything a run records, minus wall-clock times."""
    con = sqlite3.connect(f"file:{d / 'run.sqlite'}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT step, row, scalars FROM steps ORDER BY step").fetchall()
        out = {"steps": [(s, r, {k: v for k, v in json.loads(sc).items() if "time" not in k}) for s, r, sc in rows],
               "records": con.execute("SELECT step, kind, payload FROM records ORDER BY kind, step").fetchall(),
               "pairs": con.execute("SELECT id, first_step, last_step, score, payload FROM pairs ORDER BY id").fetchall(),
               "group_losses": con.execute("SELECT * FROM group_losses ORDER BY pair_id, side, step").fetchall()}
    finally:
        con.close()
    n = json.loads((d / "config.json").read_text())["n"]
    used = sum(r is not None for _, r, _ in rows) * n
    out["losses"] = np.fromfile(d / "losses.f16", np.float16)[:used].tobytes()
    out["preds"] = np.fromfile(d / "preds.u16", np.uint16)[:used].tobytes()
    return out


def assert_same_tables(ref: Path, got: Path) -> None:
    a, b = tables(ref), tables(got)
    for name in a:
        if name == "steps":
            assert [s for s, _, _ in a[name]] == [s for s, _, _ in b[name]]
            for x, y in zip(a[name], b[name]):
                assert x == y, f"step {x[0]}: " + str({k: (x[2].get(k), y[2].get(k)) for k in set(x[2]) | set(y[2])
                                                        if x[2].get(k) != y[2].get(k)})
        else:
            assert a[name] == b[name], f"table {name} differs after resume"


def _kill_at(point: str, step: int, run_args: list, tmp: Path) -> None:
    """Start osig, wait until it reaches `point` at `step`, SIGKILL it there."""
    marker = tmp / f"at-{point}-{step}"
    proc = subprocess.Popen([sys.executable, str(HERE / "kill_points.py"), point, str(step), str(marker), "run",
                             *map(str, run_args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        try:
            wait_until(marker.exists, f"{point} at step {step}", gone=process_ended(proc))
        except AssertionError:
            pytest.fail(f"osig never reached {point} at step {step}: {proc.stderr.read().decode()[-2000:]}")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        proc.stderr.close()


@pytest.fixture(scope="module")
def gd_reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref") / "gd"
    osig.train(_config(GD + ["--sharpness-every", "5"]), d)
    con = sqlite3.connect(d / "run.sqlite")
    pairs, sharp = con.execute("SELECT COUNT(*) FROM pairs").fetchone()[0], \
        con.execute("SELECT COUNT(*) FROM records WHERE kind = 'eig'").fetchone()[0]
    con.close()
    assert pairs >= 1 and sharp >= 8, "the reference run must exercise groups and sharpness"
    return d



def _stop_resume_and_compare(cfg, d, stop: int, ref) -> None:
    """Stop a run cleanly after step `stop` (as a signal would), resume it, compare every table with `ref`."""
    from osig_core.engine.training import Engine, _start

    def progress(step, total, scalars):
        if step == stop:
            engine.signals.name = "TEST"
    engine = Engine(cfg, d, progress)
    _start(engine, engine.start_fresh)
    assert engine.run() == "stopped"
    osig.resume(d)
    assert_same_tables(ref, d)

def test_gd_with_groups_and_sharpness_resumes_exactly_after_sigkills(cli, tmp_path, gd_reference):
    d = tmp_path / "gd"
    args = GD + ["--sharpness-every", "5"]
    _kill_at("estimate", 15, [*args, "--run-dir", d], tmp_path)  # last checkpoint: step 10
    _kill_at("checkpoint", 30, ["--resume", d, "--quiet"], tmp_path)  # killed while resuming, mid-checkpoint
    assert not (d / "checkpoints" / "step_0000030.safetensors").exists()
    code, _, err = cli("run", "--resume", d, "--quiet")
    assert code == 0, err
    assert osig.open_run(d).status()[0] == "finished"
    assert_same_tables(gd_reference, d)


def test_identical_fresh_runs_record_identical_tables(tmp_path, gd_reference):
    """Finding 2: the HVP method was picked by timing, so two identical runs' sharpness differed."""
    d = tmp_path / "again"
    osig.train(_config(GD + ["--sharpness-every", "5"]), d)
    assert_same_tables(gd_reference, d)


def test_sgd_with_momentum_resumes_exactly_after_sigkills(cli, tmp_path):
    args = ["--model", "mlp", "--width", "0.1", "--n", "300", "--n-test", "50", "--eval-every", "0",
            "--optim", "sgd", "--momentum", "0.9", "--batch-size", "32", "--lr", "0.1", "--steps", "30",
            "--checkpoint-every", "7", "--group-window", "6", "--quiet"]
    ref = tmp_path / "ref"
    osig.train(_config(args), ref)
    d = tmp_path / "sgd"
    _kill_at("row", 12, [*args, "--run-dir", d], tmp_path)
    _kill_at("checkpoint", 21, ["--resume", d, "--quiet"], tmp_path)
    code, _, err = cli("run", "--resume", d, "--quiet")
    assert code == 0, err
    assert_same_tables(ref, d)


def test_clean_stops_resume_exactly_with_groups(tmp_path):
    """In-process stops at several steps (a final checkpoint each time): pairs and group losses continue
    as if never stopped; before checkpoints held the detector window they differed in most runs."""
    cfg = _config(GD).replace(steps=30)
    ref = tmp_path / "ref"
    osig.train(cfg, ref)
    for stop in (13, 17, 24):
        _stop_resume_and_compare(cfg, tmp_path / f"stop{stop}", stop, ref)


# ---------------------------------------------------------------------- checks before deleting
@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("short") / "r"
    cfg = _config(GD).replace(steps=30, n=200)
    osig.train(cfg, d)
    return d, cfg


def _copy(src: Path, dst: Path) -> Path:
    import shutil
    shutil.copytree(src, dst)
    return dst


def _steps(d: Path) -> list[int]:
    con = sqlite3.connect(f"file:{d / 'run.sqlite'}?mode=ro", uri=True)
    try:
        return [s for (s,) in con.execute("SELECT step FROM steps ORDER BY step")]
    finally:
        con.close()


def test_a_database_behind_the_newest_checkpoint_resumes_from_one_it_covers(cli, tmp_path, short_run):
    ref, _ = short_run
    d = _copy(ref, tmp_path / "behind")
    con = sqlite3.connect(d / "run.sqlite")  # as if the last WAL frames were lost: steps 25-29 gone
    with con:
        con.execute("DELETE FROM steps WHERE step >= 25")
        con.execute("DELETE FROM records WHERE step >= 25")
        con.execute("DELETE FROM group_losses WHERE step >= 25")
    con.close()
    code, _, err = cli("run", "--resume", d, "--quiet")
    assert code == 0, err
    run = osig.open_run(d)
    assert run.status()[0] == "finished" and _steps(d) == list(range(30))
    assert any("step_0000030" in e["message"] for e in run.events() if e["kind"] == "resume")
    assert_same_tables(ref, d)


def test_a_database_behind_every_checkpoint_is_refused_and_left_alone(cli, tmp_path, short_run):
    d = _copy(short_run[0], tmp_path / "far-behind")
    con = sqlite3.connect(d / "run.sqlite")
    with con:
        con.execute("DELETE FROM steps WHERE step >= 7")
    con.close()
    before = tables(d)
    code, _, err = cli("run", "--resume", d, "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "steps 0-6 only" in err and "--force" in err
    assert tables(d) == before


def test_a_truncated_loss_file_deletes_nothing(cli, tmp_path, short_run):
    d = _copy(short_run[0], tmp_path / "truncated")
    n = 200
    with open(d / "losses.f16", "r+b") as f:  # rows of steps 0-4 only
        f.truncate(5 * n * 2)
    before = tables(d)
    code, _, err = cli("run", "--resume", d, "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "losses.f16" in err
    assert tables(d) == before and _steps(d) == list(range(30))


def test_a_truncated_loss_file_resumes_from_a_checkpoint_it_still_covers(cli, tmp_path, short_run):
    ref = short_run[0]
    d = _copy(ref, tmp_path / "truncated-late")
    with open(d / "losses.f16", "r+b") as f:  # rows of steps 0-14: checkpoint 10 is still covered
        f.truncate(15 * 200 * 2)
    code, _, err = cli("run", "--resume", d, "--quiet")
    assert code == 0, err
    assert_same_tables(ref, d)


def test_a_checkpoint_from_before_component_states_still_resumes(tmp_path, monkeypatch):
    """Checkpoints written before instrument/detector state was kept resume (the detector is refilled
    from the stored rows), finishing with every step."""
    from osig_core.engine.training import Engine, _start
    cfg = _config(GD).replace(steps=16, n=200)
    d = tmp_path / "old"
    with monkeypatch.context() as m:
        m.setattr(Engine, "_component_states", lambda self: ({}, {}))

        def progress(step, total, scalars):
            if step == 11:
                engine.signals.name = "TEST"
        engine = Engine(cfg, d, progress)
        _start(engine, engine.start_fresh)
        assert engine.run() == "stopped"
    run = osig.resume(d)
    assert run.status()[0] == "finished" and _steps(d) == list(range(16))


def test_clean_stops_resume_exactly_with_every_instrument(tmp_path):
    """Sharpness, per-sample curvature and probes on, stopped inside the follow-up window of an estimate."""
    cfg = _config(GD).replace(steps=24, n=200, sharpness_every=4, per_sample_every=4, probes=["sky"], probe_every=3)
    ref = tmp_path / "ref"
    osig.train(cfg, ref)
    kinds = {k for _, k, _ in tables(ref)["records"]}
    assert {"eig", "probes"} <= kinds, kinds
    for stop in (9, 14):
        _stop_resume_and_compare(cfg, tmp_path / f"stop{stop}", stop, ref)
