"""fm-fig1-gd on real images: progressive sharpening to 2/eta, the edge of stability, and a training
loss that keeps falling but not monotonically (it rises at a good share of the steps at 2/eta)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from osig_core.report.eos import plot_loss_and_sharpness, sharpness_checks
from osig_core.report.model import Report, fmt
from osig_core.report.pairs import top_pairs
from osig_core.report.runs import RunSet

FALL = 0.5  # the loss ends at most at half its first value: it falls
MIN_RISES = 0.1  # after the onset it rises at least at this share of the steps (a monotone fall: none)
TAIL = 10  # the end of training is the mean of the last recorded losses


def loss_shape(steps: np.ndarray, loss: np.ndarray, start: int) -> tuple[float, float, int]:
    """(last/first loss, share of the steps from `start` at which the loss rose, steps counted)."""
    ok = np.isfinite(loss)
    steps, loss = steps[ok], loss[ok]
    if loss.size < 3 or not loss[0] > 0:
        return math.nan, math.nan, 0
    end = float(loss[-TAIL:].mean()) / float(loss[0])
    after = loss[steps >= start]
    d = np.diff(after)
    return end, (float((d > 0).mean()) if d.size else math.nan), int(d.size)


def loss_checks(report: Report, metrics: dict, onset: int | None) -> None:
    if onset is None:
        report.unavailable("the loss falls, non-monotonically, at the edge of stability", "the sharpness never reached 2/η")
        return
    end, rises, count = loss_shape(metrics["step"], metrics["train_loss"], onset)
    report.check(f"the training loss falls (ends ≤ {FALL:.0%} of its first value) but not monotonically: after the "
                 f"onset it rises at ≥ {MIN_RISES:.0%} of the steps",
                 f"last/first = {fmt(end)}; rises at {rises:.0%} of {count} steps from step {onset}",
                 end <= FALL and rises >= MIN_RISES, value=rises, events=count, unit="steps")


def build(rs: RunSet, out: Path, report: Report) -> None:
    run = rs.first
    metrics = run.metrics()
    onset = sharpness_checks(report, run, metrics)
    loss_checks(report, metrics, onset)
    plot_loss_and_sharpness(report, run, metrics, top_pairs(run, onset, k=2), out)
