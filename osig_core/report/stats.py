"""Small numeric helpers shared by the report checks (numpy only)."""
from __future__ import annotations

import math

import numpy as np

from osig_core.store.reader import RunReader


def series(run: RunReader, key: str, metrics: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one scalar where it was recorded (NaN-free)."""
    m = metrics if metrics is not None else run.metrics()
    if key not in m:
        return np.zeros(0, np.int64), np.zeros(0)
    v = m[key]
    ok = np.isfinite(v)
    return m["step"][ok], v[ok]


def threshold_of(run: RunReader, metrics: dict | None = None) -> float:
    """The run's stability threshold (2/eta for GD) as recorded, else 2/lr."""
    _, thr = series(run, "threshold", metrics)
    return float(np.median(thr)) if thr.size else 2.0 / run.config.lr


def first_crossing(steps: np.ndarray, values: np.ndarray, level: float) -> int | None:
    """First step at which values >= level."""
    hit = np.nonzero(values >= level)[0]
    return None if hit.size == 0 else int(steps[hit[0]])


def diff_corr(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the step-to-step changes of two aligned series (NaN if too short or flat)."""
    da, db = np.diff(np.asarray(a, float)), np.diff(np.asarray(b, float))
    if da.size < 3:
        return math.nan
    da, db = da - da.mean(), db - db.mean()
    denom = float(np.linalg.norm(da) * np.linalg.norm(db))
    return float(da @ db / denom) if denom > 1e-20 else math.nan


def mean_abs_diff(x: np.ndarray) -> float:
    d = np.diff(np.asarray(x, float))
    return float(np.abs(d).mean()) if d.size else math.nan


def aligned(steps_a: np.ndarray, a: np.ndarray, steps_b: np.ndarray, b: np.ndarray):
    """Restrict two step series to their common steps: (steps, a, b)."""
    common, ia, ib = np.intersect1d(steps_a, steps_b, return_indices=True)
    return common, np.asarray(a)[ia], np.asarray(b)[ib]


def flip_events(x: np.ndarray) -> int:
    """How many pairs of consecutive (non-zero) changes sign_flip_rate compares: the events behind it."""
    d = np.diff(np.asarray(x, float))
    return max(int((d != 0).sum()) - 1, 0)


def sign_flip_rate(x: np.ndarray) -> float:
    """Share of consecutive changes that reverse direction (1.0 = period-2 oscillation, ~0.5 noise)."""
    d = np.diff(np.asarray(x, float))
    d = d[d != 0]
    if d.size < 2:
        return math.nan
    return float(np.mean(np.sign(d[1:]) != np.sign(d[:-1])))


def rows_between(run: RunReader, start: int | None = None, end: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(steps, float32 loss rows) of the recorded steps in [start, end]."""
    steps = run.loss_steps()
    L = run.losses()
    keep = np.ones(steps.shape[0], bool)
    if start is not None:
        keep &= steps >= start
    if end is not None:
        keep &= steps <= end
    idx = np.nonzero(keep)[0]
    return steps[idx], np.asarray(L[idx], dtype=np.float32)


def detrended_std(x: np.ndarray, window: int = 9) -> float:
    """Std of a series around its centred moving average: the fluctuation, not the trend."""
    x = np.asarray(x, float)
    if x.size < window + 2:
        return float(np.std(np.diff(x))) if x.size > 2 else math.nan
    kernel = np.ones(window) / window
    smooth = np.convolve(x, kernel, mode="valid")
    half = window // 2
    return float(np.std(x[half:half + smooth.size] - smooth))


def random_subset_stds(rows: np.ndarray, size: int, draws: int, seed: int = 0, window: int = 9) -> np.ndarray:
    """detrended_std of the mean loss of `draws` random subsets of `size` samples (from the loss matrix)."""
    rng = np.random.default_rng(seed)
    n = rows.shape[1]
    out = np.empty(draws)
    for i in range(draws):
        ids = rng.choice(n, size=min(size, n), replace=False)
        out[i] = detrended_std(rows[:, ids].mean(axis=1), window)
    return out
