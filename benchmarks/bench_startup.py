"""How fast the read-only commands start: wall time, CPU time and peak memory of `osig --help` & co.

Each command runs in a fresh interpreter under `/usr/bin/time -v` (wall, user + sys, max RSS), the
same way the `osig` entry point runs it, several times; the best of the repeats is printed (the
least disturbed by other processes). `python -X importtime` then names the slowest imports of
`osig --help` and whether torch or numpy were loaded at all.

With `--before DIR` (another checkout of osig, e.g. `git worktree add /tmp/before <commit>`) the two
trees are measured interleaved in this one process, so machine load hits both alike.

Usage: python benchmarks/bench_startup.py [--repeats 5] [--before DIR] [--run RUN_DIR]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY = "import sys; from osig_tui.cli import main; sys.argv = ['osig'] + sys.argv[1:]; main()"


def timed(src: Path, args: list[str], code: str = ENTRY) -> tuple[float, float, float]:
    """(wall s, cpu s, max RSS MB) of `osig ARGS` run from the source tree `src`."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "100"}
    with tempfile.NamedTemporaryFile("r", suffix=".time") as f:
        subprocess.run(["/usr/bin/time", "-v", "-o", f.name, sys.executable, "-c", code, *args], cwd=src, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        text = f.read()
    def field(name: str) -> str:
        return re.search(rf"{re.escape(name)}: (.+)", text).group(1).strip()
    h, m, s = (["0"] + field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"))[-3:]
    wall = int(h) * 3600 + int(m) * 60 + float(s)
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return wall, cpu, int(field("Maximum resident set size (kbytes)")) / 1024


def import_report(src: Path, args: list[str], top: int = 8) -> tuple[list[tuple[int, str]], bool, bool]:
    """The slowest top-level imports (cumulative µs) of `osig ARGS`, and whether torch / numpy loaded."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    p = subprocess.run([sys.executable, "-X", "importtime", "-c", ENTRY, *args], cwd=src, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    rows = []
    names = set()
    for line in p.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            names.add(m.group(4))
            if len(m.group(3)) == 1:  # imported by the program itself, not by another module
                rows.append((int(m.group(2)), m.group(4)))
    return sorted(rows, reverse=True)[:top], "torch" in names, "numpy" in names


def tiny_run(root: Path) -> Path:
    """A finished 20-step run to point ls/show/export/groups at (trained once; needs torch here only)."""
    import osig_core as osig
    cfg = osig.RunConfig(model="mlp", n=200, steps=20, lr=0.05, width=0.05, sharpness_every=10)
    return osig.train(cfg, root / "tiny").dir


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--before", type=Path, help="another osig checkout to compare with, interleaved")
    ap.add_argument("--run", type=Path, help="an existing run for ls/show/export/groups (default: train a tiny one)")
    a = ap.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("bench_startup needs GNU time: apt-get install time")
    tmp = Path(tempfile.mkdtemp(prefix="osig-startup-"))
    try:
        run = a.run or tiny_run(tmp)
        commands = [["--help"], ["run", "--help"], ["presets"], ["ls", str(run.parent)], ["show", str(run)],
                    ["export", str(run), str(tmp / "out.csv")], ["groups", str(run)]]
        trees = [("after", ROOT)] + ([("before", a.before.resolve())] if a.before else [])
        best: dict[tuple[str, str], tuple[float, float, float]] = {}
        for _ in range(a.repeats):
            for args in commands:
                for label, src in trees:  # interleaved: both trees see the same machine load
                    w, c, r = timed(src, args)
                    key = (label, " ".join(args[:1] + ["--help"] if "--help" in args[1:] else args[:1]))
                    old = best.get(key)
                    best[key] = (w, c, r) if old is None else (min(old[0], w), min(old[1], c), max(old[2], r))
        bare = min((timed(ROOT, [], "pass") for _ in range(a.repeats)), key=lambda t: t[0])
        print(f"best of {a.repeats} (wall and CPU: minimum; RSS: maximum); a bare `python -c pass`: "
              f"{bare[0]:.2f} s wall, {bare[1]:.2f} s CPU, {bare[2]:.0f} MB")
        print(f"{'command':<16}" + "".join(f"{lbl + ' wall':>14}{lbl + ' cpu':>13}{lbl + ' RSS':>13}" for lbl, _ in trees))
        for args in commands:
            name = " ".join(args[:1] + ["--help"] if "--help" in args[1:] else args[:1])
            cells = "".join(f"{best[(lbl, name)][0]:>12.2f} s{best[(lbl, name)][1]:>11.2f} s{best[(lbl, name)][2]:>10.0f} MB"
                            for lbl, _ in trees)
            print(f"osig {name:<11}{cells}")
        for label, src in trees:
            rows, torch_loaded, numpy_loaded = import_report(src, ["--help"])
            print(f"\n[{label}] osig --help imports torch: {torch_loaded}, numpy: {numpy_loaded}; slowest imports (cumulative):")
            for us, name in rows:
                print(f"  {us / 1000:8.1f} ms  {name}")
        w, c, r = best[("after", "--help")]
        verdict = "meets" if w <= 0.3 and r <= 80 else "misses"
        print(f"\nosig --help: {w:.2f} s wall, {r:.0f} MB -> {verdict} the target (<= 0.3 s, <= 80 MB)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
