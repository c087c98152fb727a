"""fig6-sgd: under SGD the paired groups still oscillate, far more than random subsets of their size."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from osig_core.report.figures import PALETTE, save, subplots
from osig_core.report.model import Report, fmt
from osig_core.report.pairs import top_pairs
from osig_core.report.runs import RunSet
from osig_core.report.stats import detrended_std, random_subset_stds, rows_between

SGD_CORR = -0.3  # weaker than GD: a batch need not carry the signal in either direction
VARIANCE_RATIO = 2.0  # group loss fluctuation vs the median random subset of the same size
DRAWS = 200


def build(rs: RunSet, out: Path, report: Report) -> None:
    run = rs.first
    pairs = top_pairs(run, None, k=4)
    if not pairs:
        report.unavailable("paired groups oscillate under SGD", "no opposing pair was detected")
        return
    top = pairs[0]
    report.check(f"under SGD the top pair's groups still move in opposition (corr of Δloss ≤ {SGD_CORR})",
                 f"{top.label}: corr = {top.corr:.2f} over {top.steps.size} recorded steps",
                 top.corr <= SGD_CORR, value=top.corr, events=max(top.steps.size - 1, 0), unit="loss changes")
    steps, rows = rows_between(run, int(top.steps[0]), int(top.steps[-1]))
    rows = np.nan_to_num(rows, nan=0.0)
    ratios, lines = [], []
    for side, series_ in ((0, top.side_a), (1, top.side_b)):
        ids = np.asarray(top.pair["sides"][side]["members"], dtype=np.int64)
        group_std = detrended_std(rows[:, ids].mean(axis=1))
        rand = random_subset_stds(rows, len(ids), DRAWS, seed=side)
        ratios.append(group_std / float(np.median(rand)))
        lines.append(f"side {'ab'[side]} ({len(ids)}): {fmt(group_std)} vs random median {fmt(np.median(rand))} "
                     f"(95th pct {fmt(np.quantile(rand, 0.95))})")
    worst = min(ratios)
    report.check(f"both groups' losses fluctuate ≥ {VARIANCE_RATIO:g}× more than random subsets of the same size "
                 "(std around a moving average, from the loss matrix)", "; ".join(lines) + f"; smaller ratio {worst:.1f}×",
                 worst >= VARIANCE_RATIO, value=worst, events=rows.shape[0], unit="recorded steps")
    plot(report, run, pairs, steps, rows, out)


def plot(report: Report, run, pairs, steps: np.ndarray, rows: np.ndarray, out: Path) -> None:
    m = run.metrics()
    fig, ax = subplots(len(pairs), 1, height=2.2, sharex=False)
    rng = np.random.default_rng(0)
    for i, p in enumerate(pairs):
        a = ax[i, 0]
        a.plot(p.steps, p.side_a, color=PALETTE[0], lw=0.9, label=p.label.split(": ", 1)[1].split(" vs ")[0])
        a.plot(p.steps, p.side_b, color=PALETTE[1], lw=0.9, label=p.label.split(" vs ")[1])
        keep = (m["step"] >= p.steps[0]) & (m["step"] <= p.steps[-1])
        key = "tracked_loss" if "tracked_loss" in m else "train_loss"
        ok = keep & np.isfinite(m[key])
        a.plot(m["step"][ok], m[key][ok], color="k", lw=1, label="train loss")
        size = len(p.pair["sides"][0]["members"])
        s, r = rows_between(run, int(p.steps[0]), int(p.steps[-1]))
        ids = rng.choice(r.shape[1], size=min(size, r.shape[1]), replace=False)
        a.plot(s, np.nan_to_num(r[:, ids]).mean(axis=1), color="0.6", lw=0.9, label=f"random {size} samples")
        a.set_title(f"pair {p.pair['id']}", fontsize=8)
        a.legend(fontsize=6, loc="upper right")
    ax[-1, 0].set_xlabel("step")
    save(fig, report, out, "fig6a", "SGD: losses of the top opposing pairs' groups, the training loss and a random "
         "subset of the same size.")
