"""Two levers on the cost of sharpness tracking: batched products, and forward-difference products.

For one model trained by full-batch GD for --train-steps steps (the default `osig run` job: the MLP,
synthetic data, n=2000, lr 0.05), one process, variants interleaved round-robin over --rounds rounds,
medians, all in units of ONE full-batch gradient pass (the step's pass, full_batch_gradient):
  - one HVP by double backward and by forward-over-reverse (LossHessian.hvp, the project's way);
  - k products batched in one pass over the step's own graph (full_batch_gradient(tangents=[k, dim]),
    i.e. autograd.grad(..., is_grads_batched=True) on a create_graph gradient), and k products by
    torch.func vmap over jvp(grad): per product, standalone and as the extra over the step's pass;
  - a forward-difference product (g(theta + h v) - g(theta)) / h reusing g(theta) (one extra pass)
    and a central one (g(theta + h v) - g(theta - h v)) / 2h (two passes), h = eps * ||theta|| for a
    unit v. Their bias against the double-backward HVP: relative error on a random unit v and on the
    top eigenvector q (30 exact Lanczos steps, full reorthogonalisation), the Rayleigh-quotient error
    |q.Aq - lambda|/lambda, the asymmetry |u.Av - v.Au| / lambda for random unit u, v, and the top
    Ritz value of an 11-step Lanczos (an estimate's budget) run on A instead of H.
All in float32. Usage:
  python benchmarks/bench_product_levers.py [--model mlp|vgg11] [--width W] [--n N] [--threads 1]
        [--rounds 7] [--train-steps 100] [--quick]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.func import functional_call, grad, jvp, vmap

from osig_core.components.build import build_data, build_model
from osig_core.config.run_config import RunConfig
from osig_core.instruments.hvp import LossHessian, trainable, unflatten
from osig_core.problem.losses import per_sample_loss
from osig_core.problem.passes import full_batch_gradient


def lanczos(matvec, v0: torch.Tensor, m: int) -> tuple[float, torch.Tensor]:
    """Top Ritz value and vector after m steps (full reorthogonalisation, float64 tridiagonal)."""
    qs, alphas, betas = [v0 / v0.norm()], [], []
    for j in range(m):
        w = matvec(qs[j])
        alphas.append(float(w @ qs[j]))
        for q in qs:  # full reorthogonalisation (twice is enough)
            w = w - (w @ q) * q
        for q in qs:
            w = w - (w @ q) * q
        b = float(w.norm())
        if j == m - 1 or b < 1e-10:
            break
        betas.append(b)
        qs.append(w / b)
    k = len(alphas)
    t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if k > 1:
        off = torch.tensor(betas[:k - 1], dtype=torch.float64)
        t += torch.diag(off, 1) + torch.diag(off, -1)
    vals, vecs = torch.linalg.eigh(t)
    ritz = sum(float(vecs[i, -1]) * qs[i] for i in range(k))
    return float(vals[-1]), ritz / ritz.norm()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--width", type=float, default=None, help="default: the model's CPU width")
    ap.add_argument("--head-scale", type=float, default=1.0)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--train-steps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eps", default="1e-2,1e-3,1e-4,1e-5", help="h = eps * ||theta|| for a unit direction")
    ap.add_argument("--quick", action="store_true", help="3 rounds, 20 training steps, 15 Lanczos steps")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.train_steps = 3, 20
    torch.set_num_threads(a.threads)
    cfg = RunConfig(model=a.model, width=a.width, head_scale=a.head_scale, n=a.n, lr=a.lr, optim="gd")
    data = build_data(cfg)
    model = build_model(cfg, data)
    params = [p for _, p in trainable(model)]
    dim = sum(p.numel() for p in params)
    kw = dict(loss=data.loss, label_smoothing=0.0, chunk_size=cfg.chunk_size)

    def flat_grad() -> torch.Tensor:
        """The step's pass (per-sample losses recorded, as the engine does); the flat gradient."""
        model.zero_grad(set_to_none=True)
        full_batch_gradient(model, data.x, data.y, **kw)
        return torch.cat([p.grad.reshape(-1) for p in params])

    t0 = time.perf_counter()
    for _ in range(a.train_steps):  # plain full-batch GD on the mean loss, as `osig run` trains
        g = flat_grad()
        with torch.no_grad():
            for p, gp in zip(params, unflatten(g, params)):
                p.sub_(a.lr * gp)
    train_s = time.perf_counter() - t0
    theta = torch.cat([p.detach().reshape(-1) for p in params]).clone()

    def grad_at(delta: torch.Tensor) -> torch.Tensor:
        """g(theta + delta) by the step's own pass on the shifted weights; the weights are restored."""
        with torch.no_grad():
            for p, d in zip(params, unflatten(delta, params)):
                p.add_(d)
        try:
            return flat_grad()
        finally:
            with torch.no_grad():
                for p, t in zip(params, unflatten(theta, params)):
                    p.copy_(t)

    g0 = grad_at(torch.zeros_like(theta))
    ops = {m: LossHessian(model, data.x, data.y, data.loss, 0.0, cfg.chunk_size, m) for m in ("double-backward", "fwd-rev")}
    exact = ops["double-backward"].hvp
    tnorm = float(theta.norm())
    gen = torch.Generator().manual_seed(0)
    block = torch.randn(8, dim, generator=gen)
    block /= block.norm(dim=1, keepdim=True)

    names = [n for n, _ in trainable(model)]
    buffers = dict(model.named_buffers())

    def vmap_products(vs: torch.Tensor) -> torch.Tensor:
        """H v for each row of vs: vmap over tangents of jvp(grad) of each chunk's summed loss."""
        pd = {n: p.detach() for n, p in zip(names, params)}
        total = None
        for i in range(0, data.n, cfg.chunk_size):
            xc, yc = data.x[i:i + cfg.chunk_size], data.y[i:i + cfg.chunk_size]
            f = lambda q: per_sample_loss(functional_call(model, {**buffers, **q}, (xc,)), yc, data.loss).sum()
            def one(v):
                tan = dict(zip(names, unflatten(v, params)))
                return torch.cat([h.reshape(-1).to(v.dtype) for h in jvp(grad(f), (pd,), (tan,))[1].values()])
            hv = vmap(one)(vs)
            total = hv if total is None else total + hv
        return total / data.n

    def fused(k: int):
        model.zero_grad(set_to_none=True)
        return full_batch_gradient(model, data.x, data.y, tangents=block[:k], **kw).products

    v = block[0]
    h = 1e-3 * tnorm
    cases = {"gradient pass (the unit)": (lambda: flat_grad(), 0)}
    cases.update({f"HVP alone, {m} (LossHessian)": (lambda op=op: op.hvp(v), 1) for m, op in ops.items()})
    for k in (1, 4, 8):
        cases[f"step pass + {k} batched product(s), is_grads_batched"] = (lambda k=k: fused(k), k)
    for k in (1, 4, 8):
        cases[f"{k} product(s) by vmap(jvp(grad)), alone"] = (lambda k=k: vmap_products(block[:k]), k)
    cases["forward difference, g(theta) given"] = (lambda: (grad_at(h * v) - g0) / h, 1)
    cases["central difference"] = (lambda: (grad_at(h * v) - grad_at(-h * v)) / (2 * h), 1)
    for fn, _ in cases.values():  # warm-up (first-call allocations, forward-mode decompositions)
        fn()
    times: dict[str, list[float]] = {c: [] for c in cases}
    for _ in range(a.rounds):
        for c, (fn, _) in cases.items():
            start = time.perf_counter()
            fn()
            times[c].append(time.perf_counter() - start)
    unit = statistics.median(times["gradient pass (the unit)"])

    print(f"## {a.model} (width {cfg.resolved_width('cpu')}, n={data.n}, {dim} parameters, after "
          f"{a.train_steps} GD steps at lr {a.lr}: {train_s / max(1, a.train_steps):.3f} s/step), "
          f"{a.threads} thread(s), median of {a.rounds} interleaved rounds\n")
    print("| variant | gradient passes | products | per product | extra over the step, per product |")
    print("|---|---:|---:|---:|---:|")
    for c, (_, k) in cases.items():
        r = statistics.median(times[c]) / unit
        extra = f"{(r - 1) / k:.2f}" if c.startswith("step pass") else ""
        per = f"{r / k:.2f}" if k else ""
        print(f"| {c} | {r:.2f} | {k or ''} | {per} | {extra} |")

    # ---- bias of the finite-difference products against the double-backward HVP
    m_top = 15 if a.quick else 30
    lam, q = lanczos(exact, torch.randn(dim, generator=gen), m_top)
    lam11, _ = lanczos(exact, torch.randn(dim, generator=torch.Generator().manual_seed(1)), 11)
    u, w = block[1], block[2]
    hq, hv_ = exact(q), exact(v)
    lam = float(q @ hq)  # the Rayleigh quotient of the Ritz vector, by the exact product
    resid = float((hq - lam * q).norm()) / abs(lam)
    fr = ops["fwd-rev"].hvp
    floor_v = float((fr(v) - hv_).norm() / hv_.norm())
    floor_q = float((fr(q) - hq).norm() / hq.norm())
    print(f"\nTop eigenvalue lambda = {lam:.4f} ({m_top} exact Lanczos steps, residual ||Hq - lambda q||/lambda "
          f"= {resid:.1e}); ||theta|| = {tnorm:.2f}, ||g|| = {float(g0.norm()):.2e}; "
          f"||Hv||/lambda = {float(hv_.norm()) / abs(lam):.1e} for the random unit v; "
          f"11-step exact Lanczos top Ritz value {lam11:.4f}. Float32 floor: fwd-rev vs double-backward "
          f"rel. diff {floor_v:.1e} (random v), {floor_q:.1e} (q).\n")
    print("| product | h | rel. err, random v | rel. err, q | Rayleigh err on q | asymmetry / lambda | 11-step Lanczos top |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    asym_exact = abs(float(u @ exact(w)) - float(w @ exact(u))) / abs(lam)
    print(f"| double backward (exact) | | 0 | 0 | 0 | {asym_exact:.1e} | {lam11:.4f} |")
    for eps in [float(e) for e in a.eps.split(",")]:
        hh = eps * tnorm
        for kind in ("forward", "central"):
            if kind == "forward":
                A = lambda x, hh=hh: (grad_at(hh * x / x.norm()) - g0) / hh * x.norm()
            else:
                A = lambda x, hh=hh: (grad_at(hh * x / x.norm()) - grad_at(-hh * x / x.norm())) / (2 * hh) * x.norm()
            av, aq = A(v), A(q)
            ev = float((av - hv_).norm() / hv_.norm())
            eq = float((aq - hq).norm() / hq.norm())
            rq = abs(float(q @ aq) - lam) / abs(lam)
            asym = abs(float(u @ A(w)) - float(w @ A(u))) / abs(lam)
            l11, _ = lanczos(A, torch.randn(dim, generator=torch.Generator().manual_seed(1)), 11)
            print(f"| {kind} difference, eps {eps:g} | {hh:.2e} | {ev:.1e} | {eq:.1e} | {rq:.1e} | {asym:.1e} | {l11:.4f} |")


if __name__ == "__main__":
    main()
