"""Which instruments a run uses: built once from the config, each keeps its own schedule (`due`)."""
from __future__ import annotations

import torch

from osig_core.config import RunConfig
from osig_core.data.base import Dataset
from osig_core.optim.base import OptimizerSpec


def build_instruments(cfg: RunConfig, model: torch.nn.Module, data: Dataset, spec: OptimizerSpec,
                      device: torch.device) -> list:
    """Order matters: sharpness first (it shares the top eigenvector), then what uses it."""
    out = []
    if cfg.sharpness_every > 0:
        from osig_core.instruments.per_sample import PerSampleInstrument
        from osig_core.instruments.sharpness import SharpnessInstrument
        sharpness = SharpnessInstrument(cfg, model, data, spec, device)
        per_sample = PerSampleInstrument(cfg, model, data, spec, device)
        per_sample.source = sharpness  # its eigenvectors, also right after a resume
        out += [sharpness, per_sample]
    if cfg.probes and data.kind == "image":
        from osig_core.instruments.probes import ProbeInstrument
        out.append(ProbeInstrument(cfg, model, data, spec, device))
    return out
