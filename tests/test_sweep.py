"""`osig sweep`: the grid, sweep.json, bad input as one sentence, a real sweep of tiny members, Ctrl-C
stopping every member resumably (then the same command finishing them), and submitit's local executor.

Members are real `osig run` processes (MLP at width 0.05 on 64 samples, a few steps). Waits are on
conditions (a marker file, a process exit), never on a clock."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.light_cli import run_light
from fixtures.synthetic_run import write_run
from fixtures.waiting import HANG_S, process_ended, wait_until
from osig_core.sweeps import manifest as M
from osig_core.sweeps.grid import Grid, SweepError, members, parse_grid, run_argv, split_values
from osig_core.sweeps.launch import plan_slots, slot_env

TESTS = Path(__file__).resolve().parent
TINY = ["--model", "mlp", "--width", "0.05", "--n", "64", "--n-test", "16", "--eval-every", "0"]


def sweep(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "osig_tui.cli", "sweep", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=HANG_S)


def one_sentence(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("osig: error: ") and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------------- the grid
def test_commas_make_the_cartesian_product_in_flag_order():
    grid = parse_grid({"model": "mlp", "optim": "gd,adam", "lr": "0.01,0.02,0.04", "steps": "300", "groups": "off"})
    assert grid.fixed == {"model": "mlp", "steps": 300, "groups": False}
    assert grid.axes == {"optim": ["gd", "adam"], "lr": [0.01, 0.02, 0.04]}
    ms = members(grid)
    assert [(m.flags["optim"], m.flags["lr"]) for m in ms] == [(o, lr) for o in ("gd", "adam") for lr in (0.01, 0.02, 0.04)]
    assert len({m.name for m in ms}) == 6 and all("/" not in m.name for m in ms)
    assert ms[1].name == "1_optim-gd_lr-0.02"
    assert run_argv(ms[0].flags, None) == ["--model", "mlp", "--steps", "300", "--no-groups", "--optim", "gd", "--lr", "0.01"]


def test_json_values_keep_their_commas_and_probes_and_switches_form_axes():
    assert split_values('{"weight_decay": 0.1, "x": [1, 2]},{"weight_decay": 0.2}') == \
        ['{"weight_decay": 0.1, "x": [1, 2]}', '{"weight_decay": 0.2}']
    grid = parse_grid({"probes": ["sky,red"], "compile": "on,off", "opt_args": '{"a": 1, "b": 2}'})
    assert grid.axes == {"probes": [["sky"], ["red"]], "compile": [True, False]}
    assert grid.fixed == {"opt_args": '{"a": 1, "b": 2}'}
    assert parse_grid({"probes": ["sky", "red"], "lr": "1,2"}).fixed == {"probes": ["sky", "red"]}


@pytest.mark.parametrize("raw, says", [
    ({"model": "mlp"}, "the grid is empty"),
    ({"lr": "0.1,0.1"}, "--lr lists 0.1 twice"),
    ({"lr": "0.1,"}, "--lr has an empty value"),
    ({"steps": "10,ten"}, "--steps takes an integer, got 'ten'"),
    ({"groups": "on,maybe"}, "--groups takes on or off"),
    ({"probes": ["sky,red", "white"]}, "--probe takes either a grid"),
])
def test_bad_grids_are_one_sentence(raw, says):
    with pytest.raises(SweepError, match=says):
        parse_grid(raw)


def test_slots_follow_devices_then_cores():
    assert plan_slots(None, None, ["0", "1"], 5)[0] == 2
    assert plan_slots(3, None, [], 2)[0] == 2  # never more slots than members
    assert plan_slots(1, 1, [], 4) == (1, 1)
    assert slot_env(3, 2, ["0", "1"]) == {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "CUDA_VISIBLE_DEVICES": "1"}


# ---------------------------------------------------------------------- bad input through the CLI
def test_bad_sweep_commands_are_one_sentence(cli, tmp_path):
    not_sweep = tmp_path / "stuff"
    not_sweep.mkdir()
    (not_sweep / "notes.txt").write_text("mine")
    cases = [
        (["sweep", "--model", "mlp"], "the grid is empty"),
        (["sweep", "--optim", "gd,sgd", "--batch-size", "32", "--sweep-dir", tmp_path / "a"],
         "the grid is inconsistent: its member --optim gd is not a valid run (gd is full-batch"),
        (["sweep", "--lr", "0.1,0.2", "--sweep-dir", not_sweep], "is not an osig sweep (no sweep.json) and not empty"),
        (["sweep", "--sweep-dir", not_sweep], "is not an osig sweep (no sweep.json)"),
        (["sweep", "--lr", "0.1,0.2", "--jobs", "0"], "--jobs must be at least 1"),
        (["sweep", "--lr", "0.1,0.2", "--launcher", "cron"], "unknown launcher 'cron'"),
        (["sweep", "--compile", "on,off", "--no-compile"], "--compile and --no-compile contradict"),
    ]
    for args, says in cases:
        code, _, err = cli(*args)
        assert code == 2, (args, err)
        assert says in one_sentence(err), (args, err)
    assert not (tmp_path / "a").exists()  # nothing is created for a grid that fails its check


def test_a_member_directory_with_other_settings_or_a_broken_sweep_json_is_refused(cli, tmp_path):
    d = tmp_path / "sw"
    s = M.create(d, parse_grid({"model": "mlp", "lr": "0.01,0.05"}))
    write_run(d / s.members[0].name, n=40, steps=4)  # trained at lr 0.05, where sweep.json says 0.01
    code, _, err = cli("sweep", "--sweep-dir", d)
    assert code == 2 and "holds a run with --lr 0.05, but sweep.json says 0.01" in one_sentence(err)
    code, _, err = cli("sweep", "--lr", "0.1,0.2", "--sweep-dir", d)
    assert code == 2 and "holds another sweep (--lr 0.01,0.05)" in one_sentence(err)
    (d / "sweep.json").write_text('{"format": "osig-sweep", "members": 3')
    code, _, err = cli("sweep", "--sweep-dir", d)
    assert code == 2 and "sweep.json' is corrupt" in one_sentence(err)


# ---------------------------------------------------------------------- real members
def _statuses(d: Path) -> list[str]:
    return [m["status"] for m in json.loads((d / "sweep.json").read_text())["members"]]


def test_ctrl_c_stops_every_member_resumably_and_the_same_command_finishes_them(tmp_path):
    """Three members, two at once: both running members hold at step 3 until the sweep's SIGINT reaches
    them; they stop with a checkpoint, the third never starts. The same command then resumes the two,
    starts the third, and a third time skips all of them."""
    markers = tmp_path / "markers"
    markers.mkdir()
    args = [*TINY, "--steps", "12", "--lr", "0.01,0.02,0.03", "--jobs", "2", "--threads", "1"]
    gate = {"PYTHONPATH": os.pathsep.join([str(TESTS / "fixtures" / "sweep_gate"), os.environ.get("PYTHONPATH", "")]),
            "OSIG_TEST_SWEEP_GATE": f"3:{markers}", "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "osig_tui.cli", "sweep", *args], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **gate})
    wait_until(lambda: len(list(markers.iterdir())) == 2, "both running members at step 3", gone=process_ended(proc))
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=HANG_S)
    assert proc.returncode == 130, err
    assert "sweep interrupted (2 stopped, 1 pending); run the same command again" in one_sentence(err)
    (d,) = [p for p in (tmp_path / "runs").iterdir() if p.name.endswith("-sweep")]
    assert _statuses(d) == ["stopped", "stopped", "pending"]
    from osig_core import open_run
    created = {}
    for m in M.load(d).members[:2]:
        r = open_run(d / m.name)
        assert r.status()[0] == "stopped" and r.steps_done() == 4 and r.checkpoints()[-1][0] == 4
        created[m.name] = r.config_doc["created"]
    assert not (d / M.load(d).members[2].name / "config.json").exists()

    again = sweep(*args, cwd=tmp_path)  # the same command, no gate
    assert again.returncode == 0, again.stderr
    assert f"sweep runs/{d.name} (continuing)" in again.stdout.replace("\n", "")
    assert _statuses(d) == ["finished"] * 3
    for m in M.load(d).members:
        r = open_run(d / m.name)
        assert r.status()[0] == "finished" and r.covered_steps() == 12
        assert r.config.lr == m.flags["lr"] and r.config.width == 0.05
        if m.name in created:  # resumed, not started again
            assert r.config_doc["created"] == created[m.name]
            assert any(e["kind"] == "resume" or "resum" in e["message"] for e in r.events())
        assert f"{m.name}  12/12  loss " in again.stdout and "finished" in again.stdout  # plain log lines

    logs = {m.name: (d / m.name / "engine.log").stat().st_size for m in M.load(d).members}
    third = sweep(*args, cwd=tmp_path)
    assert third.returncode == 0 and "0 to run" in third.stdout.replace("\n", " "), third.stderr
    assert logs == {m.name: (d / m.name / "engine.log").stat().st_size for m in M.load(d).members}


def test_submitit_local_executor_runs_members(tmp_path):
    pytest.importorskip("submitit")
    d = tmp_path / "sw"
    p = sweep(*TINY, "--steps", "3", "--optim", "gd,adam", "--sweep-dir", d, "--launcher", "submitit-local", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert _statuses(d) == ["finished", "finished"]
    from osig_core import open_run
    assert [open_run(d / m.name).config.optim for m in M.load(d).members] == ["gd", "adam"]
    assert (d / ".submitit").is_dir()


def test_grid_round_trips_through_sweep_json(tmp_path):
    g = parse_grid({"lr": "0.01,0.02", "probes": ["sky"], "compile": "on"}, config=None)
    s = M.create(tmp_path / "sw", g)
    back = M.load(tmp_path / "sw")
    assert M.same_grid(back.grid, g) and [m.flags for m in back.members] == [m.flags for m in s.members]
    assert M.find_matching(tmp_path, g) == tmp_path / "sw"
    assert M.find_matching(tmp_path, Grid({}, {"lr": [0.5, 0.6]})) is None


def test_the_sweep_process_loads_no_torch(tmp_path):
    """Checking a grid of built-in names and continuing a sweep cost no torch: only members load it."""
    d = tmp_path / "done"
    s = M.create(d, parse_grid({"model": "mlp", "n": "40,60"}))
    for m, n in zip(s.members, (40, 60)):
        write_run(d / m.name, n=n, steps=4)
    for args, code in ((["--optim", "gd,sgd", "--batch-size", "32"], 2), (["--sweep-dir", str(d)], 0)):
        result = run_light("sweep", *args, cwd=tmp_path)
        assert result["code"] == code and result["heavy"] == [], (args, result["out"], result["err"])
    assert "0 to run" in result["out"].replace("\n", " ") and _statuses(d) == ["finished", "finished"]
