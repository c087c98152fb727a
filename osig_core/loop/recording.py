"""Per-sample loss recording and what is derived from consecutive rows (frac_up, extremes, groups).

Rows are rounded to float16 before anything is derived from them, so a resumed run (which reads
its previous row back from the store) derives exactly what the uninterrupted run did.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from osig_core.data.base import Dataset, balanced_subset
from osig_core.problem.passes import PassResult


@dataclass
class StepRecord:
    losses: np.ndarray  # float32 [N] (NaN for untracked samples), the float16 values widened
    losses_f16: np.ndarray
    preds: np.ndarray | None
    scalars: dict[str, float] = field(default_factory=dict)
    records: dict[str, Any] = field(default_factory=dict)
    group_losses: list[tuple[int, int, float]] = field(default_factory=list)
    pairs_changed: list[dict] = field(default_factory=list)
    tracked_groups: dict[str, list[int]] = field(default_factory=dict)
    groups_time: float = 0.0  # seconds the group detector took (the engine reports it apart from recording)


@dataclass(frozen=True)
class RecorderSettings:
    """What the recorder needs of a run (`osig run`: osig_core/engine/inputs.py; osig.Monitor: its
    arguments). The defaults are RunConfig's (tests/test_instrument_inputs.py keeps them equal)."""
    full_batch: bool = False  # every step's losses come from the step's own pass (recorded every step)
    track: int | None = None  # a fixed class-balanced subset of this many samples; None: all
    track_every: int = 1
    groups: bool = True
    outliers_k: int = 24
    group_window: int = 20
    seed: int = 0


class LossRecorder:
    def __init__(self, settings: RecorderSettings, data: Dataset):
        self.settings = cfg = settings
        self.n = data.n
        self.full_batch = cfg.full_batch
        labels = data.y.cpu().numpy()
        if self.full_batch or cfg.track is None or cfg.track >= data.n:
            self.tracked = None
        else:
            strat = labels if data.is_classification else np.zeros(len(labels), int)
            self.tracked = balanced_subset(strat, cfg.track, cfg.seed + 7)
        self.prev: np.ndarray | None = None
        self.prev_preds: np.ndarray | None = None
        self._tracked_index: torch.Tensor | None = None  # self.tracked on the data's device, copied there once
        self.detector = None
        if cfg.groups:
            from osig_core.groups.detector import GroupDetector
            self.detector = GroupDetector(self.n, labels, list(data.classes) if data.is_classification else [],
                                          k=cfg.outliers_k, window=cfg.group_window, seed=cfg.seed)
        self._last_pairs_json = ""

    def due(self, step: int) -> bool:
        return self.full_batch or step % self.settings.track_every == 0

    def tracked_index(self, device: torch.device) -> torch.Tensor | None:
        """The tracked sample ids on `device` (copied there once); None: every sample is tracked.
        The pass over them is osig_core/loop/tracked.py's."""
        if self.tracked is None:
            return None
        if self._tracked_index is None or self._tracked_index.device != torch.device(device):
            self._tracked_index = torch.as_tensor(self.tracked, device=device)
        return self._tracked_index

    def _full_row(self, values: torch.Tensor, fill: float) -> np.ndarray:
        v = values.detach().float().cpu().numpy()
        if self.tracked is None:
            return v
        row = np.full(self.n, fill, np.float32)
        row[self.tracked] = v
        return row

    def record(self, step: int, res: PassResult) -> StepRecord:
        # a diverging run's losses overflow float16 (stored as inf) and give inf - inf: data, not warnings
        with np.errstate(over="ignore", invalid="ignore"):
            return self._record(step, res)

    def _record(self, step: int, res: PassResult) -> StepRecord:
        f16 = self._full_row(res.losses, np.nan).astype(np.float16)
        losses = f16.astype(np.float32)
        preds = self._full_row(res.preds.float(), 0).astype(np.int64) if res.preds.dtype != torch.float32 else None
        rec = StepRecord(losses=losses, losses_f16=f16, preds=preds)
        tracked_loss = float(np.nanmean(losses))
        if self.tracked is not None or not self.full_batch:
            rec.scalars["tracked_loss"] = tracked_loss
        if self.prev is not None:
            ok = ~np.isnan(losses) & ~np.isnan(self.prev)
            delta = losses[ok] - self.prev[ok]
            rec.scalars["frac_up"] = float((delta > 0).mean()) if delta.size else math.nan
            if self.detector is not None:
                self._detect(step, rec)
        self.prev, self.prev_preds = losses, preds
        return rec

    def _detect(self, step: int, rec: StepRecord) -> None:
        now = np.nan_to_num(rec.losses, nan=0.0)
        prev = np.nan_to_num(self.prev, nan=0.0)
        if self.tracked is not None:  # untracked samples must not move
            mask = np.isnan(rec.losses) | np.isnan(self.prev)
            now[mask] = prev[mask]
        t0 = time.perf_counter()
        det = self.detector.update(step, prev, now, self.prev_preds, rec.preds)
        rec.groups_time = time.perf_counter() - t0
        rec.records["extremes"] = det.extremes
        rec.scalars["opposing_score"] = float(det.opposing_score)
        rec.group_losses = list(det.group_losses)
        rec.tracked_groups = dict(det.tracked_groups)
        pairs_json = json.dumps(det.pairs, sort_keys=True, default=float)
        if pairs_json != self._last_pairs_json:
            rec.records["pairs"] = det.pairs
            rec.pairs_changed = det.pairs
            self._last_pairs_json = pairs_json
        else:
            # keep last_step current in the pairs table without rewriting the per-step snapshot
            rec.pairs_changed = det.pairs

    def state_dict(self) -> dict:
        """What a checkpoint keeps so a resume continues exactly: the group detector whole and the
        last pairs snapshot written. {"tensors": {name: array}, "json": {...}}."""
        out: dict = {"tensors": {}, "json": {"last_pairs_json": self._last_pairs_json}}
        if self.detector is not None:
            det = self.detector.full_state()
            out["tensors"] = {f"detector.{k}": v for k, v in det["tensors"].items()}
            out["json"]["detector"] = det["json"]
        return out

    def load_state_dict(self, state: dict) -> None:
        """The checkpoint's part (see state_dict); raises ValueError/KeyError when it does not fit, so
        the resume passes over that checkpoint before anything is changed on disk."""
        if self.detector is not None and "detector" in state["json"]:
            self.detector.load_full_state({"json": state["json"]["detector"],
                                           "tensors": {k[9:]: np.asarray(v) for k, v in state["tensors"].items()
                                                       if k.startswith("detector.")}})
        self._last_pairs_json = str(state["json"]["last_pairs_json"])

    def restore(self, reader, step: int, state: dict | None = None) -> None:
        """After resume: the previous recorded row comes from the store. The detector was restored by
        load_state_dict from the checkpoint's `state`; for a checkpoint written before it held one, it
        is refilled from the stored rows (close to, but not always exactly, what the run had).
        Reads only rows of steps before `step`, so later rows may be missing or truncated."""
        steps, losses, preds = reader.rows_before(step)
        if not len(steps):
            return
        last = len(steps) - 1
        self.prev = np.asarray(losses[last], dtype=np.float32)
        self.prev_preds = np.asarray(preds[last]).astype(np.int64)
        if self.detector is None or (state is not None and "detector" in state.get("json", {})):
            return
        window = np.arange(len(steps))[-(self.settings.group_window + 1):]
        with np.errstate(over="ignore", invalid="ignore"):  # stored rows may hold inf (see record)
            self.detector.warm_start(np.asarray(losses[window], dtype=np.float32), [int(s) for s in steps[window]],
                                     np.asarray(preds[window]).astype(np.int64))
        self.detector.load_pairs([p for p in reader.pairs_all() if int(p["first_step"]) < step])
        snap = reader.pairs_at(step - 1)
        self._last_pairs_json = json.dumps(snap, sort_keys=True, default=float)
