"""`chebyshev[:DEGREE]`: 1-D regression of a Chebyshev polynomial on evenly spaced points (paper Fig. 3).

The target is T_k(x) = cos(k arccos x) for the first kind, degree k (default 5), on n points
evenly spaced in [-1, 1] (both ends included). The test set is the n_test midpoints of an even grid
over [-1, 1], i.e. points between training points. Nothing is random: the seed does not matter.
Even without outliers in the usual sense, a small MLP finds opposing groups here (intervals of x).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from osig_core.data.base import Dataset, DataError

if TYPE_CHECKING:
    from osig_core.config.run_config import RunConfig

DEFAULT_DEGREE = 5
MAX_DEGREE = 100
DEFAULT_N, DEFAULT_N_TEST = 100, 100  # used when --n / --n-test is "all"


def chebyshev_t(degree: int, x: np.ndarray) -> np.ndarray:
    """T_degree(x) by the three-term recurrence T_{k+1} = 2x T_k - T_{k-1} (exact for |x| <= 1)."""
    prev, cur = np.ones_like(x), x.copy()
    if degree == 0:
        return prev
    for _ in range(degree - 1):
        prev, cur = cur, 2 * x * cur - prev
    return cur


def parse_degree(arg: str | None) -> int:
    if arg in (None, ""):
        return DEFAULT_DEGREE
    try:
        degree = int(arg)
    except ValueError:
        raise DataError(f"chebyshev takes an integer degree (e.g. chebyshev:5), got '{arg}'") from None
    if not 0 <= degree <= MAX_DEGREE:
        raise DataError(f"chebyshev degree must be between 0 and {MAX_DEGREE}, got {degree}")
    return degree


def _points(x: np.ndarray, degree: int) -> tuple[torch.Tensor, torch.Tensor]:
    y = chebyshev_t(degree, x)
    return torch.from_numpy(x.astype(np.float32)[:, None]), torch.from_numpy(y.astype(np.float32))


def build(cfg: RunConfig, arg: str | None) -> Dataset:
    """x [N,1] float on an even grid of [-1, 1], y [N] = T_degree(x); mse regression."""
    degree = parse_degree(arg)
    n = DEFAULT_N if cfg.n is None else int(cfg.n)
    n_test = DEFAULT_N_TEST if cfg.n_test is None else int(cfg.n_test)
    if n < 2:
        raise DataError(f"chebyshev needs at least 2 points (--n 2 or more), got {n}")
    x, y = _points(np.linspace(-1.0, 1.0, n), degree)
    x_test, y_test = _points(-1.0 + (2.0 * np.arange(n_test) + 1.0) / n_test, degree)
    return Dataset(
        name="chebyshev", kind="regression", x=x, y=y, classes=[], x_test=x_test, y_test=y_test,
        meta={"degree": degree, "target": f"T_{degree}(x), Chebyshev polynomial of the first kind"},
        loss="mse",
    )
