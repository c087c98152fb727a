"""gpt: a char-level nanoGPT-style decoder; returns the logits of the token after the last position.

Token + learned position embeddings, 2 causal pre-LN blocks (n_embd 64 x width, 4 heads or fewer so
they divide n_embd), a final LayerNorm and an untied head. GPT-2 style init: N(0, 0.02), residual
projections scaled by 1/sqrt(2 * layers).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from osig_core.data.base import Dataset
from osig_core.models.common import heads_for, scaled, text_input
from osig_core.models.transformer import Block

LAYERS = 2


class CharGPT(nn.Module):
    def __init__(self, vocab: int, context: int, dim: int, heads: int):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(context, dim)
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp_ratio=4, causal=True) for _ in range(LAYERS)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)
        for name, p in self.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                std = 0.02 / math.sqrt(2 * LAYERS) if name.endswith(("attn.proj.weight", "mlp.2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        h = self.tok(x) + self.pos(torch.arange(t, device=x.device))
        h = self.norm(self.blocks(h))
        return self.head(h[:, -1])  # [B, vocab]: next-token logits after the last position


def build(data: Dataset, width: float) -> nn.Module:
    context, vocab = text_input(data, "gpt")
    dim = scaled(64, width)
    return CharGPT(vocab, context, dim, heads_for(dim, 4))
