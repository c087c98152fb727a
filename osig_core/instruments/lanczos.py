"""Top eigenpairs of a symmetric operator given only matrix-vector products (HVPs).

`lanczos_top` returns the k LARGEST ALGEBRAIC eigenvalues (a large negative eigenvalue never wins)
with their Ritz vectors. Full reorthogonalisation keeps the Lanczos basis orthonormal, so the
residual of a Ritz pair is known from the recurrence without extra products:
    ||H y - theta y|| = beta_m * |s_m|   (s_m: last component of the Ritz vector in the Lanczos basis).
Iteration stops when every one of the top k pairs has ||H y - theta y|| / |theta| <= tol, or, with
`accept_tol` (a cheap estimate), as soon as every one has it <= accept_tol.

Certified bounds: for a symmetric H and a unit vector y, the interval theta +- ||H y - theta y||
contains an eigenvalue of H (Krylov-Weinstein), and the top Ritz value never exceeds the top
eigenvalue. `EigResult.bounds` are these residual norms plus an allowance for rounding
(BOUND_ROUNDING * sqrt(m) * machine epsilon * ||H||).
Everything heavy stays on the vectors' device; only the small tridiagonal matrix goes to the host.

`power_iteration` is the textbook baseline (largest MAGNITUDE, stops on relative change) kept for the
benchmark.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import math

import numpy as np
import torch

MatVec = Callable[[torch.Tensor], torch.Tensor]
GUARD_STEPS = 3  # with accept_above unmet, an early stop waits for this many Lanczos steps
GUARD_FRACTION = 0.5  # Ritz vectors with values above this share of the top one are tracked as a guard
GUARD_MAX = 3  # at most this many
BOUND_ROUNDING = 8.0  # rounding allowance in the certified bound, in units of sqrt(m) * eps * ||H||


@dataclass
class EigResult:
    eigenvalues: list[float]  # descending
    vectors: torch.Tensor  # [k, dim], orthonormal rows, on the operator's device
    residuals: list[float]  # bounds / |lambda| per pair (relative)
    hvps: int
    converged: bool  # every pair's relative bound <= tol (not just accept_tol)
    bounds: list[float]  # certified: an eigenvalue lies within lambda +- bound (absolute)
    upper: float = float("inf")  # with `start_overlap`: the top eigenvalue is <= upper with eig_band's probability
    guard: torch.Tensor | None = None  # [b, dim] the top Ritz vectors worth tracking (value >= GUARD_FRACTION * top)


def warm_start_vector(previous: torch.Tensor | None, dim: int, device: torch.device, dtype: torch.dtype,
                      noise: float = 1e-3, generator: torch.Generator | None = None) -> torch.Tensor:
    """A starting vector: the sum of the previous Ritz vectors plus a little random noise.

    For k = 1 this is the previous eigenvector. For k > 1 the sum has equal weight on every previous
    Ritz vector, so the Krylov space of dimension k it spans already contains (nearly) the whole old
    top-k subspace, and the next few steps correct it. The noise (relative size `noise`) keeps every
    direction reachable in case a new eigenvector overtakes the old ones. None: a random vector.
    """
    rand = torch.randn(dim, device=device, dtype=dtype, generator=generator)
    rand = rand / rand.norm()
    if previous is None or previous.numel() == 0:
        return rand
    v0 = previous.reshape(-1, dim).to(device=device, dtype=dtype).sum(0)
    return v0 / v0.norm() + noise * rand


def _tridiagonal(alphas: list[float], betas: list[float]) -> np.ndarray:
    m = len(alphas)
    t = np.diag(np.asarray(alphas, dtype=np.float64))
    if m > 1:
        off = np.asarray(betas[: m - 1], dtype=np.float64)
        t += np.diag(off, 1) + np.diag(off, -1)
    return t


def best_in_span(matvec: MatVec, block: torch.Tensor,
                 given: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(u, H u) for the top Ritz vector u of span(rows of block): Rayleigh-Ritz with one product per row.

    Used to start Lanczos from the best combination of several previous eigenvectors; H u comes for
    free from the products, so Lanczos's first step costs nothing extra. `given`: the products
    H b of the block's rows, already computed (e.g. in the training step's own pass).
    """
    q, r = torch.linalg.qr(block.T)  # [dim, m], orthonormal columns; block.T = q r
    if given is None:
        products = torch.stack([matvec(q[:, i]) for i in range(q.shape[1])], 1)
    else:  # H q = (H block.T) r^-1
        products = torch.linalg.solve_triangular(r, given.T, upper=True, left=False)
    small = (q.T @ products).cpu().double()
    _, vecs = torch.linalg.eigh((small + small.T) / 2)
    c = vecs[:, -1].to(device=q.device, dtype=q.dtype)
    return q @ c, products @ c


def lanczos_top(matvec: MatVec, v0: torch.Tensor, k: int = 1, tol: float = 1e-4, max_iter: int = 100,
                generator: torch.Generator | None = None, accept_tol: float | None = None,
                accept_above: float = -np.inf, products: torch.Tensor | None = None,
                start_overlap: float | None = None, band_tol: float | None = None,
                min_iter: int = 1) -> EigResult:
    """The k largest algebraic eigenpairs of the symmetric operator `matvec`, started from v0.

    v0 is a vector, or a block [m, dim] of candidate directions: Lanczos then starts from their best
    combination (`best_in_span`, m products, of which the first Lanczos step reuses one).
    accept_tol (>= tol): stop early once every top-k pair's relative bound is <= accept_tol; the
    result then says converged only if the bounds also meet tol. From a good warm start this takes
    one or two products (a Rayleigh quotient and its residual, or the 2-step Krylov refinement).
    accept_above: an early stop also needs the top pair's interval to reach this value (a previous
    estimate): a Ritz value that fell below it by more than its bound may be tracking a lower
    eigenvalue, so Lanczos goes on for at least GUARD_STEPS steps (the top may really have dropped).
    products: H v0 (the same shape as v0), computed elsewhere: no product is spent on the start.
    start_overlap: t, a lower bound on |<v0/|v0|, u1>| (eig_band.mixed_start) that makes `upper` a
    probabilistic bound; with band_tol, iteration also needs (upper - theta1) <= band_tol * |theta1| to stop
    (and that alone is enough for an accept_tol estimate). min_iter: take at least this many steps.
    """
    from osig_core.instruments.eig_band import upper_bound
    first_product = None
    extra_hvps = 0  # products spent choosing the start beyond the one Lanczos reuses
    if v0.dim() == 2 and v0.shape[0] > 1:
        extra_hvps = v0.shape[0] - 1
        v0, first_product = best_in_span(matvec, v0, products)
    elif products is not None:
        first_product = products.reshape(-1)
    v0 = v0.reshape(-1)
    dim = v0.numel()
    k = max(1, min(k, dim))
    max_iter = max(k, min(max_iter, dim))
    basis = torch.empty((min(max_iter, 16), dim), device=v0.device, dtype=v0.dtype)
    norm0 = v0.norm()
    basis[0] = v0 / norm0
    alphas: list[float] = []
    betas: list[float] = []
    scale = 0.0  # running estimate of ||H||, for breakdown detection and tiny eigenvalues
    theta = np.zeros(0)
    s = np.zeros((0, 0))
    res_abs = np.zeros(0)
    eps = float(torch.finfo(v0.dtype).eps)
    converged = False
    log_beta = 0.0  # log(beta_1 ... beta_j) of the steps so far
    upper = float("inf")
    for j in range(max_iter):
        q = basis[j]
        w = first_product / norm0 if j == 0 and first_product is not None else matvec(q)
        alpha = torch.dot(w, q)
        w = w - alpha * q
        if j > 0:
            w = w - betas[j - 1] * basis[j - 1]
        for _ in range(2):  # full reorthogonalisation ("twice is enough")
            coeffs = basis[: j + 1] @ w
            w = w - coeffs @ basis[: j + 1]
            alpha = alpha + coeffs[j]
        beta = float(w.norm())
        alphas.append(float(alpha))
        theta, s = np.linalg.eigh(_tridiagonal(alphas, betas))
        theta, s = theta[::-1], s[:, ::-1]  # descending: largest algebraic first
        scale = max(scale, float(np.abs(theta).max()))
        res_abs = beta * np.abs(s[-1, :]) + BOUND_ROUNDING * np.sqrt(j + 1) * eps * scale
        top = min(k, j + 1)
        floor = np.maximum(np.abs(theta[:top]), max(scale * 1e-2, 1e-30))  # near zero: judge against ||H||
        banded = True
        if start_overlap is not None:
            log_here = log_beta + (math.log(beta) if beta > 0 else -math.inf)
            upper = upper_bound(theta, log_here, start_overlap) + BOUND_ROUNDING * np.sqrt(j + 1) * eps * scale
            banded = band_tol is None or upper - theta[0] <= band_tol * floor[0]
        enough = j + 1 >= max(k, min_iter)
        if enough and banded and np.all(res_abs[:top] <= tol * floor):
            converged = True
            break
        if start_overlap is not None and band_tol is not None and accept_tol is not None:
            if enough and banded:
                break
        elif (enough and accept_tol is not None and np.all(res_abs[:top] <= accept_tol * floor)
                and (theta[0] + res_abs[0] >= accept_above or j + 1 >= GUARD_STEPS)):
            break
        if j + 1 == max_iter:
            break
        if j + 1 >= basis.shape[0]:
            grown = torch.empty((min(2 * basis.shape[0], max_iter), dim), device=basis.device, dtype=basis.dtype)
            grown[: basis.shape[0]] = basis
            basis = grown
        if beta <= 1e-10 * max(scale, 1e-30):
            if j + 1 >= k:  # an invariant subspace: the Ritz pairs are exact
                converged = True
                break
            # restart in a fresh direction orthogonal to the basis (T becomes block diagonal)
            w = torch.randn(dim, device=v0.device, dtype=v0.dtype, generator=generator)
            for _ in range(2):
                w = w - (basis[: j + 1] @ w) @ basis[: j + 1]
            betas.append(0.0)
            log_beta = -math.inf
            basis[j + 1] = w / w.norm()
            continue
        log_beta += math.log(beta)
        betas.append(beta)
        basis[j + 1] = w / beta
    m = len(alphas)
    top = min(k, m)
    coeffs = torch.tensor(np.array(s[:, :top].T, order="C"), device=basis.device, dtype=basis.dtype)
    vectors = coeffs @ basis[:m]
    vectors = vectors / vectors.norm(dim=1, keepdim=True)
    eigenvalues = [float(t) for t in theta[:top]]
    bounds = [float(r) for r in res_abs[:top]]
    residuals = [float(r / max(abs(t), 1e-30)) for r, t in zip(res_abs[:top], theta[:top])]
    n_guard = int(min(GUARD_MAX, m, max(top, np.sum(theta >= GUARD_FRACTION * theta[0])))) if theta[0] > 0 else top
    if n_guard > top:
        gc = torch.tensor(np.array(s[:, :n_guard].T, order="C"), device=basis.device, dtype=basis.dtype)
        guard = gc @ basis[:m]
        guard = guard / guard.norm(dim=1, keepdim=True)
    else:
        guard = vectors
    return EigResult(eigenvalues, vectors, residuals, m + extra_hvps, converged, bounds, upper, guard)


def power_iteration(matvec: MatVec, v0: torch.Tensor, tol: float = 1e-3, max_iter: int = 1000) -> EigResult:
    """Largest-magnitude eigenpair by power iteration; stops when the Rayleigh quotient changes by
    less than tol (relative). The last product gives the reported residual for free."""
    v = v0 / v0.norm()
    lam_prev = None
    hvps = 0
    converged = False
    lam, res = 0.0, float("inf")
    for _ in range(max_iter):
        w = matvec(v)
        hvps += 1
        lam = float(torch.dot(w, v))
        res = float((w - lam * v).norm()) / max(abs(lam), 1e-30)
        norm = float(w.norm())
        if norm == 0.0 or (lam_prev is not None and abs(lam - lam_prev) <= tol * abs(lam)):
            converged = True
            break
        lam_prev = lam
        v = w / norm
    return EigResult([lam], v.unsqueeze(0), [res], hvps, converged, [res * abs(lam)])
