"""`synthetic`: CIFAR-shaped images with a weak class signal and planted opposing-signal features.

Why: the paper's phenomena need large-magnitude features that correlate with the label without
deciding it ("sky" on planes and on some birds/ships). Real data hides which images carry such a
feature; here it is planted, so `Dataset.features` is the ground truth a group detector is scored on.

Recipe (measured in /work/shared/DESIGN.md, last section), in "signal units":
- per-image colour jitter N(0, 0.3) per channel, pixel noise N(0, 0.35);
- the class signal: a fixed random 5x5x3 sign pattern per class, amplitude 0.3, at a random position;
- planted features, amplitude 1.5, on an exact fraction of the listed classes (FEATURE_RATES):
  "sky" = +blue on the top two thirds, "grass" = +green on the bottom third,
  "wheels" = two dark discs near the bottom.
The tensor handed to models is exactly these signal units (no rescaling, so the measured dynamics
hold); `meta["mean"]`/`meta["std"]` map them onto a [0, 1] picture: picture = 0.5 + 0.2 * x.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from osig_core.data.base import Dataset
from osig_core.data.common import STREAM_FIXED, STREAM_TEST, STREAM_TRAIN, labels_tensor, reject_arg, rng_for

if TYPE_CHECKING:
    from osig_core.config.run_config import RunConfig

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# feature -> {class name: fraction of that class's images carrying it}
FEATURE_RATES: dict[str, dict[str, float]] = {
    "sky": {"airplane": 0.7, "bird": 0.3, "ship": 0.3},
    "grass": {"deer": 0.6, "frog": 0.6, "horse": 0.6, "dog": 0.25},
    "wheels": {"automobile": 0.7, "truck": 0.7},
}
SIZE, CHANNELS = 32, 3
SHAPE_SIZE, SHAPE_AMP = 5, 0.3
NOISE_SIGMA, JITTER_SIGMA = 0.35, 0.3
FEATURE_AMP = 1.5
DISPLAY_MEAN, DISPLAY_STD = 0.5, 0.2  # picture = 0.5 + 0.2 * x
DEFAULT_N, DEFAULT_N_TEST = 50_000, 10_000  # used when --n / --n-test is "all"


def _feature_masks() -> dict[str, np.ndarray]:
    """Pixel masks [H, W] (bool) of where each planted feature adds its signal, and in which channels."""
    rows = np.arange(SIZE)[:, None]
    cols = np.arange(SIZE)[None, :]
    top = np.broadcast_to(rows < (2 * SIZE) // 3, (SIZE, SIZE))
    bottom = np.broadcast_to(rows >= (2 * SIZE) // 3, (SIZE, SIZE))
    r = 3.5
    discs = ((rows - 25) ** 2 + (cols - 9) ** 2 <= r * r) | ((rows - 25) ** 2 + (cols - 22) ** 2 <= r * r)
    return {"sky": top, "grass": bottom, "wheels": discs}


def _feature_pattern(name: str) -> np.ndarray:
    """The additive pattern [C, H, W] one planted feature puts on an image."""
    mask = _feature_masks()[name].astype(np.float32)
    pattern = np.zeros((CHANNELS, SIZE, SIZE), dtype=np.float32)
    if name == "sky":
        pattern[2] = FEATURE_AMP * mask
    elif name == "grass":
        pattern[1] = FEATURE_AMP * mask
    else:  # wheels: dark in every channel
        pattern[:] = -FEATURE_AMP * mask
    return pattern


def class_templates(seed: int) -> np.ndarray:
    """The fixed per-class 5x5x3 sign patterns [classes, 5, 5, C], scaled to SHAPE_AMP."""
    rng = rng_for(seed, STREAM_FIXED)
    signs = rng.integers(0, 2, size=(len(CLASSES), SHAPE_SIZE, SHAPE_SIZE, CHANNELS)) * 2 - 1
    return (SHAPE_AMP * signs).astype(np.float32)


def balanced_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly class-balanced labels (first classes get the remainder), in a random order."""
    return rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)


def carriers(y: np.ndarray, rates: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """bool [N]: an exact fraction (rounded) of each listed class's samples, chosen at random."""
    out = np.zeros(len(y), dtype=bool)
    for cls_name, rate in rates.items():
        ids = np.flatnonzero(y == CLASSES.index(cls_name))
        k = int(round(rate * len(ids)))
        out[rng.choice(ids, size=k, replace=False)] = True
    return out


def generate(n: int, seed: int, stream: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """n images [N, C, H, W] float32 in signal units, labels [N], planted features name -> bool [N]."""
    rng = rng_for(seed, stream)
    y = balanced_labels(n, rng)
    # pixel noise from torch's generator: ~2.5x faster than numpy's for 150M normals
    noise_gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
    x = torch.randn((n, CHANNELS, SIZE, SIZE), generator=noise_gen).mul_(NOISE_SIGMA).numpy()
    x += (JITTER_SIGMA * rng.standard_normal((n, CHANNELS, 1, 1), dtype=np.float32))
    # class shape at a random position: fancy indexing [N,5,5] + channel slice -> [N,5,5,C]
    r0 = rng.integers(0, SIZE - SHAPE_SIZE + 1, size=n)
    c0 = rng.integers(0, SIZE - SHAPE_SIZE + 1, size=n)
    k = np.arange(SHAPE_SIZE)
    ni = np.arange(n)[:, None, None]
    rr = r0[:, None, None] + k[None, :, None]
    cc = c0[:, None, None] + k[None, None, :]
    x[ni, :, rr, cc] += class_templates(seed)[y]
    features: dict[str, np.ndarray] = {}
    for name, rates in FEATURE_RATES.items():
        has = carriers(y, rates, rng)
        x[has] += _feature_pattern(name)
        features[name] = has
    return x, y, features


def build(cfg: RunConfig, arg: str | None) -> Dataset:
    """The default dataset: generated in code, deterministic from cfg.seed (see module docstring)."""
    reject_arg("synthetic", arg)
    n = DEFAULT_N if cfg.n is None else int(cfg.n)
    n_test = DEFAULT_N_TEST if cfg.n_test is None else int(cfg.n_test)
    x, y, features = generate(n, cfg.seed, STREAM_TRAIN)
    x_test, y_test, _ = generate(n_test, cfg.seed, STREAM_TEST)
    meta = {
        "mean": [DISPLAY_MEAN] * CHANNELS,
        "std": [DISPLAY_STD] * CHANNELS,
        "features_by_class": {f: dict(r) for f, r in FEATURE_RATES.items()},
        "recipe": "5x5 class shape amp 0.3 at a random place; noise 0.35; colour jitter 0.3; "
                  "sky/grass/wheels amp 1.5 (see osig_core/data/synthetic.py)",
    }
    return Dataset(
        name="synthetic", kind="image",
        x=torch.from_numpy(x), y=labels_tensor(y), classes=list(CLASSES),
        x_test=torch.from_numpy(x_test), y_test=labels_tensor(y_test),
        features=features, meta=meta, loss="ce",
        feature_images={name: torch.from_numpy(_feature_pattern(name)) for name in FEATURE_RATES},
    )
