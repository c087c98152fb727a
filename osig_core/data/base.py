"""The Dataset every builder returns: tensors in sample-id order plus what the front needs to show a sample."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


class DataError(ValueError):
    """A user-facing data problem (missing file, bad shapes); the message is one sentence."""


@dataclass
class Dataset:
    name: str
    kind: str  # "image" | "text" | "regression" | "vector"
    x: torch.Tensor  # [N, ...]: images float [N,C,H,W]; text long [N,T]; regression/vector float [N,D]
    y: torch.Tensor  # [N]: long class ids, or float targets for regression
    classes: list[str]  # class names; text: the vocabulary (one char each); regression: []
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None
    features: dict[str, np.ndarray] = field(default_factory=dict)  # planted ground truth: name -> bool [N]
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. d1/d2 for toy-linear, mean/std for images
    loss: str = "ce"  # the natural loss for this data ("ce" or "mse")
    # each planted feature drawn alone on an empty image [C, H, W] in model input units: the purest
    # picture of that signal, what `--probe feature:NAME` shows the network (the paper's colour block)
    feature_images: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def is_classification(self) -> bool:
        return self.y.dtype == torch.long

    @property
    def num_outputs(self) -> int:
        return len(self.classes) if self.is_classification else 1

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def display_images(self, idx: np.ndarray | None = None) -> np.ndarray | None:
        """uint8 [M, H, W, 3] pictures of samples for thumbnails (None for non-image data)."""
        if self.kind != "image":
            return None
        x = self.x if idx is None else self.x[torch.as_tensor(idx, dtype=torch.long)]
        mean = torch.tensor(self.meta.get("mean", [0.0] * x.shape[1])).view(1, -1, 1, 1)
        std = torch.tensor(self.meta.get("std", [1.0] * x.shape[1])).view(1, -1, 1, 1)
        img = (x.detach().cpu().float() * std + mean).clamp(0, 1)
        if img.shape[1] == 1:
            img = img.expand(-1, 3, -1, -1)
        return (img.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()

    def describe(self, i: int) -> str:
        """A one-line text rendering of sample i: text context with [target], or the x value."""
        if self.kind == "text":
            itos = self.classes
            ctx = "".join(itos[t] for t in self.x[i].tolist())
            return f"{ctx}[{itos[int(self.y[i])]}]"
        if self.kind == "regression" and self.x.shape[1] == 1:
            return f"x={float(self.x[i, 0]):+.4f}"
        return f"sample {i} ({self.classes[int(self.y[i])]})" if self.classes else f"sample {i}"


def balanced_subset(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Deterministic class-balanced subset of size n (sorted ids), as equal per class as possible."""
    y = np.asarray(y)
    if n >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    per = {c: rng.permutation(np.flatnonzero(y == c)) for c in classes}
    take: list[int] = []
    k = 0
    while len(take) < n:
        for c in classes:
            if k < len(per[c]) and len(take) < n:
                take.append(int(per[c][k]))
        k += 1
    return np.sort(np.array(take))
