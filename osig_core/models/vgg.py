"""vgg11 / vgg11-bn: the VGG-11 feature stack (x width) for 32x32 or 28x28 inputs, classifier = head.

A max-pool is skipped once the feature map is 1x1, so 28x28 Fashion-MNIST (28-14-7-3-1) works as well
as 32x32 CIFAR (32-16-8-4-2-1). He init throughout: without it VGG-11 without BN barely trains at lr 0.05.
"""
from __future__ import annotations

import torch
from torch import nn

from osig_core.data.base import Dataset
from osig_core.models.common import image_input, kaiming_init, scaled

VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG(nn.Module):
    def __init__(self, channels: int, size: tuple[int, int], widths: list[int | str], batch_norm: bool, num_outputs: int):
        super().__init__()
        layers: list[nn.Module] = []
        h, w = size
        prev = channels
        for v in widths:
            if v == "M":
                if min(h, w) >= 2:
                    layers.append(nn.MaxPool2d(2))
                    h, w = h // 2, w // 2
                continue
            layers.append(nn.Conv2d(prev, v, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU())
            prev = v
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(prev * h * w, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def _build(data: Dataset, width: float, batch_norm: bool, name: str) -> nn.Module:
    c, h, w = image_input(data, name)
    widths = [v if v == "M" else scaled(v, width) for v in VGG11]
    return kaiming_init(VGG(c, (h, w), widths, batch_norm, data.num_outputs))


def build_vgg11(data: Dataset, width: float) -> nn.Module:
    return _build(data, width, batch_norm=False, name="vgg11")


def build_vgg11_bn(data: Dataset, width: float) -> nn.Module:
    return _build(data, width, batch_norm=True, name="vgg11-bn")
