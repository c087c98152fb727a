"""Storage at scale: a run of N = 50,000 samples and 10,000 recorded steps (1 GB of float16 losses),
written synthetically with the real RunWriter, then read: one step's row, one sample's and one
group's full history (cold-ish: first read after writing; warm: repeated).
Usage: python benchmarks/bench_store.py [--n 50000 --steps 10000 --dir /tmp/osig_bench_store]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

import osig_core as osig
from osig_core.store import RunWriter


def build(path: Path, n: int, steps: int) -> float:
    if path.exists():
        shutil.rmtree(path)
    w = RunWriter(path, n)
    w.acquire_lock()
    w.create({"format_version": 1, "config": osig.RunConfig(n=n, steps=steps).to_dict(), "n": n,
              "classes": [str(i) for i in range(10)]})
    w.write_samples(np.arange(n) % 10, None, None, {})
    rng = np.random.default_rng(0)
    base = rng.random(n, dtype=np.float32) * 2
    t0 = time.perf_counter()
    for s in range(steps):
        row = base * (1 - s / (steps * 1.5)) + 0.01 * rng.standard_normal(n, dtype=np.float32)
        w.write_step(s, {"train_loss": float(row.mean())}, losses=row, preds=None)
    w.set_meta(status="finished")
    w.close()
    return time.perf_counter() - t0


def timed(fn, reps=20) -> float:
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--dir", default="/tmp/osig_bench_store")
    a = ap.parse_args()
    path = Path(a.dir)
    wt = build(path, a.n, a.steps)
    run = osig.open_run(path)
    rng = np.random.default_rng(1)
    group = rng.choice(a.n, 48, replace=False)
    t_open = timed(lambda: osig.open_run(path).losses(), 5)
    first_sample = timed(lambda: run.loss_history([12345 % a.n]), 1)
    row = timed(lambda: np.asarray(run.losses()[rng.integers(a.steps)], np.float32))
    sample = timed(lambda: run.loss_history([int(rng.integers(a.n))]))
    grp = timed(lambda: run.loss_history(group))
    naive = timed(lambda: np.asarray(run.losses()[:, int(rng.integers(a.n))], np.float32), 3)
    print(f"N={a.n} steps={a.steps}: {a.n * a.steps * 2 / 1e9:.2f} GB of float16; written in {wt:.1f} s "
          f"({a.steps / wt:.0f} steps/s)")
    print(f"open + map:                 {t_open * 1e3:7.2f} ms")
    print(f"one step's row:             {row * 1e3:7.2f} ms   (goal < 5 ms)")
    print(f"one sample's history:       {sample * 1e3:7.2f} ms   (goal < 50 ms; first read {first_sample * 1e3:.1f} ms)")
    print(f"one group's history (48):   {grp * 1e3:7.2f} ms   (goal < 50 ms)")
    print(f"naive column of the rows:   {naive * 1e3:7.2f} ms   (ratio naive/blocked {naive / sample:.1f}x)")


if __name__ == "__main__":
    main()
