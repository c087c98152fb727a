"""ResNet-18 full-batch GD throughput on 50,000 CIFAR-shaped images against the device's FLOP bound.

Counts the FLOPs of one training pass (forward + backward) with torch's FlopCounterMode, times
full-batch GD steps through the engine's own gradient pass, and reports samples/s and the fraction
of the device's peak achieved. Needs a GPU for meaningful numbers (runs on CPU with --n small).
Usage: python benchmarks/bench_gpu_resnet.py [--n 50000 --chunk 2500 --precision bf16 --steps 3]
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

import osig_core as osig
from osig_core.problem.passes import full_batch_gradient
from osig_core.components.build import build_data, build_model, data_to, resolve_device

# dense peak TFLOP/s by device-name fragment: (fp32 or tf32 as used, bf16)
PEAKS = {"H100": (494.7, 989.4), "H200": (494.7, 989.4), "A100": (156.0, 312.0), "L4": (60.0, 121.0)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--chunk", type=int, default=2500)
    ap.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--width", type=float, default=1.0)
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    cfg = osig.RunConfig(model="resnet18", width=a.width, n=a.n, chunk_size=a.chunk, precision=a.precision).validate()
    dev = resolve_device("auto")
    data = data_to(build_data(cfg), dev)
    model = build_model(cfg, data).to(dev)
    with FlopCounterMode(display=False) as fc:
        full_batch_gradient(model, data.x[:64], data.y[:64], loss="ce", label_smoothing=0.0, chunk_size=64,
                            precision=a.precision, record=False)
    flops_per_sample = fc.get_total_flops() / 64
    model.zero_grad(set_to_none=True)

    def step():
        model.zero_grad(set_to_none=True)
        full_batch_gradient(model, data.x, data.y, loss="ce", label_smoothing=0.0, chunk_size=a.chunk,
                            precision=a.precision, record=True)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-0.01)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    step()  # warm up (cudnn autotune, allocator)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = (time.perf_counter() - t0) / a.steps
    sps = a.n / dt
    achieved = flops_per_sample * sps / 1e12
    name = torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"
    peak = next((v for k, v in PEAKS.items() if k in name), None)
    print(f"device: {name}; ResNet-18 (width {a.width}), N={a.n}, chunk {a.chunk}, {a.precision}")
    print(f"training FLOPs per sample: {flops_per_sample / 1e9:.2f} GFLOP")
    print(f"full-batch GD step: {dt:.2f} s  ->  {sps:,.0f} samples/s, {achieved:.1f} TFLOP/s")
    if peak:
        p = peak[1] if a.precision == "bf16" else peak[0]
        print(f"fraction of the device's dense {a.precision} peak ({p} TFLOP/s): {achieved / p:.1%}")


if __name__ == "__main__":
    main()
