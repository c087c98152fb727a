"""`osig watch` around the app: a detached engine that outlives the monitor, re-attaching, controls that
reach a real engine (pause → paused → resume → stop → stopped), and clear errors before any screen opens."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

from fixtures.synthetic_run import write_run
from fixtures.waiting import HANG_S
from fixtures.tui_pilot import ready, wait_for
from osig_core.store.reader import RunReader
from osig_tui import lifecycle as LC
from osig_tui.app import WatchApp
from osig_tui.screens.modals import ConfirmScreen, QuitScreen

ENGINE_FLAGS = ["--model", "mlp", "--width", "0.05", "--n", "200", "--n-test", "50", "--steps", "2000",
                "--checkpoint-every", "0", "--eval-every", "0"]


def test_flags_become_the_same_osig_run_arguments():
    argv = LC.flags_to_argv({"model": "cnn", "lr": 0.1, "groups": False, "compile": True, "probes": ["sky", "red"],
                             "steps": None, "force": None, "quiet": True, "config": None, "batch_size": 0})
    assert argv == ["--model", "cnn", "--lr", "0.1", "--no-groups", "--compile", "--probe", "sky", "--probe", "red",
                    "--batch-size", "0"]
    assert LC.engine_command(["--model", "mlp"])[1:] == ["-m", "osig_tui.cli", "run", "--model", "mlp", "--quiet"]


def test_latest_run_and_fresh_names(tmp_path):
    with pytest.raises(Exception, match="no runs under"):
        LC.latest_run(tmp_path)
    a = write_run(tmp_path / "a", n=20, steps=2)
    time.sleep(0.02)
    b = write_run(tmp_path / "b", n=20, steps=2)
    os.utime(a / "config.json", (time.time() - 100, time.time() - 100))
    assert LC.latest_run(tmp_path) == b
    d = LC.new_run_dir("mlp", "gd", tmp_path)
    d.mkdir()
    assert LC.new_run_dir("mlp", "gd", tmp_path) != d and d.name.endswith("-mlp-gd")


def test_cli_errors_come_before_any_screen(tmp_path, cli):
    code, _, err = cli("watch", tmp_path)
    assert code == 2 and "is not an osig run" in err and "Traceback" not in err
    code, _, err = cli("watch", "--root", tmp_path / "nothing")
    assert code == 2 and "no runs under" in err
    code, _, err = cli("watch", tmp_path, "--model", "mlp")
    assert code == 2 and "not both" in err
    code, _, err = cli("watch", tmp_path, "--images", "ascii")
    assert code == 2 and "--images must be one of" in err


def test_bad_flags_show_the_engines_own_sentence(tmp_path):
    root = tmp_path / "runs"
    p = subprocess.run([sys.executable, "-m", "osig_tui.cli", "watch", "--model", "nope", "--root", str(root)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=HANG_S)
    assert p.returncode == 2, p.stderr
    assert "unknown model 'nope'" in p.stderr and "Traceback" not in p.stderr
    assert not root.exists() or not any(root.iterdir())  # no empty run directory left behind


def test_detached_engine_pause_resume_checkpoint_detach_reattach_stop(tmp_path):
    run_dir = tmp_path / "live"
    proc = LC.start_detached(ENGINE_FLAGS, run_dir)
    try:
        LC.wait_until_ready(run_dir, proc, timeout=HANG_S)
        assert (run_dir / LC.ENGINE_LOG).is_file()
        assert os.getsid(proc.pid) == proc.pid  # its own session: a closed terminal does not stop it

        async def first(pilot):
            app = pilot.app
            await ready(pilot)
            await wait_for(pilot, lambda: app.status == "running" and app.progress.last_step is not None)
            start = app.progress.last_step
            await wait_for(pilot, lambda: app.progress.last_step > start + 2, what="training to advance")
            await pilot.press("p")
            await wait_for(pilot, lambda: app.status == "paused", what="the engine to pause")
            assert RunReader(run_dir).status()[0] == "paused"
            held = app.progress.last_step
            await pilot.press("c")
            await wait_for(pilot, lambda: any(e["kind"] == "checkpoint" for e in RunReader(run_dir).events()))
            await pilot.pause(1.0)
            assert RunReader(run_dir).last_step() == held  # paused: no step was taken
            await pilot.press("left_square_bracket")  # history is browsable while paused
            await wait_for(pilot, lambda: app.view.step == held - 1)
            await pilot.press("p")
            await wait_for(pilot, lambda: app.status == "running", what="the engine to resume")
            await wait_for(pilot, lambda: app.progress.last_step > held + 1)
            await pilot.press("q")
            assert isinstance(app.screen, QuitScreen)
            await pilot.press("l")  # leave it running

        app = WatchApp(run_dir)
        asyncio.run(_drive(app, first))
        assert "re-attach with: osig watch" in app.return_value
        assert proc.poll() is None  # the engine outlives the monitor
        seen = RunReader(run_dir).last_step()

        async def second(pilot):
            app = pilot.app
            await ready(pilot)
            await wait_for(pilot, lambda: app.progress.last_step > seen, what="new steps after re-attaching")
            await pilot.press("s")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await wait_for(pilot, lambda: app.status == "stopped", what="the engine to stop")
            assert "stopped at step" in app.progress.reason
            await pilot.press("q")  # no longer live: quits without asking

        app = WatchApp(run_dir)
        asyncio.run(_drive(app, second))
        assert proc.wait(HANG_S) == 0
        assert RunReader(run_dir).status()[0] == "stopped"
        assert LC.stop_run(run_dir) == "stopped"  # stopping a stopped run is a no-op
    finally:
        if proc.poll() is None:
            proc.kill()


async def _drive(app, script):
    async with app.run_test(size=(100, 30)) as pilot:
        await script(pilot)
