"""Probes: what the network says about plain colour images (the paper's "sky" block) or a user image.

Due every `--probe-every` steps when `--probes` names any, for image data only. Built-in
probes are whole images of one colour (sky = (0.5, 0.7, 1.0), red, green, white, black) in the
training data's normalisation; `feature:NAME` is a planted feature drawn alone on an empty image
(`Dataset.feature_images`: on the synthetic data, what "sky" really is there, +blue on the top two
thirds, where the paper's colour block is what sky looks like in CIFAR); any other name is a
PNG/JPEG path, resized to the data's H x W.
Records each probe's logits, softmax probabilities and penultimate-feature norm (the input to
`model.head`, read with a forward pre-hook), plus the scalar `feature_norm_mean` over a fixed subset
of at most 1000 training images. BatchNorm uses the statistics of that subset, held fixed.
"""
from __future__ import annotations

import numpy as np
import torch

from osig_core.data.base import DataError, Dataset
from osig_core.instruments.base import Measurement
from osig_core.instruments.inputs import ProbeSettings, Problem, StepInputs
from osig_core.components.probe_names import FEATURE_PROBE
from osig_core.problem.measure_mode import eval_mode, frozen_bn_buffers

PROBE_COLOURS = {"sky": (0.5, 0.7, 1.0), "red": (1.0, 0.0, 0.0), "green": (0.0, 0.6, 0.0),
                 "white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}
FEATURE_SUBSET = 1000


def _normalise(rgb: np.ndarray, data: Dataset) -> torch.Tensor:
    """[H, W, 3] floats in [0, 1] -> [C, H, W] in the data's normalisation (grey for 1 channel)."""
    channels = data.input_shape[0]
    img = torch.as_tensor(rgb, dtype=torch.float32).permute(2, 0, 1)
    if channels == 1:
        img = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]).unsqueeze(0)
    elif channels != 3:
        img = img.mean(0, keepdim=True).expand(channels, -1, -1)
    mean = torch.tensor(data.meta.get("mean", [0.0] * channels), dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(data.meta.get("std", [1.0] * channels), dtype=torch.float32).view(-1, 1, 1)
    return (img - mean) / std


def probe_image(name: str, data: Dataset) -> torch.Tensor:
    """One probe as a [C, H, W] input tensor (on the data's device and dtype)."""
    _, h, w = data.input_shape
    if name.startswith(FEATURE_PROBE):
        feature = name[len(FEATURE_PROBE):]
        if feature not in data.feature_images:
            have = ", ".join(sorted(data.feature_images)) or "none"
            raise DataError(f"dataset '{data.name}' has no planted feature '{feature}' to probe (it has: {have})")
        return data.feature_images[feature].to(device=data.x.device, dtype=data.x.dtype)
    if name in PROBE_COLOURS:
        rgb = np.tile(np.asarray(PROBE_COLOURS[name], dtype=np.float32), (h, w, 1))
    else:
        from PIL import Image, UnidentifiedImageError
        try:
            with Image.open(name) as im:
                rgb = np.asarray(im.convert("RGB").resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0
        except (OSError, UnidentifiedImageError) as e:
            raise DataError(f"probe image '{name}' cannot be read as an image ({e})") from None
    return _normalise(rgb, data).to(device=data.x.device, dtype=data.x.dtype)


class ProbeInstrument:
    name = "probes"

    def __init__(self, problem: Problem, settings: ProbeSettings):
        self.settings, self.model, self.data = settings, problem.model, problem.data
        model, data = problem.model, problem.data
        self.chunk_size = problem.chunk_size
        self.names = list(settings.probes)
        self.active = (bool(self.names) and data.kind == "image" and len(data.input_shape) == 3
                       and isinstance(getattr(model, "head", None), torch.nn.Module))
        self.images = torch.stack([probe_image(p, data) for p in self.names]) if self.active else None
        ids = np.sort(np.random.default_rng(int(settings.seed) + 15485863).permutation(data.n)[:FEATURE_SUBSET])
        self.subset = torch.as_tensor(ids, dtype=torch.long, device=data.x.device)

    def due(self, step: int, loss_spike: bool) -> bool:
        return self.active and step % max(1, int(self.settings.every)) == 0

    def state_dict(self) -> dict:
        """Probes keep no state between measurements (everything is fixed by the settings)."""
        return {"tensors": {}, "json": {}}

    def load_state_dict(self, state: dict) -> None:
        pass

    @torch.no_grad()
    def measure(self, ctx: StepInputs) -> Measurement:
        if not self.active:
            return Measurement()
        x_ref = self.data.x[self.subset]
        buffers = {**dict(self.model.named_buffers()), **frozen_bn_buffers(self.model, x_ref, self.chunk_size)}
        logits, feats = self._forward(self.images, buffers)
        _, ref_feats = self._forward(x_ref, buffers)
        probs = torch.softmax(logits.float(), dim=-1)
        records = {name: {"logits": logits[i].float().tolist(), "probs": probs[i].tolist(),
                          "feature_norm": float(feats[i].norm())} for i, name in enumerate(self.names)}
        return Measurement(scalars={"feature_norm_mean": float(ref_feats.norm(dim=1).mean())},
                           records={"probes": records})

    def _forward(self, x: torch.Tensor, buffers: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits [B, C], penultimate features [B, F]) with the model in eval mode, chunked."""
        from torch.func import functional_call
        captured: list[torch.Tensor] = []
        handle = self.model.head.register_forward_pre_hook(lambda m, inp: captured.append(inp[0].detach()))
        outs = []
        try:
            with eval_mode(self.model):
                for s in range(0, x.shape[0], self.chunk_size):
                    outs.append(functional_call(self.model, buffers, (x[s:s + self.chunk_size],)))
        finally:
            handle.remove()
        feats = torch.cat([f.reshape(f.shape[0], -1) for f in captured])
        return torch.cat(outs).reshape(x.shape[0], -1), feats
