"""vit: a small Vision Transformer (patch 4, dim 128 x width, depth 4, MLP ratio 2, mean pool -> head)."""
from __future__ import annotations

import torch
from torch import nn

from osig_core.data.base import DataError, Dataset
from osig_core.models.common import heads_for, image_input, scaled
from osig_core.models.transformer import Block

PATCH = 4
DEPTH = 4


class ViT(nn.Module):
    def __init__(self, channels: int, size: tuple[int, int], dim: int, heads: int, num_outputs: int):
        super().__init__()
        self.patchify = nn.Conv2d(channels, dim, PATCH, stride=PATCH)  # trailing pixels (H % 4) are dropped
        num_patches = (size[0] // PATCH) * (size[1] // PATCH)
        self.pos = nn.Parameter(torch.zeros(1, num_patches, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp_ratio=2, causal=False) for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patchify(x).flatten(2).transpose(1, 2) + self.pos  # [B, patches, dim]
        return self.head(self.norm(self.blocks(tokens)).mean(1))


def build(data: Dataset, width: float) -> nn.Module:
    c, h, w = image_input(data, "vit")
    if h < PATCH or w < PATCH:
        raise DataError(f"model 'vit' needs images of at least {PATCH}x{PATCH} pixels, got {h}x{w}")
    dim = scaled(128, width)
    return ViT(c, (h, w), dim, heads_for(dim, 4), data.num_outputs)
