"""mlp: flatten -> 256 -> 256 (x width, ReLU) -> head, He-initialised (the DESIGN prototype's net)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from osig_core.data.base import Dataset
from osig_core.models.common import kaiming_init, scaled


class MLP(nn.Module):
    """A ReLU MLP on flattened inputs; token ids (text) are one-hot encoded first."""

    def __init__(self, in_features: int, hidden: list[int], num_outputs: int, vocab: int | None = None):
        super().__init__()
        self.vocab = vocab
        layers: list[nn.Module] = []
        prev = in_features
        for h in hidden:
            layers += [nn.Linear(prev, h), nn.ReLU()]
            prev = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(prev, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.vocab is not None:
            x = F.one_hot(x, self.vocab).to(self.head.weight.dtype)
        return self.head(self.body(x.flatten(1)))


def build(data: Dataset, width: float) -> nn.Module:
    vocab = len(data.classes) if data.kind == "text" else None
    in_features = math.prod(data.input_shape) * (vocab or 1)
    hidden = [scaled(256, width), scaled(256, width)]
    return kaiming_init(MLP(in_features, hidden, data.num_outputs, vocab))
