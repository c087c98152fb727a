"""`toy-linear[:d1=..,d2=..,alpha=..,p=..,beta_norm=..]`: the paper's Section 3.3 model.

x ~ N(0, I_d1); on an exact fraction p of samples the opposing signal x_o = s * sqrt(alpha / (p d2)) * 1
(s = +1 or -1, half each, at random), elsewhere x_o = 0; target y = beta^T x + d2^-1/2 * 1^T |x_o|.
The network input is concat([x, x_o]) of width d1 + d2 (the `linear2` model reads d1/d2 from meta).

Defaults (d1=20, d2=40, alpha=1000, p=0.05, |beta|=10) were picked by simulating the two-layer linear
net f = c (b^T x + b_o^T x_o) with the paper's init under GD at lr = 0.5/alpha (meta "suggested_lr"):
the sharpness first dips (Thm 3.1), then sharpens past 2/lr and the loss of the "opposing+" and
"opposing-" samples oscillates in opposition. beta's direction is random (from the seed), its norm fixed.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch

from osig_core.data.base import Dataset, DataError
from osig_core.data.common import STREAM_FIXED, STREAM_TEST, STREAM_TRAIN, rng_for

if TYPE_CHECKING:
    from osig_core.config.run_config import RunConfig

DEFAULTS: dict[str, float] = {"d1": 20, "d2": 40, "alpha": 1000.0, "p": 0.05, "beta_norm": 10.0}
INT_KEYS = ("d1", "d2")
DEFAULT_N, DEFAULT_N_TEST = 1000, 1000  # used when --n / --n-test is "all"


def parse_params(arg: str | None) -> dict[str, float]:
    """'d1=10,d2=20,alpha=50,p=0.1' -> validated parameters over the defaults; DataError on anything else."""
    params = dict(DEFAULTS)
    for item in (arg or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in DEFAULTS:
            raise DataError(f"toy-linear settings are key=value pairs among {', '.join(DEFAULTS)}, got '{item}'")
        try:
            number = int(value) if key in INT_KEYS else float(value)
        except ValueError:
            kind = "an integer" if key in INT_KEYS else "a number"
            raise DataError(f"toy-linear setting '{key}' must be {kind}, got '{value}'") from None
        if not math.isfinite(number):
            raise DataError(f"toy-linear setting '{key}' must be finite, got '{value}'")
        params[key] = number
    if params["d1"] < 1 or params["d2"] < 1:
        raise DataError(f"toy-linear needs d1 and d2 of at least 1, got d1={params['d1']}, d2={params['d2']}")
    if params["d2"] < params["d1"]:
        raise DataError(f"toy-linear needs d2 >= d1 (the paper's assumption), got d1={params['d1']}, d2={params['d2']}")
    if not params["alpha"] > 0 or not params["beta_norm"] > 0:
        raise DataError("toy-linear settings alpha and beta_norm must be positive")
    if not 0 < params["p"] <= 1:
        raise DataError(f"toy-linear setting p (the fraction of outliers) must be in (0, 1], got {params['p']}")
    return params


def make_beta(d1: int, norm: float, seed: int) -> np.ndarray:
    direction = rng_for(seed, STREAM_FIXED).standard_normal(d1)
    return direction * (norm / np.linalg.norm(direction))


def sample(n: int, params: dict[str, float], beta: np.ndarray, rng: np.random.Generator):
    """(inputs [n, d1+d2], targets [n], sign of x_o per sample in {-1, 0, +1})."""
    d1, d2, alpha, p = int(params["d1"]), int(params["d2"]), params["alpha"], params["p"]
    x = rng.standard_normal((n, d1))
    k = int(round(p * n))
    signs = np.zeros(n)
    outliers = rng.choice(n, size=k, replace=False)
    signs[outliers] = rng.permutation(np.where(np.arange(k) < k // 2, 1.0, -1.0))
    x_o = signs[:, None] * math.sqrt(alpha / (p * d2)) * np.ones((1, d2))
    y = x @ beta + np.abs(x_o).sum(axis=1) / math.sqrt(d2)
    inputs = np.concatenate([x, x_o], axis=1).astype(np.float32)
    return inputs, y.astype(np.float32), signs


def build(cfg: RunConfig, arg: str | None) -> Dataset:
    """The Section 3.3 regression data: x float [N, d1+d2], y float [N], loss mse."""
    params = parse_params(arg)
    n = DEFAULT_N if cfg.n is None else int(cfg.n)
    n_test = DEFAULT_N_TEST if cfg.n_test is None else int(cfg.n_test)
    beta = make_beta(int(params["d1"]), params["beta_norm"], cfg.seed)
    x, y, signs = sample(n, params, beta, rng_for(cfg.seed, STREAM_TRAIN))
    x_test, y_test, _ = sample(n_test, params, beta, rng_for(cfg.seed, STREAM_TEST))
    meta = {
        "d1": int(params["d1"]), "d2": int(params["d2"]), "alpha": float(params["alpha"]),
        "p": float(params["p"]), "beta": [float(b) for b in beta], "beta_norm": float(params["beta_norm"]),
        "suggested_lr": 0.5 / float(params["alpha"]),
    }
    features = {"opposing": signs != 0, "opposing+": signs > 0, "opposing-": signs < 0}
    return Dataset(
        name="toy-linear", kind="vector", x=torch.from_numpy(x), y=torch.from_numpy(y), classes=[],
        x_test=torch.from_numpy(x_test), y_test=torch.from_numpy(y_test),
        features=features, meta=meta, loss="mse",
    )
