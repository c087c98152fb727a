"""The band stored with every sharpness estimate: [θ₁, upper] holds the top eigenvalue λ₁ with a
stated probability, over the estimator's own Gaussian draw (never over the data or the weights).

Lower end: θ₁, the top Ritz value, never exceeds λ₁ (Courant–Fischer): certain.
Upper end: a random-start Lanczos bound at no extra products (van Dorsselaer, Hochstenbach and van
der Vorst, SIMAX 22 (2000); Kuczyński and Woźniakowski, SIMAX 13 (1992) for why it must be
probabilistic). After m Lanczos steps from v₁, with p_m the characteristic polynomial of the
tridiagonal T_m (roots θ_j), p_m(H) v₁ = β₁⋯β_m v_{m+1}, so |c₁| |p_m(λ₁)| ≤ β₁⋯β_m where
c₁ = ⟨v₁, u₁⟩. If |c₁| ≥ t, λ₁ ≤ λ* with ∏_j (λ* − θ_j) = β₁⋯β_m / t (p_m grows right of θ₁).

The start is v₀ = w + σg: a warm direction w (unit, from earlier estimates, or 0) plus a Gaussian
g ~ N(0, I_n) drawn now, independent of w and of H. Then ⟨v₀, u₁⟩ = ⟨w, u₁⟩ + σz with z ~ N(0, 1),
and P(|a + σz| < s) ≤ s·√(2/π)/σ for any a (Anderson's inequality); ‖g‖ ≤ √n + √(2 ln(2/δ)) with
probability ≥ 1 − δ/2 (Gaussian concentration). Together: |c₁| ≥ t with probability ≥ 1 − δ for
    t = (δ/2)·σ·√(π/2) / (‖w‖ + σ(√n + √(2 ln(2/δ)))).
A warm start therefore keeps the guarantee as long as a Gaussian part is mixed in; it only has to
be big enough that t is not tiny (NOISE below).
"""
from __future__ import annotations

import math

import numpy as np
import torch

DELTA = 1e-3  # the band fails with probability at most this, per estimate
BAND_PROBABILITY = 1.0 - DELTA
BAND_KIND = "probabilistic"  # what the upper end guarantees (the lower end is certain)
NOISE = 0.5  # norm of the Gaussian part of a warm start, relative to the (unit) warm direction


def mixed_start(warm: torch.Tensor | None, dim: int, device, dtype, generator: torch.Generator | None,
                noise: float = NOISE) -> tuple[torch.Tensor, float]:
    """(v₀, t): a Lanczos start and a lower bound t on |⟨v₀/‖v₀‖, u₁⟩| that holds with probability
    ≥ 1 − DELTA. warm: rows of earlier Ritz vectors [b, dim] (their sum is the warm direction), or None."""
    g = torch.randn(dim, device=device, dtype=dtype, generator=generator)
    if warm is None or warm.numel() == 0:
        w_norm, sigma, v0 = 0.0, 1.0, g
    else:
        w = warm.reshape(-1, dim).to(device=device, dtype=dtype).sum(0)
        w = w / w.norm()
        w_norm, sigma = 1.0, noise / math.sqrt(dim)
        v0 = w + sigma * g
    radius = math.sqrt(dim) + math.sqrt(2 * math.log(2 / DELTA))
    t = (DELTA / 2) * sigma * math.sqrt(math.pi / 2) / (w_norm + sigma * radius)
    return v0, t


def upper_bound(theta: np.ndarray, log_beta_product: float, t: float) -> float:
    """λ* ≥ θ₁ solving Σ_j log(λ* − θ_j) = log(β₁⋯β_m) − log t (θ: all Ritz values, any order)."""
    theta = np.asarray(theta, dtype=np.float64)
    top = float(theta.max())
    target = log_beta_product - math.log(t)
    if not math.isfinite(target):  # an invariant subspace (β = 0): λ₁ is a Ritz value
        return top
    gaps = top - theta  # >= 0; the top one is 0

    def excess(log_x: float) -> float:
        return float(np.log(np.exp(log_x) + gaps).sum()) - target

    hi = target / len(theta)  # every term >= log x, so excess(hi) >= 0
    lo = hi - 50.0
    while excess(lo) > 0:  # tiny target: go further left
        lo -= 50.0
        if lo < -700:
            return top
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if excess(mid) >= 0 else (mid, hi)
        if hi - lo < 1e-12:
            break
    return top + math.exp(hi)
