"""How close the stored sharpness is to the true top Hessian eigenvalue, and whether its band holds.

Trains full-batch GD trajectories at the edge of stability (period-2 oscillation), one with a
catapult (a step size above 2/λ at the start), with a checkpoint at every estimate, then compares each
stored value with an independent reference at that checkpoint:
- tiny MLP and CNN: the exact Hessian (torch.func.hessian in float64, eigvalsh);
- the README's default job and VGG-11 at width 1/8 (`--full`): Lanczos in float64 from a random start
  run to a relative residual of 1e-8 (the top of a cold run that has converged).
For every trajectory: estimates, HVPs per estimate after the first, median and worst relative error
of the stored value, band coverage (the reference inside [sharpness, sharpness_upper]), median band
width, and the cost ratio: the same run with sharpness off, both timed in this process, interleaved.

    python benchmarks/bench_sharpness_accuracy.py            # tiny trajectories (about two minutes)
    python benchmarks/bench_sharpness_accuracy.py --full     # + default job and VGG-11 1/8 (long)
    python benchmarks/bench_sharpness_accuracy.py --only mlp-eos --set sharpness_cheap_tol=0.05
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.func import functional_call

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import osig_core as osig  # noqa: E402
from osig_core.instruments.hvp import LossHessian, flatten, trainable, unflatten  # noqa: E402
from osig_core.instruments.lanczos import lanczos_top  # noqa: E402
from osig_core.problem.losses import per_sample_loss  # noqa: E402


def tiny_npz(path: Path, n: int = 96, side: int = 10, channels: int = 1, classes: int = 4, seed: int = 0) -> str:
    """A small deterministic image set: class templates plus noise (learnable, not trivially)."""
    rng = np.random.default_rng(seed)
    templates = rng.normal(0, 1, (classes, channels, side, side))
    y = np.arange(n) % classes
    x = 2.0 * (templates[y] + rng.normal(0, 1, (n, channels, side, side)))
    np.savez(path, x=x.astype(np.float32), y=y.astype(np.int64))
    return f"npz:{path}"


def trajectories(tmp: Path, full: bool) -> dict[str, osig.RunConfig]:
    mlp_data = tiny_npz(tmp / "mlp.npz")
    cnn_data = tiny_npz(tmp / "cnn.npz", n=64, side=8, channels=3, classes=3, seed=1)
    common = dict(optim="gd", groups=False, device="cpu")
    out = {
        # a 4-class MLP of 559 parameters under MSE: the first steps catapult (sharpness 13.6 > 2/eta = 10),
        # then it sharpens back up to 2/eta and oscillates there
        "mlp-eos": osig.RunConfig(model="mlp", data=mlp_data, width=0.02, loss="mse", lr=0.2, steps=100,
                                  sharpness_every=5, checkpoint_every=5, **common),
        # the same at a larger step: catapult, then it hovers above 2/eta = 4 with period-2 oscillation
        "mlp-catapult": osig.RunConfig(model="mlp", data=mlp_data, width=0.02, loss="mse", lr=0.5, steps=100,
                                       sharpness_every=5, checkpoint_every=5, **common),
        # a small CNN (cross-entropy) that sharpens to 2/eta = 20 and falls away as the loss vanishes
        "cnn-eos": osig.RunConfig(model="cnn", data=cnn_data, width=0.05, lr=0.1, steps=80, sharpness_every=5,
                                  checkpoint_every=5, **common),
    }
    if full:  # references every `ref_every` steps: a converged Lanczos in float64 is slow on these
        out["default-job"] = osig.RunConfig(steps=300, sharpness_every=10, checkpoint_every=30, groups=False)
        out["vgg11-1/8"] = osig.RunConfig(model="vgg11", optim="gd", width=0.125, head_scale=0.3, n=500, lr=0.02,
                                          steps=150, sharpness_every=10, checkpoint_every=20, groups=False)
    return out


def exact_top(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str) -> float:
    net = model.double()
    names = [n for n, _ in trainable(net)]
    like = [p.detach() for _, p in trainable(net)]

    def mean_loss(flat):
        out = functional_call(net, dict(zip(names, unflatten(flat, like))), (x.double(),))
        return per_sample_loss(out, y, loss).double().mean()

    h = torch.func.hessian(mean_loss)(flatten(like))
    return float(torch.linalg.eigvalsh((h + h.T) / 2)[-1])


def lanczos_reference(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str, chunk: int) -> float:
    net = model.double()
    op = LossHessian(net, x.double(), y, loss, chunk_size=chunk)
    gen = torch.Generator().manual_seed(12345)
    v0 = torch.randn(op.dim, dtype=torch.float64, generator=gen)
    return lanczos_top(op.hvp, v0, k=1, tol=1e-8, max_iter=150).eigenvalues[0]


def evaluate(name: str, cfg: osig.RunConfig, tmp: Path, rounds: int) -> dict:
    bare_s, inst_s, run = [], [], None
    for r in range(rounds):  # interleaved: bare, instrumented, bare, ...
        t0 = time.process_time()
        osig.train(replace(cfg, sharpness_every=0), tmp / f"{name}-bare-{r}".replace("/", "_"))
        bare_s.append(time.process_time() - t0)
        t0 = time.process_time()
        run = osig.train(cfg, tmp / f"{name}-{r}".replace("/", "_"))
        inst_s.append(time.process_time() - t0)
    m = run.metrics()
    has = ~np.isnan(m["sharpness"])
    x, y = run.train_data()
    loss = cfg.loss or run.dataset().loss
    ckpt = {s for s, _ in run.checkpoints()}
    rows = []
    for step, value, upper, hvps in zip(m["step"][has], m["sharpness"][has], m["sharpness_upper"][has], m["eig_hvps"][has]):
        if int(step) not in ckpt:
            continue
        model = run.model(int(step))
        if sum(p.numel() for p in model.parameters()) <= 3000:
            ref = exact_top(model, x, y, loss)
        else:
            ref = lanczos_reference(model, x, y, loss, cfg.chunk_size)
        rows.append((int(step), float(value), float(upper), ref, int(hvps)))
    a = np.array([(v, u, ref, h) for _, v, u, ref, h in rows])
    err = np.abs(a[:, 0] - a[:, 2]) / np.abs(a[:, 2])
    covered = (a[:, 2] >= a[:, 0] - 1e-6 * np.abs(a[:, 2])) & (a[:, 2] <= a[:, 1] + 1e-6 * np.abs(a[:, 2]))
    return {"trajectory": name, "estimates": len(rows), "hvps_later": float(np.mean(a[1:, 3])) if len(a) > 1 else float("nan"),
            "median_err": float(np.median(err)), "worst_err": float(err.max()),
            "coverage": float(covered.mean()), "band_median": float(np.median((a[:, 1] - a[:, 0]) / np.abs(a[:, 2]))),
            "cost_ratio": float(np.median(inst_s) / np.median(bare_s)),
            "rows": [(s, round(v, 4), round(u, 4), round(ref, 4)) for s, v, u, ref, _ in rows]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="also the default job and VGG-11 1/8 (slow)")
    ap.add_argument("--only", default=None, help="one trajectory by name")
    ap.add_argument("--rounds", type=int, default=1, help="timing rounds (interleaved)")
    ap.add_argument("--set", action="append", default=[], help="override a RunConfig field, e.g. sharpness_cheap_tol=0.05")
    ap.add_argument("--json", action="store_true", help="print one JSON document (with every estimate)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        results = []
        for name, cfg in trajectories(tmp, args.full or bool(args.only)).items():
            if args.only and name != args.only:
                continue
            results.append(evaluate(name, replace(cfg, **overrides), tmp, args.rounds))
            if not args.json:
                r = results[-1]
                print(f"{r['trajectory']:<13} estimates {r['estimates']:>3}  HVPs/estimate {r['hvps_later']:5.1f}  "
                      f"error median {r['median_err']:.2e} worst {r['worst_err']:.2e}  band holds {r['coverage']:.0%} "
                      f"(median width {r['band_median']:.1%})  cost {r['cost_ratio']:.2f}x", flush=True)
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
