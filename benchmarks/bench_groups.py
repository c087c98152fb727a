"""Per-step cost of the group detector against the cost of one training step.

    python benchmarks/bench_groups.py                 # N = 1,000 and 50,000, step time measured
    python benchmarks/bench_groups.py --step-ms 120   # compare with a step time you measured

Loss rows are hand-made (osig_core.groups.synth: three planted pairs plus noise), so the
detector does its full work (pairs found and tracked every step). The training step is a full-batch
forward+backward+SGD update of the default MLP (3072-256-256-10) measured on min(N, 2000) samples
and scaled linearly to N (a full-batch step is linear in N), unless --step-ms is given.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from osig_core.groups.extremes import clean_delta, top_k_extremes
from osig_core.groups.detector import GroupDetector
from osig_core.groups.synth import PlantedPair, make_losses


def mlp_step_ms(n: int, repeats: int = 5) -> float:
    """Milliseconds of one full-batch GD step of the default MLP on n CIFAR-shaped samples."""
    import torch
    m = min(n, 2000)
    x, y = torch.randn(m, 3072), torch.randint(0, 10, (m,))
    net = torch.nn.Sequential(torch.nn.Linear(3072, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                              torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(net(x), y, reduction="none")
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times[1:])) * n / m


def bench(n: int, steps: int, k: int, window: int) -> dict[str, float]:
    side = max(30, n // 200)
    pairs = [PlantedPair("p2", 2, (0, 2), side=side), PlantedPair("p4", 4, (1, 9), side=side, phase=0.7),
             PlantedPair("p6", 6, (4, 5), side=side, phase=2.0)]
    s = make_losses(n, steps, pairs, seed=0)
    det = GroupDetector(n, s.labels, s.classes, k=k, window=window)
    full, extremes = [], []
    for t in range(1, steps):
        t0 = time.perf_counter()
        r = det.update(t, s.losses[t - 1], s.losses[t], s.preds[t - 1], s.preds[t])
        full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        top_k_extremes(clean_delta(s.losses[t - 1], s.losses[t]), k)
        extremes.append(time.perf_counter() - t0)
    steady = slice(window, None)  # after the window has filled
    return {"full_ms": 1e3 * float(np.median(full[steady])), "max_ms": 1e3 * float(np.max(full[steady])),
            "extremes_ms": 1e3 * float(np.median(extremes[steady])), "pairs": len(r.pairs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 50000])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--k", type=int, default=24)
    ap.add_argument("--window", type=int, default=20)
    ap.add_argument("--step-ms", type=float, default=None, help="training step time to compare with (ms)")
    args = ap.parse_args()
    print(f"{'N':>7} {'detect ms':>10} {'max ms':>8} {'extremes ms':>12} {'pairs':>5} {'step ms':>9} {'detect/step':>12}")
    for n in args.n:
        r = bench(n, args.steps, args.k, args.window)
        step = args.step_ms if args.step_ms is not None else mlp_step_ms(n)
        print(f"{n:>7} {r['full_ms']:>10.2f} {r['max_ms']:>8.2f} {r['extremes_ms']:>12.3f} {r['pairs']:>5} "
              f"{step:>9.1f} {r['full_ms'] / step:>12.3f}")


if __name__ == "__main__":
    main()
