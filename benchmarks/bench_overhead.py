"""What leaving the curvature instruments on costs: the same training with and without them.

Both configurations run in ONE process, interleaved (bare, instrumented, bare, instrumented, ...),
so a busy machine slows both alike; the ratio of the median run times (wall clock, and this
process's CPU time, steadier on a shared machine) is printed per job:
  - the README's default job, `osig run --sharpness-every 10` (MLP, synthetic n=2000, full-batch GD),
    against the same `osig run` with sharpness off (per-sample losses and groups recorded in both);
  - VGG-11 at width 1/4, n=1000, GD, sharpness every 10, against the same without (300 steps, the
    length of a default run; the cold first estimate is paid once per run);
  - the headline `osig run --model vgg11 --optim gd` (its CPU defaults: width 1/8, n=500, sharpness
    every 10) against the same with --sharpness-every 0.
For the instrumented runs it also prints where the time went (sharpness, per-sample curvature), the
HVPs per estimate and the stored error bars (eig_bound, eig_converged).
Usage: python benchmarks/bench_overhead.py [--quick] [--rounds 2] [--threads 1] [--vgg-steps 300]
       [--only mlp,vgg,headline]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict

import numpy as np
import torch

import osig_core as osig
from osig_core.engine import training as engine_module

TIMES: dict[str, float] = defaultdict(float)


def _timed_instruments():
    """Wrap each instrument's measure() so the benchmark can say where the time went."""
    build = engine_module.instruments_for

    def wrapped(*args, **kwargs):
        instruments = build(*args, **kwargs)
        for inst in instruments:
            measure = inst.measure

            def timed(ctx, measure=measure, name=inst.name):
                start = time.perf_counter()
                out = measure(ctx)
                TIMES[name] += time.perf_counter() - start
                return out
            inst.measure = timed
        return instruments
    engine_module.instruments_for = wrapped


def run_once(cfg: osig.RunConfig) -> tuple[tuple[float, float], dict, dict]:
    TIMES.clear()
    with tempfile.TemporaryDirectory() as d:
        start, cpu = time.perf_counter(), time.process_time()
        run = osig.train(cfg, f"{d}/run")
        seconds = (time.perf_counter() - start, time.process_time() - cpu)
        metrics = {k: np.asarray(v) for k, v in run.metrics().items()}
    return seconds, metrics, dict(TIMES)


def summary(metrics: dict) -> str:
    lam = metrics.get("sharpness")
    if lam is None:
        return "no sharpness stored"
    ok = np.isfinite(lam)
    hvps = metrics["eig_hvps"][ok]
    parts = [f"{int(ok.sum())} estimates", f"HVPs/estimate mean {hvps.mean():.2f} (first {hvps[0]:.0f}, "
             f"later {hvps[1:].mean() if len(hvps) > 1 else float('nan'):.2f}, total {hvps.sum():.0f})"]
    if "eig_bound" in metrics:
        rel = metrics["eig_bound"][ok] / np.abs(lam[ok])
        parts.append(f"relative bound median {np.median(rel):.1e} max {rel.max():.1e}")
        parts.append(f"converged to --sharpness-tol {int(metrics['eig_converged'][ok].sum())}/{int(ok.sum())}")
    else:
        parts.append(f"eig_residual max {metrics['eig_residual'][ok].max():.1e} (no certified bound stored)")
    return "; ".join(parts)


def compare(label: str, bare: osig.RunConfig, instrumented: osig.RunConfig, rounds: int) -> float:
    times: dict[str, list[tuple[float, float]]] = {"bare": [], "instrumented": []}
    spent: dict[str, float] = defaultdict(float)
    metrics: dict = {}
    for _ in range(rounds):
        for name, cfg in (("bare", bare), ("instrumented", instrumented)):
            seconds, m, where = run_once(cfg)
            times[name].append(seconds)
            if name == "instrumented":
                metrics = m
                for k, v in where.items():
                    spent[k] += v / rounds
    b, i = (statistics.median(w for w, _ in times[k]) for k in ("bare", "instrumented"))
    b_cpu, i_cpu = (statistics.median(c for _, c in times[k]) for k in ("bare", "instrumented"))
    print(f"\n## {label}\n")
    for name, runs in times.items():
        print(f"{name} runs, wall (CPU) s: {', '.join(f'{w:.1f} ({c:.1f})' for w, c in runs)}")
    shares = ", ".join(f"{k} {v:.1f} s ({100 * v / i:.0f}% of the run)" for k, v in sorted(spent.items()))
    print(f"instrument wall time per instrumented run: {shares or 'none'}")
    print(f"sharpness: {summary(metrics)}")
    print(f"**ratio instrumented / bare: {i / b:.2f}x wall, {i_cpu / b_cpu:.2f}x CPU**")
    return i / b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 MLP steps, 100 VGG steps, one round")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median over rounds)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (1 gives stable ratios on a shared machine)")
    ap.add_argument("--mlp-steps", type=int, default=300, help="the default job's 300 steps")
    ap.add_argument("--vgg-steps", type=int, default=300, help="steps of both VGG jobs (a default run's 300)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--only", default="mlp,vgg,headline", help="comma-separated jobs: mlp, vgg, headline")
    a = ap.parse_args()
    if a.quick:
        a.mlp_steps, a.vgg_steps, a.rounds = 100, 100, 1
    jobs = set(a.only.split(","))
    torch.set_num_threads(a.threads)
    _timed_instruments()
    print(f"device {a.device} ({a.threads} CPU thread(s)), torch {torch.__version__}; "
          f"bare = the same run with --sharpness-every 0")
    common = dict(device=a.device, checkpoint_every=0)
    ratios = {}
    if "mlp" in jobs:
        mlp = osig.RunConfig(steps=a.mlp_steps, **common)
        ratios["MLP default job"] = compare(f"MLP default job (osig run --sharpness-every 10, {a.mlp_steps} steps)",
                                            mlp, mlp.replace(sharpness_every=10), a.rounds)
    if "vgg" in jobs:
        vgg = osig.RunConfig(model="vgg11", width=0.25, n=1000, optim="gd", steps=a.vgg_steps, **common)
        ratios["VGG-11 1/4 n=1000"] = compare(f"VGG-11 width 1/4, n=1000, GD, sharpness every 10, {a.vgg_steps} steps",
                                             vgg, vgg.replace(sharpness_every=10), a.rounds)
    if "headline" in jobs:
        from osig_core.config.run_config import cpu_model_defaults
        head = osig.RunConfig(model="vgg11", optim="gd", steps=a.vgg_steps, **{**cpu_model_defaults("vgg11", "cpu"), **common})
        ratios["osig run --model vgg11 --optim gd"] = compare(
            f"the headline run (vgg11, GD, its CPU defaults, {a.vgg_steps} steps)",
            head.replace(sharpness_every=0), head, a.rounds)
    print("\n| job | instrumented / bare |\n|---|---:|")
    for k, v in ratios.items():
        print(f"| {k} | {v:.2f}x |")


if __name__ == "__main__":
    main()
