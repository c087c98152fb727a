"""1 vs 2 CPU processes for full-batch GD (same total cores): steps/s of `osig run` and `--nproc 2`.
Usage: python benchmarks/bench_distributed.py [--model mlp --n 4000 --steps 40]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

import osig_core as osig


def run(n_proc: int, a, root: str) -> float:
    d = os.path.join(root, f"p{n_proc}")
    env = dict(os.environ, OMP_NUM_THREADS=str(max(1, 2 // n_proc)))
    cmd = [sys.executable, "-m", "osig_tui.cli", "run", "--model", a.model, "--width", str(a.width), "--n", str(a.n),
           "--steps", str(a.steps), "--run-dir", d, "--quiet", "--no-groups", "--eval-every", "0", "--nproc", str(n_proc)]
    subprocess.run(cmd, env=env, check=True)
    m = osig.open_run(d).metrics()
    return float(np.median(m["step_time"][2:]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--steps", type=int, default=40)
    a = ap.parse_args()
    root = tempfile.mkdtemp()
    t1, t2 = run(1, a, root), run(2, a, root)
    print(f"device: cpu ({os.cpu_count()} cores)  model {a.model} width {a.width} n={a.n}")
    print(f"1 process x 2 threads: {t1 * 1e3:7.1f} ms/step")
    print(f"2 processes x 1 thread: {t2 * 1e3:7.1f} ms/step   (speed-up {t1 / t2:.2f}x)")


if __name__ == "__main__":
    main()
