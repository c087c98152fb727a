"""cnn: a small conv net (conv 32 -> pool -> conv 64 -> pool, x width) -> ReLU hidden layer -> head."""
from __future__ import annotations

import torch
from torch import nn

from osig_core.data.base import DataError, Dataset
from osig_core.models.common import image_input, kaiming_init, scaled


class SmallCNN(nn.Module):
    def __init__(self, channels: int, size: tuple[int, int], c1: int, c2: int, hidden: int, num_outputs: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        h, w = size[0] // 4, size[1] // 4  # two 2x2 poolings (floor)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(c2 * h * w, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.fc(self.features(x)))


def build(data: Dataset, width: float) -> nn.Module:
    c, h, w = image_input(data, "cnn")
    if h < 4 or w < 4:
        raise DataError(f"model 'cnn' needs images of at least 4x4 pixels, got {h}x{w}")
    net = SmallCNN(c, (h, w), scaled(32, width), scaled(64, width), scaled(128, width), data.num_outputs)
    return kaiming_init(net)
