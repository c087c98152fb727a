"""What an HVP costs, in training steps: alone, and fused into the step's own gradient pass.

For one model at its initial weights, one process, interleaved rounds, medians (1 CPU thread by
default): the full-batch gradient pass of a GD step (the unit), a standalone HVP by each method
(osig_core.instruments.hvp.LossHessian), and the step's pass with 1-3 products fused into it
(osig_core.problem.passes.full_batch_gradient(tangents=...)). The fused pass's extra over the unit is what a
sharpness estimate pays for its first product; these figures set HVP_COST in
osig_core/instruments/sharpness_budget.py.
Usage: python benchmarks/bench_fused_hvp.py [--model mlp|vgg11] [--width 0.25] [--n 2000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

import osig_core as osig
from osig_core.instruments.hvp import LossHessian, trainable
from osig_core.problem.passes import full_batch_gradient
from osig_core.components.build import build_data, build_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--width", type=float, default=None)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = osig.RunConfig(model=a.model, width=a.width, n=a.n, optim="gd")
    data = build_data(cfg)
    model = build_model(cfg, data)
    dim = sum(p.numel() for _, p in trainable(model))
    block = torch.randn(3, dim, generator=torch.Generator().manual_seed(0))
    kw = dict(loss=data.loss, label_smoothing=0.0, chunk_size=cfg.chunk_size)

    def step(rows: int | None):
        model.zero_grad(set_to_none=True)
        full_batch_gradient(model, data.x, data.y, tangents=None if rows is None else block[:rows], **kw)

    ops = {m: LossHessian(model, data.x, data.y, data.loss, 0.0, cfg.chunk_size, m) for m in ("double-backward", "fwd-rev")}
    cases = {"gradient pass (the unit)": lambda: step(None)}
    cases.update({f"HVP alone, {m}": (lambda op=op: op.hvp(block[0])) for m, op in ops.items()})
    cases.update({f"pass + {r} fused product(s)": (lambda r=r: step(r)) for r in (1, 2, 3)})
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(a.rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    unit = statistics.median(times["gradient pass (the unit)"])
    print(f"{a.model} (width {cfg.resolved_width('cpu')}, n={data.n}, {dim} parameters), {a.threads} thread(s), "
          f"median of {a.rounds}\n\n| pass | seconds | training steps | extra over the step |\n|---|---:|---:|---:|")
    for name, values in times.items():
        t = statistics.median(values)
        extra = f"{t / unit - 1:.2f}" if "pass" in name and "unit" not in name else ""
        print(f"| {name} | {t:.3f} | {t / unit:.2f} | {extra} |")


if __name__ == "__main__":
    main()
