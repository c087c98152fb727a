"""The read-only commands start at once: `osig --help`, `run --help`, `ls`, `show`, `export`, `groups`,
`presets` and attaching the monitor to an existing run never load torch (3-4 s and 650 MB before
they print anything). Each command runs in a fresh interpreter, as the `osig` entry point runs it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.light_cli import HEAVY, run_light
from fixtures.synthetic_run import write_run
from fixtures.waiting import HANG_S

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("startup") / "tiny", n=60, steps=12)


def osig(*args: str, cwd: Path) -> dict:
    return run_light(*args, cwd=cwd)


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["watch", "--help"], ["presets"],
                                  ["ls", "{root}"], ["show", "{run}"], ["export", "{run}", "{tmp}/out.csv"],
                                  ["export", "{run}", "{tmp}/out.npz", "--losses"], ["groups", "{run}"],
                                  ["groups", "{run}", "--all", "--json"]])
def test_read_only_commands_load_no_torch(args, run_dir, tmp_path):
    filled = [a.format(root=run_dir.parent, run=run_dir, tmp=tmp_path) for a in args]
    r = osig(*filled, cwd=tmp_path)
    assert r["code"] in (0, None), r["out"]
    assert r["heavy"] == [], f"`osig {' '.join(args)}` loaded {r['heavy']}"


def test_help_still_lists_every_command_and_flag_panel(tmp_path):
    top = osig("--help", cwd=tmp_path)["out"]
    for command in ("run", "ls", "show", "export", "groups", "eval-groups", "watch", "presets", "report", "reproduce"):
        assert f" {command} " in top
    run = osig("run", "--help", cwd=tmp_path)["out"]
    for text in ("What to train", "How to train", "What to record", "--sharpness-every", "--compile/--no-compile",
                 "--quiet", "-q", "Estimate the sharpness every K steps"):
        assert text in run, text
    watch = osig("watch", "--help", cwd=tmp_path)["out"]
    assert "[default: auto]" in watch and "Monitor" in watch


def test_attaching_the_monitor_to_a_finished_run_loads_no_torch(run_dir, tmp_path):
    code = f"""
import asyncio, sys
sys.path.insert(0, {str(TESTS)!r})
from fixtures.tui_pilot import ready
from osig_tui.commands_watch import watch_impl  # the command's module, as `osig watch RUN` loads it
from osig_tui.app import WatchApp

async def main():
    app = WatchApp({str(run_dir)!r}, image_mode="halfcell")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
asyncio.run(main())
print(sorted(m for m in sys.modules if m in {HEAVY!r}))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=HANG_S)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "[]"
