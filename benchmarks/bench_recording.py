"""Cost of per-sample loss recording relative to the same full-batch GD step without it.

Both variants run interleaved in one process on the same model and data; the recording variant
includes the host copy, float16 rounding and the store write (row + SQLite commit).
Usage: python benchmarks/bench_recording.py [--model vgg11 --width 0.25 --n 1000 --reps 10]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import torch

import osig_core as osig
from osig_core.problem.passes import full_batch_gradient
from osig_core.components.build import build_data, build_model, build_optimizer, resolve_device, data_to
from osig_core.store import RunWriter


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="vgg11")
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--device", default="auto")
    a = ap.parse_args()
    cfg = osig.RunConfig(model=a.model, width=a.width, n=a.n, lr=0.05, device=a.device).validate()
    dev = resolve_device(cfg.device)
    data = data_to(build_data(cfg), dev)
    model = build_model(cfg, data).to(dev)
    opt = build_optimizer(cfg, model)
    loss = data.loss
    tmp = tempfile.mkdtemp()
    w = RunWriter(tmp, data.n)
    w.acquire_lock()
    w.create({"format_version": 1, "config": cfg.to_dict(), "n": data.n})

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def bare(step):
        opt.zero_grad(set_to_none=True)
        full_batch_gradient(model, data.x, data.y, loss=loss, label_smoothing=0.0, chunk_size=cfg.chunk_size, record=False)
        opt.step()
        sync()

    def recording(step):
        opt.zero_grad(set_to_none=True)
        res = full_batch_gradient(model, data.x, data.y, loss=loss, label_smoothing=0.0, chunk_size=cfg.chunk_size)
        row = res.losses.cpu().numpy().astype(np.float16)
        preds = res.preds.cpu().numpy()
        opt.step()
        w.write_step(step, {"train_loss": float(row.astype(np.float32).mean())}, losses=row, preds=preds)
        sync()

    bare(0), recording(0)  # warm up
    tb, tr = [], []
    for i in range(a.reps):
        for fn, acc in ((bare, tb), (recording, tr)) if i % 2 == 0 else ((recording, tr), (bare, tb)):
            t0 = time.perf_counter()
            fn(i + 1)
            acc.append(time.perf_counter() - t0)
    mb, mr = statistics.median(tb), statistics.median(tr)
    print(f"device: {dev} ({torch.get_num_threads()} threads)  model: {a.model} width {a.width}  n={a.n}")
    print(f"GD step without recording: {mb * 1e3:8.1f} ms (median of {a.reps})")
    print(f"GD step with recording:    {mr * 1e3:8.1f} ms")
    print(f"ratio recording/bare:      {mr / mb:8.3f}  (goal <= 1.05)")
    w.close()


if __name__ == "__main__":
    main()
