"""The tracked-loss pass: every tracked sample's loss and prediction at theta_t, with no gradient.

One definition for both drivers. Mode: train-mode forward with per-chunk batch statistics, dropout off
and BatchNorm running statistics left alone (measure_mode.batch_stats_mode), because
- the recorded loss is then a function of the weights alone, so a sample's loss going up between
  steps (frac_up, the opposing groups) is the weights moving, not a dropout mask;
- recording must not change the training: no running-stat update, no draw from torch's RNG (a
  user's loop under osig.Monitor, or a resumed run, continues exactly);
- BatchNorm normalises by the batch as in the training passes, not by running statistics that lag.
The loss is the one the optimizer minimises (label smoothing and precision included).
Full-batch steps need no such pass: their per-sample losses come from the step's own gradient pass.
"""
from __future__ import annotations

import torch

from osig_core.problem.measure_mode import batch_stats_mode
from osig_core.problem.losses import per_sample_loss, predictions
from osig_core.problem.passes import PassResult, _autocast


@torch.no_grad()
def tracked_pass(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss, label_smoothing: float = 0.0,
                 chunk_size: int = 1000, precision: str = "fp32") -> PassResult:
    """Per-sample losses, predictions and correctness over (x, y), in chunks of `chunk_size`."""
    parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    with batch_stats_mode(model):
        for i in range(0, x.shape[0], chunk_size):
            with _autocast(x.device, precision):
                out = model(x[i:i + chunk_size])
            yc = y[i:i + chunk_size]
            p, c = predictions(out, yc)
            parts.append((per_sample_loss(out, yc, loss, label_smoothing), p, c))
    return PassResult(*(torch.cat([q[j] for q in parts]) for j in range(3)))
