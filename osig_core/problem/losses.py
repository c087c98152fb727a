"""Per-sample losses: the engine, the curvature instruments and the recorder share this one definition."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def per_sample_loss(output: torch.Tensor, target: torch.Tensor, loss: str, label_smoothing: float = 0.0) -> torch.Tensor:
    """Loss of every sample in the batch, shape [B].

    ce:  cross-entropy on logits [B, C] against class ids [B].
    mse: 0.5 * squared error; for class ids the target is one-hot (as in Cohen et al.),
         for float targets [B] the output [B, 1] is compared directly (regression).
    a callable(output, target) -> [B]: the loss of a user's own loop (osig.Monitor).
    """
    if callable(loss):
        return loss(output, target).float()
    if loss == "ce":
        return F.cross_entropy(output.float(), target, reduction="none", label_smoothing=label_smoothing)
    if loss == "mse":
        out = output.float()
        if target.dtype in (torch.int64, torch.int32):
            # one-hot by comparison (F.one_hot is not supported under vmap, used for per-sample curvature)
            tgt = (target.unsqueeze(-1) == torch.arange(out.shape[-1], device=out.device)).to(out.dtype)
            return 0.5 * (out - tgt).pow(2).sum(-1)
        return 0.5 * (out.reshape(out.shape[0], -1) - target.reshape(target.shape[0], -1).to(out.dtype)).pow(2).sum(-1)
    raise ValueError(f"unknown loss {loss!r}")


def predictions(output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(predicted class ids, correct flags) for classification; regression counts |err| < 0.1 as correct."""
    if target.dtype in (torch.int64, torch.int32):
        pred = output.argmax(-1)
        return pred, pred == target
    pred = output.reshape(output.shape[0], -1)[:, 0]
    return pred, (pred - target).abs() < 0.1
