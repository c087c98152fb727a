"""Helpers the dataset builders share: subset sizes, per-channel normalisation, seeded streams.

Kept apart from the builders so every dataset subsets and normalises the same way, which is what
lets the front rebuild a picture from `meta["mean"]`/`meta["std"]` and lets runs be reproduced.
"""
from __future__ import annotations

import numpy as np
import torch

from osig_core.data.base import DataError, balanced_subset

# Which stream of a seed each use draws from: train, test and fixed parts never share numbers.
STREAM_TRAIN, STREAM_TEST, STREAM_FIXED = 0, 1, 2


def rng_for(seed: int, stream: int) -> np.random.Generator:
    """An independent, reproducible generator for one use (train/test/fixed) of a run's seed."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, stream])


def reject_arg(name: str, arg: str | None) -> None:
    """Datasets that take no argument say so instead of silently ignoring one."""
    if arg not in (None, ""):
        raise DataError(f"dataset '{name}' takes no argument, got '{name}:{arg}'")


def subset_ids(y: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Sorted ids of a deterministic class-balanced subset of size n (all ids when n is None)."""
    if n is None or n >= len(y):
        return np.arange(len(y))
    return balanced_subset(np.asarray(y), int(n), int(seed))


def random_ids(total: int, n: int | None, seed: int, stream: int) -> np.ndarray:
    """Sorted ids of a seeded random subset of size n out of `total` (all when n is None)."""
    if n is None or n >= total:
        return np.arange(total)
    return np.sort(rng_for(seed, stream).choice(total, size=int(n), replace=False))


def to_unit_float(x: np.ndarray) -> np.ndarray:
    """uint8 pixels become [0, 1] float32; float pixels are kept as float32."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    return x.astype(np.float32, copy=False)


def channel_stats(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of float images [N, C, H, W] (std floored so flat channels work)."""
    mean = x.mean(axis=(0, 2, 3), dtype=np.float64)
    std = x.std(axis=(0, 2, 3), dtype=np.float64)
    std = np.where(std < 1e-6, 1.0, std)
    return [float(v) for v in mean], [float(v) for v in std]


def normalise(x: np.ndarray, mean: list[float], std: list[float]) -> torch.Tensor:
    """Float images [N, C, H, W] -> (x - mean) / std per channel, as a float32 tensor."""
    m = np.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)
    out = np.empty(x.shape, dtype=np.float32)
    np.subtract(x, m, out=out)
    np.divide(out, s, out=out)
    return torch.from_numpy(out)


def image_tensors(x: np.ndarray, x_test: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor | None, dict]:
    """Normalise train (and test) images with the training set's channel statistics.

    Returns (x, x_test, meta) where meta holds "mean"/"std" so display_images can undo it.
    """
    mean, std = channel_stats(x)
    xt = normalise(x, mean, std)
    xtt = normalise(x_test, mean, std) if x_test is not None else None
    return xt, xtt, {"mean": mean, "std": std}


def labels_tensor(y: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
