"""Opposing pairs as the reports use them: which pair to show, and how its two sides move."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from osig_core.report.stats import aligned, diff_corr, mean_abs_diff
from osig_core.store.reader import RunReader

MIN_STEPS = 8  # a pair must have been followed this many steps to be judged


@dataclass
class PairMotion:
    pair: dict  # the stored pair (id, score, sides, ...)
    steps: np.ndarray
    side_a: np.ndarray  # mean loss of side a at each step
    side_b: np.ndarray
    corr: float  # correlation of the two sides' step-to-step loss changes
    swing: float  # mean |Δ side loss| over both sides

    @property
    def label(self) -> str:
        return f"pair {self.pair['id']}: {side_name(self.pair, 0)} vs {side_name(self.pair, 1)}"


def side_name(pair: dict, side: int) -> str:
    """'airplane' or 'ship+bird' from a side's class counts; 'side a/b' when there are no classes."""
    classes = pair["sides"][side].get("classes") or {}
    if not classes:
        return "side " + "ab"[side]
    top = sorted(classes.items(), key=lambda kv: -kv[1])[:2]
    return "+".join(str(k) for k, _ in top)


def pair_motion(run: RunReader, pair: dict, start: int | None = None) -> PairMotion | None:
    """The pair's two side-loss series (from `start` on) and their opposition; None if too short."""
    gl = run.group_losses(int(pair["id"]))
    if 0 not in gl or 1 not in gl:
        return None
    steps, a, b = aligned(gl[0][0], gl[0][1], gl[1][0], gl[1][1])
    if start is not None:
        keep = steps >= start
        steps, a, b = steps[keep], a[keep], b[keep]
    if steps.size < MIN_STEPS:
        return None
    swing = (mean_abs_diff(a) + mean_abs_diff(b)) / 2
    return PairMotion(pair, steps, a, b, diff_corr(a, b), swing)


def top_pairs(run: RunReader, start: int | None = None, k: int = 3) -> list[PairMotion]:
    """The k highest-scoring pairs followed for at least MIN_STEPS steps after `start`."""
    out = []
    for p in run.pairs_all():
        m = pair_motion(run, p, start)
        if m is not None:
            out.append(m)
        if len(out) >= k:
            break
    return out


def overall_swing(run: RunReader, steps: np.ndarray, metrics: dict | None = None) -> float:
    """Mean |Δ train_loss| over the given steps (consecutive recorded steps only)."""
    m = metrics if metrics is not None else run.metrics()
    idx = np.searchsorted(m["step"], steps)
    idx = idx[(idx < m["step"].size)]
    loss = m["train_loss"][idx]
    return mean_abs_diff(loss[np.isfinite(loss)]) if loss.size > 1 else math.nan
