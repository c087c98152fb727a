"""Pieces of the sharpness instrument that hold none of its state: which samples its loss averages,
counting products for the activity line, keeping eigenvector signs continuous, restoring theta_ref."""
from __future__ import annotations

import numpy as np
import torch

from osig_core.data.base import Dataset, balanced_subset


def sharpness_indices(subset: int | None, seed: int, data: Dataset) -> torch.Tensor | None:
    """Sample ids of the fixed sharpness subset (class-balanced when possible); None: all samples."""
    m = subset
    if m is None or m >= data.n:
        return None
    if data.is_classification:
        ids = balanced_subset(data.y.detach().cpu().numpy(), m, seed)
    else:
        ids = np.sort(np.random.default_rng(seed).permutation(data.n)[:m])
    return torch.as_tensor(ids, dtype=torch.long, device=data.x.device)


def as_flat(value, like: torch.Tensor) -> torch.Tensor | None:
    """theta_ref as restored by the driver (flat tensor, list of tensors, or array) -> flat tensor."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        value = torch.cat([torch.as_tensor(t).reshape(-1) for t in value])
    flat = torch.as_tensor(value).reshape(-1)
    return flat.to(device=like.device, dtype=like.dtype) if flat.numel() == like.numel() else None


def counting_products(matvec, report, max_iter: int, prefix: str):
    """matvec that says "HVP k of <= m" before each product, so a long estimate is never a silent wait."""
    if report is None:
        return matvec
    count = [0]

    def counted(v: torch.Tensor) -> torch.Tensor:
        count[0] += 1
        report(f"{prefix}HVP {count[0]} of ≤ {max_iter}")
        return matvec(v)
    return counted


def align_signs(vectors: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
    """Flip each eigenvector to agree with its predecessor, so projections form a continuous series."""
    if previous is None or previous.shape != vectors.shape:
        return vectors
    signs = torch.where((vectors * previous).sum(1) < 0, -1.0, 1.0).to(vectors.dtype)
    return vectors * signs[:, None]
