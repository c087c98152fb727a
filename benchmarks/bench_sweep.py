"""What `osig sweep` adds: the same members run by the sweep and by `osig run` one after another.

Both ways run as child processes of this one process, interleaved (sequential, sweep, sweep,
sequential, ...), and each is measured in CPU seconds of its finished children (getrusage
RUSAGE_CHILDREN: the sweep's own process and every member it ran, or the `osig run`s). The sweep runs
with --jobs 1 --threads 1 and the `osig run`s with one thread, so both do the same training; what
differs is the sweep's bookkeeping (checking the grid, sweep.json, polling the members' stores); the
sweep process's own CPU (its members excluded) is printed too, the same figure without their noise.
Then `osig compare` is timed the same way on 10 finished 300-step runs (written by the test fixture
as the engine stores them, n = 2000) and on the sweep's own members.

Usage: python benchmarks/bench_sweep.py [--rounds 2] [--steps 100] [--n 500] [--quick] [--real] [--keep]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# `osig ARGS` as the entry point runs it, then its own CPU seconds (without its children) on stderr's last line
SELF = """
import resource, sys
from osig_tui.cli import main
sys.argv = ["osig"] + sys.argv[1:]
try:
    main()
finally:
    u = resource.getrusage(resource.RUSAGE_SELF)
    sys.stderr.write(f"\\nself-cpu {u.ru_utime + u.ru_stime}\\n")
"""
LAST_SELF = [0.0]


def children_cpu(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float]:
    """(CPU seconds of the command and its descendants, wall seconds); LAST_SELF: the command's own."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_SELF[0] = float(p.stderr.strip().splitlines()[-1].split()[-1])
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def osig(*args: str) -> list[str]:
    return [sys.executable, "-c", SELF, *args]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--quick", action="store_true", help="one round of 30-step members (a smoke test)")
    ap.add_argument("--keep", action="store_true", help="keep the runs (default: removed at the end)")
    ap.add_argument("--real", action="store_true", help="also compare 10 copies of the README's default job "
                    "(`osig run --sharpness-every 10`: 300 steps, n=2000; trained once, about a minute)")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.steps = 1, 30
    from osig_core.sweeps.grid import members, parse_grid
    grid_args = ["--model", "mlp", "--n", str(a.n), "--steps", str(a.steps), "--sharpness-every", "10",
                 "--lr", "0.01,0.02", "--optim", "gd,adam"]
    grid = parse_grid({"model": "mlp", "n": str(a.n), "steps": str(a.steps), "sharpness_every": "10",
                       "lr": "0.01,0.02", "optim": "gd,adam"})
    ms = members(grid)
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    try:
        measure(a, grid, grid_args, ms, tmp)
    finally:
        if a.keep:
            print(f"runs kept in {tmp}")
        else:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)


def measure(a, grid, grid_args: list[str], ms: list, tmp: Path) -> None:
    from osig_core.sweeps.grid import run_argv
    seq_cpu, sweep_cpu, sweep_dirs, own = [], [], [], []
    print(f"{len(ms)} members ({grid.describe()}), MLP n={a.n}, {a.steps} steps, sharpness every 10; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for r in range(a.rounds):
        order = ("seq", "sweep") if r % 2 == 0 else ("sweep", "seq")
        for way in order:
            if way == "seq":
                cpu = wall = 0.0
                for m in ms:
                    c, w = children_cpu(osig("run", *run_argv(m.flags, None), "--run-dir", str(tmp / f"seq{r}" / m.name),
                                             "--quiet"), tmp, ONE_THREAD)
                    cpu, wall = cpu + c, wall + w
                seq_cpu.append(cpu)
            else:
                d = tmp / f"sweep{r}"
                cpu, wall = children_cpu(osig("sweep", *grid_args, "--sweep-dir", str(d), "--jobs", "1", "--threads", "1"), tmp)
                sweep_cpu.append(cpu)
                sweep_dirs.append(d)
                own.append(LAST_SELF[0])
            print(f"  round {r + 1} {way:5s}: {cpu:6.1f} s CPU ({wall:.1f} s wall)")
    ratio = statistics.median(sweep_cpu) / statistics.median(seq_cpu)
    print(f"sweep / one after another (median CPU): {ratio:.3f}  "
          f"({statistics.median(sweep_cpu) - statistics.median(seq_cpu):+.2f} s on {statistics.median(seq_cpu):.1f} s)")
    print(f"the sweep process itself (start-up, grid check, sweep.json, polling; members excluded): "
          f"{statistics.median(own):.2f} s CPU = {statistics.median(own) / statistics.median(seq_cpu):.1%} of the members' CPU")

    from fixtures.synthetic_run import write_run
    runs = [write_run(tmp / "cmp" / f"run{i}", n=2000, steps=300, seed=i) for i in range(10)]
    sets = [("10 fixture runs of 300 steps, n=2000", runs), (f"the sweep's {len(ms)} members", [sweep_dirs[-1]])]
    if a.real:
        import shutil
        children_cpu(osig("run", "--sharpness-every", "10", "--run-dir", str(tmp / "real" / "run0"), "--quiet"), tmp)
        for i in range(1, 10):
            shutil.copytree(tmp / "real" / "run0", tmp / "real" / f"run{i}")
        sets.append(("10 copies of the default job (300 steps, n=2000)", [tmp / "real" / f"run{i}" for i in range(10)]))
    for label, paths in sets:
        for extra in ([], ["--json"]):
            cpus = [children_cpu(osig("compare", *map(str, paths), *extra), tmp)[0] for _ in range(3)]
            print(f"osig compare {' '.join(extra) or '(table)':8s} on {label}: {min(cpus):.2f} s CPU (best of 3; median {statistics.median(cpus):.2f})")
    cpus = [children_cpu(osig("compare", *map(str, runs), "--png", str(tmp / "c.png")), tmp)[0] for _ in range(2)]
    print(f"osig compare --png on the 10 fixture runs: {min(cpus):.2f} s CPU (matplotlib included)")


if __name__ == "__main__":
    main()
