"""Per-sample and per-group curvature of the tracked opposing-signal groups, against a random baseline.

Due every `--per-sample-every` steps, by default (0) every CURVATURE_INTERVALS-th sharpness
interval (it costs as much as several sharpness estimates, so it runs on its own slower schedule;
the sharpness instrument runs Lanczos to its tolerance on exactly those steps) and on a loss spike at
least half an interval after the last, and only once a top eigenvector v exists. For the ids of the tracked groups (`Links.tracked_groups`) plus a
fixed random subset ("random", the size of the largest group, `--outliers-k` when there are no groups):
per sample, ||grad l_i||, v^T H(x_i) v and v . grad l_i; per group, the group mean loss, its gradient
norm, the top eigenvalue of its Hessian (a few warm-started Lanczos steps) and v^T H_group v.

BatchNorm statistics are held fixed at those of the whole training set (see measure_mode), so a
group's loss is the mean of its samples' losses and v^T H_group v is the mean of the v^T H(x_i) v.
"""
from __future__ import annotations

import numpy as np
import torch

from osig_core.data.base import Dataset
from osig_core.instruments.base import Measurement
from osig_core.instruments.hvp import LossHessian, auto_method, trainable, unflatten
from osig_core.instruments.inputs import Links, PerSampleSettings, Problem, StepInputs
from osig_core.instruments.lanczos import lanczos_top
from osig_core.problem.measure_mode import eval_mode, frozen_bn_buffers
from osig_core.instruments.per_sample_math import PerSampleCurvature

GROUP_LANCZOS_STEPS = 10
MAX_GROUPS = 6  # the three strongest pairs (the detector lists pairs strongest first)
MAX_GROUP_SAMPLES = 32  # per group: evenly spaced members, so a live run on a conv net keeps moving
GROUP_LANCZOS_TOL = 1e-3
RANDOM_GROUP = "random"
CURVATURE_INTERVALS = 20  # default: every 20th sharpness interval (= sharpness.FULL_EVERY: estimates to tolerance)


class PerSampleInstrument:
    name = "per_sample"

    def __init__(self, problem: Problem, settings: PerSampleSettings):
        self.settings, self.model, self.data = settings, problem.model, problem.data
        data: Dataset = problem.data
        self.loss = problem.loss
        self.chunk_size, self.label_smoothing = problem.chunk_size, problem.label_smoothing
        self.permutation = np.random.default_rng(int(settings.seed) + 104729).permutation(data.n)
        self.source = None  # the run's SharpnessInstrument (set by build_instruments): eigenvectors after a resume
        self.generator = torch.Generator(device=data.x.device)
        self.generator.manual_seed(int(settings.seed) + 15485867)
        self.last = -10**9  # step of the last measurement (spikes are rate-limited against it)

    def interval(self) -> int:
        """Steps between regular measurements; 0: never."""
        if self.settings.every > 0:
            return int(self.settings.every)
        every = int(self.settings.sharpness_every)
        return CURVATURE_INTERVALS * every if every > 0 else 0

    def due(self, step: int, loss_spike: bool) -> bool:
        every = self.interval()
        if every <= 0:
            return False
        return step % every == 0 or (loss_spike and step - self.last >= max(1, every // 2))

    def state_dict(self) -> dict:
        """The schedule and the generator (Lanczos restarts); the rest is fixed by the config."""
        return {"tensors": {"generator": self.generator.get_state().clone()}, "json": {"last": self.last}}

    def load_state_dict(self, state: dict) -> None:
        if "generator" in state.get("tensors", {}):
            self.generator.set_state(state["tensors"]["generator"].cpu().to(torch.uint8))
        self.last = int(state.get("json", {}).get("last", self.last))

    def groups(self, ctx: StepInputs) -> dict[str, list[int]]:
        """The tracked groups (valid ids only) plus the random baseline group."""
        tracked = ctx.links.tracked_groups or {}
        out: dict[str, list[int]] = {}
        for name, ids in tracked.items():
            valid = sorted({int(i) for i in ids if 0 <= int(i) < self.data.n})
            if valid and name != RANDOM_GROUP and len(out) < MAX_GROUPS:
                keep = np.linspace(0, len(valid) - 1, min(len(valid), MAX_GROUP_SAMPLES)).round().astype(int)
                out[str(name)] = [valid[i] for i in sorted(set(keep.tolist()))]
        size = max((len(v) for v in out.values()), default=min(int(self.settings.outliers_k), MAX_GROUP_SAMPLES))
        out[RANDOM_GROUP] = sorted(int(i) for i in self.permutation[: max(1, min(size, self.data.n))])
        return out

    def top_vector(self, links: Links) -> torch.Tensor | None:
        """v from the latest sharpness estimate (its link; after a resume, the restored instrument's)."""
        if links.sharpness is not None:
            return links.sharpness.vectors[0]
        vectors = getattr(self.source, "vectors", None)
        return vectors[0] if vectors is not None else None

    def hvp_method(self, links: Links) -> str:
        """The sharpness instrument's HVP method (it may have fallen back to double-backward)."""
        published = links.sharpness.hvp_method if links.sharpness is not None else None
        return published or getattr(self.source, "method", None) or auto_method(self.model)

    def measure(self, ctx: StepInputs) -> Measurement:
        v_flat = self.top_vector(ctx.links)
        if v_flat is None:
            return Measurement()
        self.last = ctx.step
        groups = self.groups(ctx)
        ids = sorted({i for members in groups.values() for i in members})
        named = trainable(self.model)
        params = {name: p.detach() for name, p in named}
        v_flat = v_flat.to(device=self.data.x.device, dtype=next(iter(params.values())).dtype)
        v = dict(zip(params, unflatten(v_flat, list(params.values()))))
        buffers = {**dict(self.model.named_buffers()), **frozen_bn_buffers(self.model, self.data.x, self.chunk_size)}
        idx = torch.as_tensor(ids, dtype=torch.long, device=self.data.x.device)
        with eval_mode(self.model):
            vals = PerSampleCurvature(self.model, self.loss, self.label_smoothing, params, buffers).values(
                self.data.x[idx], self.data.y[idx], v)
            position = {sample: row for row, sample in enumerate(ids)}
            method = self.hvp_method(ctx.links)
            group_stats = {name: self._group(members, [position[i] for i in members], vals, v_flat, buffers, method)
                           for name, members in groups.items()}
        per_sample = {"ids": ids, "grad_norm": vals.grad_norm.tolist(), "vHv": vals.vHv.tolist(),
                      "v_grad": vals.v_grad.tolist(), "loss": vals.loss.tolist()}
        return Measurement(records={"per_sample": per_sample, "group_curvature": group_stats})

    def _group(self, members: list[int], rows: list[int], vals, v_flat: torch.Tensor, buffers, method: str) -> dict:
        sel = torch.as_tensor(members, dtype=torch.long, device=self.data.x.device)
        op = LossHessian(self.model, self.data.x[sel], self.data.y[sel], self.loss, self.label_smoothing,
                         self.chunk_size, method, bn_buffers=buffers)
        rows_t = torch.as_tensor(rows, dtype=torch.long, device=vals.loss.device)
        eig = lanczos_top(op.hvp, v_flat.clone(), k=1, tol=GROUP_LANCZOS_TOL, max_iter=GROUP_LANCZOS_STEPS,
                          generator=self.generator)
        return {"loss": float(vals.loss[rows_t].mean()), "grad_norm": float(op.gradient().norm()),
                "top_eig": eig.eigenvalues[0], "top_eig_residual": eig.residuals[0],
                "vHv": float(vals.vHv[rows_t].mean()), "size": len(members)}
