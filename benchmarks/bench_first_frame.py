"""Seconds from starting `osig watch RUN` on a finished run to its first complete dashboard.

A fresh interpreter runs `osig watch RUN` through the CLI entry point, except that the app runs
headless (App.run_test instead of App.run) until the dashboard
shows the run's last step with its pairs, and the screen has nothing left to paint. Measured from
before the interpreter starts, so imports count. The run is a RunWriter-made 300-step run of 2,000
samples (the default job's size) unless --run names one.

With `--before DIR` (another checkout) both trees are measured interleaved in this one process.

Usage: python benchmarks/bench_first_frame.py [--repeats 5] [--run RUN] [--before DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import asyncio, json, sys, time
t_imports = time.time()
RUN, LAST = sys.argv[1], int(sys.argv[2])
from osig_tui.cli import main as osig_main
from osig_tui.app import WatchApp
from osig_tui.screens.dashboard import DashboardScreen
from osig_tui.widgets.pairs import PairsTable
result = {}

def pending(app):
    s = app.screen
    if s._dirty_widgets or s._repaint_required or s._layout_required:
        return True
    return any(w._repaint_required or w._layout_required for w in s.walk_children())

async def drive(app, last):
    async with app.run_test(size=(120, 36)) as pilot:
        while not (app.view is not None and app.progress is not None and app.view.step == last
                   and isinstance(app.screen, DashboardScreen) and app.screen.query_one(PairsTable).row_count > 0):
            await asyncio.sleep(0.002)
        quiet = 0
        while quiet < 2:
            await asyncio.sleep(0.001)
            quiet = 0 if pending(app) else quiet + 1
        result["done"] = time.time()

def headless_run(self, *args, **kwargs):  # `osig watch` calls app.run(); here it runs headless instead
    result["app_start"] = time.time()
    asyncio.run(drive(self, LAST))

WatchApp.run = headless_run
sys.argv = ["osig", "watch", RUN, "--images", "halfcell"]
try:
    osig_main()
except SystemExit:
    pass
print(json.dumps({"imports_start": t_imports, "app_start": result["app_start"], "done": result["done"],
                  "torch": "torch" in sys.modules}))
"""


def measure(src: Path, run_dir: Path, last: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0 = time.time()
    p = subprocess.run([sys.executable, "-c", CHILD, str(run_dir), str(last)], cwd=src, env=env,
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    r = json.loads(p.stdout.strip().splitlines()[-1])
    return {"first_frame_s": r["done"] - t0, "imports_s": r["app_start"] - r["imports_start"],
            "app_s": r["done"] - r["app_start"], "torch": r["torch"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--run", type=Path, help="a finished run (default: build a 2,000 x 300 one)")
    ap.add_argument("--before", type=Path, help="another osig checkout to compare with, interleaved")
    a = ap.parse_args()
    if a.run is None:  # written by the oldest tree compared, so that every tree can read it
        src = (a.before or ROOT).resolve()
        a.run = Path(tempfile.mkdtemp(prefix="osig-ff-")) / "run"
        code = (f"import sys; sys.path.insert(0, {str(src / 'tests')!r}); from fixtures.synthetic_run import write_run; "
                f"write_run({str(a.run)!r}, n=2000, steps=300, k=24)")
        subprocess.run([sys.executable, "-c", code], cwd=src, env={**os.environ, "PYTHONPATH": str(src)}, check=True)
    from osig_core.store.reader import RunReader
    r = RunReader(a.run)
    last = r.last_step()
    r.close()
    trees = [("after", ROOT)] + ([("before", a.before.resolve())] if a.before else [])
    got: dict[str, list[dict]] = {label: [] for label, _ in trees}
    for _ in range(a.repeats):
        for label, src in trees:
            got[label].append(measure(src, a.run, last))
    print(f"run {a.run} (last step {last}); load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; best and median of {a.repeats}")
    for label, rows in got.items():
        ff = [x["first_frame_s"] for x in rows]
        print(f"[{label}] first complete frame: best {min(ff):.2f} s, median {statistics.median(ff):.2f} s "
              f"(imports {min(x['imports_s'] for x in rows):.2f} s, app {min(x['app_s'] for x in rows):.2f} s; "
              f"torch loaded: {rows[0]['torch']})")


if __name__ == "__main__":
    main()
