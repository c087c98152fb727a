"""linear2: the paper's Section 3.3 two-layer linear network f(x) = c * (b^T x + b_o^T x_o).

Inputs are toy-linear rows [x (d1 columns), x_o (d2 columns)]; data.meta gives d1 and d2. The scalar c
is `head`, an nn.Linear(1, 1, bias=False), so probes read the penultimate feature b^T x + b_o^T x_o.
`width` is ignored: the model has exactly d1 + d2 + 1 parameters.

Initialisation follows the paper's Setup ("all quantities equal their expected order of magnitude"),
deterministically and exactly:
    ||b||^2 = 1^T b = d1/(d1+d2),   ||b_o||^2 = 1^T b_o = d2/(d1+d2),   c = 1,
and, when data.meta has `beta`, also b^T beta = ||beta|| / sqrt(d1+d2).
Construction: v = (1/(d1+d2)) * 1 + u with u orthogonal to 1 fixes the sum; the length of u
(||u||^2 = s - s^2/d, s the target sum, d the size) then fixes ||v||^2 = s. For b with beta, u takes
the component along beta's part orthogonal to 1 that yields the target b^T beta, and the remaining
length along a fixed direction orthogonal to both. Where an identity cannot hold (d1 = 1 or d2 = 1:
no room orthogonal to 1; d1 < 3 or |b^T beta target| too large for the beta identity) it is dropped
and the others are kept; all-equal entries 1/(d1+d2) are the fallback.
"""
from __future__ import annotations

import torch
from torch import nn

from osig_core.data.base import DataError, Dataset


def _unit_orthogonal(d: int, against: list[torch.Tensor]) -> torch.Tensor | None:
    """A fixed unit vector orthogonal to every vector in `against` (None if there is none)."""
    candidates = [torch.arange(d, dtype=torch.float64)] + list(torch.eye(d, dtype=torch.float64))
    for v in candidates:
        for a in against:
            v = v - (v @ a) / (a @ a) * a
        if v.norm() > 1e-6:
            return v / v.norm()
    return None


def equal_magnitude_init(d: int, total: float, beta: torch.Tensor | None = None, target: float = 0.0) -> torch.Tensor:
    """v in R^d with 1^T v = ||v||^2 = total and, if beta is given and feasible, v^T beta = target."""
    ones = torch.ones(d, dtype=torch.float64)
    mean = total / d * ones
    spare = total - total**2 / d  # ||u||^2 needed on top of the constant part
    if beta is not None and d >= 3:
        beta_perp = beta - beta.mean() * ones
        if beta_perp.norm() > 1e-9:
            along = (target - mean @ beta) / beta_perp.norm()  # u's coefficient on beta_perp / ||beta_perp||
            if along**2 <= spare:
                rest = _unit_orthogonal(d, [ones, beta_perp])
                return mean + along * beta_perp / beta_perp.norm() + (spare - along**2) ** 0.5 * rest
    direction = _unit_orthogonal(d, [ones])
    if direction is None or spare <= 0:
        return mean
    return mean + spare**0.5 * direction


class TwoLayerLinear(nn.Module):
    def __init__(self, d1: int, d2: int, beta: torch.Tensor | None):
        super().__init__()
        self.d1 = d1
        total = d1 + d2
        target = float(beta.norm()) / total**0.5 if beta is not None else 0.0
        self.b = nn.Parameter(equal_magnitude_init(d1, d1 / total, beta, target).float())
        self.b_o = nn.Parameter(equal_magnitude_init(d2, d2 / total).float())
        self.head = nn.Linear(1, 1, bias=False)  # the scalar c
        with torch.no_grad():
            self.head.weight.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = x[:, : self.d1] @ self.b + x[:, self.d1 :] @ self.b_o
        return self.head(feature.unsqueeze(1))  # [B, 1]


def build(data: Dataset, width: float) -> nn.Module:
    d1, d2 = data.meta.get("d1"), data.meta.get("d2")
    if d1 is None or d2 is None or data.input_shape != (int(d1) + int(d2),):
        raise DataError(f"model 'linear2' is the paper's toy model and needs --data toy-linear "
                        f"(inputs with d1 + d2 columns); dataset '{data.name}' does not provide them")
    beta = data.meta.get("beta")
    if beta is not None:
        beta = torch.as_tensor(beta, dtype=torch.float64).flatten()
        if beta.numel() != int(d1):
            beta = None
    return TwoLayerLinear(int(d1), int(d2), beta)
