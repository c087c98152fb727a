"""What sharpness tracking costs, and how good the estimates are.

From one process, on the MLP (and VGG-11 at width 0.25 for the HVP cost) on synthetic data, n=1000:
  1. one HVP relative to one full-batch gradient, for both HVP methods;
  2. along a short full-batch GD trajectory with an estimate every --every steps: HVPs per estimate
     and true relative error (vs a converged Lanczos reference) of cold power iteration (stops at
     1e-3 relative change), cold Lanczos and the instrument's warm-started Lanczos (tol 1e-4);
  3. the whole-run time of GD with sharpness tracking every K = 1, 10, 100 steps vs plain GD.
Usage: python benchmarks/bench_sharpness.py [--quick] [--device auto] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

import osig_core as osig
from osig_core.engine.inputs import optimizer_view, problem_of, sharpness_settings
from osig_core.instruments.inputs import StepInputs
from osig_core.instruments.hvp import HVP_METHODS, LossHessian
from osig_core.instruments.lanczos import lanczos_top, power_iteration, warm_start_vector
from osig_core.instruments.sharpness import SharpnessInstrument
from osig_core.problem.passes import full_batch_gradient
from osig_core.components.registry import OPTIMIZERS
from osig_core.components.build import build_data, build_model, build_optimizer, data_to, resolve_device


def setup(model: str, width: float, n: int, lr: float, device: str, sharpness_every: int = 10):
    cfg = osig.RunConfig(model=model, width=width, n=n, n_test=10, lr=lr, device=device,
                         sharpness_every=sharpness_every).validate()
    dev = resolve_device(cfg.device)
    data = data_to(build_data(cfg), dev)
    torch.manual_seed(cfg.seed)
    net = build_model(cfg, data).to(dev)
    return cfg, dev, data, net


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, dev, reps: int) -> float:
    fn()
    sync(dev)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync(dev)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def gd_step(cfg, data, net, opt) -> None:
    opt.zero_grad(set_to_none=True)
    full_batch_gradient(net, data.x, data.y, loss=data.loss, label_smoothing=cfg.label_smoothing,
                        chunk_size=cfg.chunk_size, record=False)
    opt.step()


def hvp_cost(model: str, width: float, n: int, device: str, reps: int) -> None:
    cfg, dev, data, net = setup(model, width, n, 0.05, device)

    def gradient():
        net.zero_grad(set_to_none=True)
        full_batch_gradient(net, data.x, data.y, loss=data.loss, label_smoothing=0.0, chunk_size=cfg.chunk_size, record=False)
    t_grad = timed(gradient, dev, reps)
    net.zero_grad(set_to_none=True)
    for method in HVP_METHODS:
        op = LossHessian(net, data.x, data.y, data.loss, 0.0, cfg.chunk_size, method)
        v = torch.randn(op.dim, device=dev)
        t_hvp = timed(lambda: op.hvp(v), dev, reps)
        print(f"| {model}@{width:g} | {method:15s} | {1000 * t_grad:8.1f} | {1000 * t_hvp:8.1f} | {t_hvp / t_grad:5.2f} |")
    auto = LossHessian(net, data.x, data.y, data.loss, 0.0, cfg.chunk_size, "auto")
    auto.hvp(torch.randn(auto.dim, device=dev))
    print(f"| {model}@{width:g} | auto picks      | | | {auto.method} |")


def trajectory(n: int, device: str, steps: int, every: int, lr: float) -> None:
    cfg, dev, data, net = setup("mlp", 1.0, n, lr, device, sharpness_every=every)
    spec, opt = OPTIMIZERS[cfg.optim], build_optimizer(cfg, net)
    inst = SharpnessInstrument(problem_of(cfg, net, data, dev), sharpness_settings(cfg))
    gen = torch.Generator(device=dev).manual_seed(1)
    rows: dict[str, list[tuple[int, float]]] = {"power (cold, 1e-3)": [], "Lanczos (cold, 1e-4)": [],
                                                "Lanczos (warm, 1e-4)": []}
    print("| step | reference λmax | warm HVPs | warm rel. error |")
    print("|---:|---:|---:|---:|")
    for step in range(steps + 1):
        if step % every == 0:
            m = inst.measure(StepInputs(step, optimizer_view(cfg, opt, spec)))
            warm = (int(m.scalars["eig_hvps"]), m.scalars["sharpness"])
            op = LossHessian(net, data.x, data.y, data.loss, 0.0, cfg.chunk_size, inst.method)
            start = lambda: warm_start_vector(None, op.dim, dev, torch.float32, generator=gen)  # noqa: E731
            ref = lanczos_top(op.hvp, start(), k=1, tol=1e-6, max_iter=300).eigenvalues[0]
            pw = power_iteration(op.hvp, start(), tol=1e-3, max_iter=500)
            cold = lanczos_top(op.hvp, start(), k=1, tol=1e-4, max_iter=300)
            for name, (hvps, lam) in zip(rows, [(pw.hvps, pw.eigenvalues[0]), (cold.hvps, cold.eigenvalues[0]), warm]):
                rows[name].append((hvps, abs(lam - ref) / abs(ref)))
            print(f"| {step} | {ref:.4f} | {warm[0]} | {rows['Lanczos (warm, 1e-4)'][-1][1]:.1e} |", flush=True)
        if step < steps:
            gd_step(cfg, data, net, opt)
    print(f"\nthreshold 2/lr = {2 / lr:g}; estimates at steps 0..{steps} every {every} (the first warm one starts cold)\n")
    print("| estimator | HVPs mean | HVPs max | HVPs mean after step 0 | rel. error median | rel. error max |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, vals in rows.items():
        hv = [h for h, _ in vals]
        err = [e for _, e in vals]
        print(f"| {name} | {statistics.mean(hv):.1f} | {max(hv)} | {statistics.mean(hv[1:]):.1f} | "
              f"{statistics.median(err):.1e} | {max(err):.1e} |")


def overhead(n: int, device: str, steps: int, ks: list[int], lr: float) -> None:
    results = {}
    for k in [0] + ks:
        cfg, dev, data, net = setup("mlp", 1.0, n, lr, device, sharpness_every=k)
        spec, opt = OPTIMIZERS[cfg.optim], build_optimizer(cfg, net)
        inst = SharpnessInstrument(problem_of(cfg, net, data, dev), sharpness_settings(cfg)) if k else None
        hvps = 0
        sync(dev)
        t = time.perf_counter()
        for step in range(steps):
            if inst is not None and inst.due(step, False):
                hvps += int(inst.measure(StepInputs(step, optimizer_view(cfg, opt, spec))).scalars["eig_hvps"])
            gd_step(cfg, data, net, opt)
        sync(dev)
        results[k] = (time.perf_counter() - t, hvps)
    base = results[0][0]
    print("| sharpness every K | run time (s) | HVPs | overhead vs plain GD |")
    print("|---:|---:|---:|---:|")
    for k, (secs, hvps) in results.items():
        print(f"| {'off' if k == 0 else k} | {secs:.2f} | {hvps} | {'—' if k == 0 else f'{100 * (secs / base - 1):+.0f}%'} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps and repetitions, no VGG")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (1 gives stable ratios on a shared machine)")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=0.05)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    steps, every = (40, 10) if a.quick else (100, 10)
    dev = resolve_device(a.device)
    print(f"device: {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'{a.threads} CPU thread(s)'}), "
          f"torch {torch.__version__}, synthetic data n={a.n}\n")
    print("## 1. one HVP vs one full-batch gradient\n")
    print("| model | HVP method | gradient (ms) | HVP (ms) | HVP/gradient |")
    print("|---|---|---:|---:|---:|")
    hvp_cost("mlp", 1.0, a.n, a.device, 3 if a.quick else 7)
    if not a.quick:
        hvp_cost("vgg11", 0.25, a.n, a.device, 3)
    print(f"\n## 2. estimates along full-batch GD (MLP, lr {a.lr}, every {every} steps)\n")
    trajectory(a.n, a.device, steps, every, a.lr)
    print(f"\n## 3. whole-run overhead ({steps} GD steps, MLP)\n")
    overhead(a.n, a.device, steps, [1, 10, 100], a.lr)


if __name__ == "__main__":
    main()
