"""appB-text: a char GPT shows the paper's text pair, ':' -> newline against ':' -> ' the'.

The built-in corpus marks both groups (`features`: colon_newline, colon_space), so the checks use
the ground truth: the two groups' mean losses move in opposition, swing far more than the overall
loss. How often the per-step extremes (record `extremes`) hold colon samples and the detected pair
that best matches the two groups are reported as notes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from osig_core.report.figures import PALETTE, save, subplots
from osig_core.report.model import Report, fmt
from osig_core.report.runs import RunSet
from osig_core.report.stats import diff_corr, mean_abs_diff, rows_between

MIN_CORR = -0.5
MIN_SWING = 3.0
EXAMPLES = 3


@dataclass
class ColonPair:
    pair: dict
    newline_side: int
    purity_newline: float
    purity_space: float

    @property
    def score(self) -> float:
        return min(self.purity_newline, self.purity_space)


def match(pair: dict, newline: np.ndarray, space: np.ndarray) -> ColonPair | None:
    """How well a detected pair's sides are the ':'->'\\n' and ':'->' ' groups (either way round)."""
    sides = [np.asarray(s["members"], dtype=np.int64) for s in pair["sides"]]
    if any(s.size == 0 for s in sides):
        return None
    cands = [ColonPair(pair, nl, float(newline[sides[nl]].mean()), float(space[sides[1 - nl]].mean())) for nl in (0, 1)]
    return max(cands, key=lambda c: c.score)


def extremes_share(run, ids: np.ndarray, start: int) -> float:
    """Share of the per-step most-rising/falling samples (from `start`) that belong to `ids`."""
    member = np.zeros(run.n, bool)
    member[ids] = True
    hits = total = 0
    for _, rec in run.records("extremes", since=start - 1):
        for side in ("up", "down"):
            got = [int(e["id"]) for e in rec.get(side, [])]
            hits += int(member[got].sum()) if got else 0
            total += len(got)
    return hits / total if total else float("nan")


def build(rs: RunSet, out: Path, report: Report) -> None:
    run = rs.first
    feats = run.features()
    if "colon_newline" not in feats or "colon_space" not in feats:
        report.unavailable("':'→'\\n' against ':'→' ' is an opposing pair", "the run's data does not mark the colon "
                           "pair (use the built-in --data text)")
        return
    newline, space = feats["colon_newline"], feats["colon_space"]
    steps, rows = rows_between(run)
    if steps.size < 8:
        report.unavailable("':'→'\\n' against ':'→' ' is an opposing pair", "too few recorded steps")
        return
    a, b = rows[:, newline].mean(axis=1), rows[:, space].mean(axis=1)
    start = int(steps[steps.size // 2])  # after the first half: the model has learned what a colon is
    late = steps >= start
    corr = diff_corr(a[late], b[late])
    report.check(f"the ':'→'\\n' and ':'→' ' groups' losses move in opposition (corr of Δloss ≤ {MIN_CORR}, "
                 "second half of training)", f"corr = {corr:.2f} over {int(late.sum())} steps "
                 f"({int(newline.sum())} and {int(space.sum())} samples)", corr <= MIN_CORR, value=corr,
                 events=max(int(late.sum()) - 1, 0), unit="loss changes")
    overall = mean_abs_diff(rows[late].mean(axis=1))
    swing = (mean_abs_diff(a[late]) + mean_abs_diff(b[late])) / 2 / overall
    report.check(f"their losses swing ≥ {MIN_SWING:g}× more than the overall loss",
                 f"mean |Δ group loss| / mean |Δ overall loss| = {fmt(swing)}", swing >= MIN_SWING, value=swing,
                 events=max(int(late.sum()) - 1, 0), unit="loss changes")
    colon = np.nonzero(newline | space)[0]
    share, base = extremes_share(run, colon, start), colon.size / run.n
    report.notes.append(f"colon samples are {share:.1%} of the per-step extremes (largest loss changes) in the second "
                        f"half, against {base:.1%} of the data")
    found = sorted((m for p in run.pairs_all() if (m := match(p, newline, space)) is not None), key=lambda m: -m.score)
    if found:
        best = found[0]
        report.notes.append(f"best-matching detected pair {best.pair['id']}: {best.purity_newline:.0%} of one side "
                            f"':'→'\\n', {best.purity_space:.0%} of the other ':'→' '")
    texts = run.texts() or []
    for label, mask in (("':'→'\\n'", newline), ("':'→' '", space)):
        ids = np.nonzero(mask)[0][:EXAMPLES]
        report.notes.append(f"{label} examples: " + " · ".join(repr(texts[i][-24:]) for i in ids if i < len(texts)))
    plot(report, steps, a, b, rows, out)


def plot(report: Report, steps, a, b, rows, out: Path) -> None:
    fig, ax = subplots(1, 1, height=3)
    ax[0, 0].plot(steps, a, color=PALETTE[0], lw=0.9, label="':' → '\\n'")
    ax[0, 0].plot(steps, b, color=PALETTE[1], lw=0.9, label="':' → ' '")
    ax[0, 0].plot(steps, rows.mean(axis=1), color="k", lw=1.2, label="all samples")
    ax[0, 0].set_xlabel("step")
    ax[0, 0].set_ylabel("mean loss")
    ax[0, 0].legend(fontsize=8)
    save(fig, report, out, "appB", "Mean loss of contexts ending in ':' continued by a newline against those continued "
         "by ' the', and of all samples.")
