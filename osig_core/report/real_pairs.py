"""fm-pairs on real images: the top opposing pair osig found unaided (after GD reaches 2/eta) moves in
opposition, its images' losses swing far more than the average image's, and its two sides differ in
class make-up. The notes and the figure say what the sides share: classes, predictions, mean images."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from osig_core.groups.pair_summary import describe_side, summarize_stored_pair
from osig_core.report.figures import PALETTE, save, subplots
from osig_core.report.half_up import onset_of
from osig_core.report.model import Report, fmt
from osig_core.report.pairs import side_name, top_pairs
from osig_core.report.runs import RunSet
from osig_core.report.stats import rows_between

MIN_CORR = -0.5  # the sides' mean loss changes correlate at most this much
MIN_AMP = 3.0  # members' mean |Δ loss| against the whole dataset's
MIN_MAKEUP = 0.5  # total-variation distance between the sides' class shares (0: same make-up, 1: disjoint)


def amplitude_ratio(rows: np.ndarray, members: np.ndarray) -> float:
    """Mean |Δ loss| of the members over the rows' steps / the same for every sample."""
    d = np.abs(np.diff(np.nan_to_num(np.asarray(rows, np.float64)), axis=0))
    if d.shape[0] == 0 or len(members) == 0:
        return math.nan
    whole = float(d.mean())
    return float(d[:, members].mean()) / whole if whole > 0 else math.nan


def make_up_distance(a: dict, b: dict) -> float:
    """Total-variation distance between two {class: count} histograms."""
    ta, tb = sum(a.values()), sum(b.values())
    if not ta or not tb:
        return math.nan
    return 0.5 * sum(abs(a.get(k, 0) / ta - b.get(k, 0) / tb) for k in set(a) | set(b))


def pair_checks(report: Report, run, start: int | None):
    """The checks on the top pair followed after `start`; returns its PairMotion (None without one)."""
    pairs = top_pairs(run, start, k=1)
    where = "after the sharpness reached 2/η" if start is not None else "during training"
    if not pairs:
        report.unavailable("a detected pair of real images opposes", f"no opposing pair was followed long enough {where}")
        return None
    top = pairs[0]
    report.check(f"the top pair's two groups move in opposition (corr of Δ mean loss ≤ {MIN_CORR}, {where})",
                 f"{top.label}: corr = {top.corr:.2f} over {top.steps.size} steps", top.corr <= MIN_CORR, value=top.corr,
                 events=max(top.steps.size - 1, 0), unit="loss changes")
    _, rows = rows_between(run, int(top.steps[0]), int(top.steps[-1]))
    members = np.concatenate([np.asarray(s["members"], np.int64) for s in top.pair["sides"][:2]])
    amp = amplitude_ratio(rows, members)
    report.check(f"its images' losses swing ≥ {MIN_AMP:g}× more than the dataset's (mean |Δ loss| per step)",
                 f"{len(members)} members: {fmt(amp)}× the mean |Δ loss| of all {run.n} images over {rows.shape[0]} steps",
                 amp >= MIN_AMP, value=amp, events=max(rows.shape[0] - 1, 0), unit="loss changes")
    a, b = (top.pair["sides"][k].get("classes") or {} for k in (0, 1))
    tv = make_up_distance(a, b)
    labelled = min(sum(a.values()), sum(b.values()))  # the smaller side's labelled images: its shares' sample
    report.check(f"its sides differ in label make-up (total-variation distance of class shares ≥ {MIN_MAKEUP})",
                 f"{side_name(top.pair, 0)} vs {side_name(top.pair, 1)}: distance {fmt(tv)}", tv >= MIN_MAKEUP, value=tv,
                 events=labelled, unit="images")
    return top


def describe_pair(report: Report, run, top) -> object:
    """Notes on what each side has in common (classes, predictions at the pair's last step, brightness)."""
    summary = summarize_stored_pair(run, top.pair, int(top.steps[-1]))
    for k, side in enumerate(summary.sides):
        report.notes.append(f"pair {top.pair['id']} side {'ab'[k]} ({side.size} images): " + "; ".join(describe_side(side)))
    if summary.diff_image is not None:
        report.notes.append(f"mean images differ by up to {summary.diff_max:.2f} in brightness (0–1)")
    return summary


def plot_pair(report: Report, run, top, summary, out: Path, name: str = "pair") -> None:
    m = run.metrics()
    has_pics = summary is not None and summary.diff_image is not None
    fig, ax = subplots(1, 1, height=2.6)
    ax[0, 0].plot(top.steps, top.side_a, color=PALETTE[3], lw=0.9, label=f"side a: {side_name(top.pair, 0)}")
    ax[0, 0].plot(top.steps, top.side_b, color=PALETTE[0], lw=0.9, label=f"side b: {side_name(top.pair, 1)}")
    keep = (m["step"] >= top.steps[0]) & (m["step"] <= top.steps[-1])
    ax[0, 0].plot(m["step"][keep], m["train_loss"][keep], color="k", lw=1.2, label="all images")
    ax[0, 0].set_xlabel("step")
    ax[0, 0].set_ylabel("mean loss")
    ax[0, 0].legend(fontsize=7, loc="upper right")
    save(fig, report, out, name, f"Mean loss of the two sides of pair {top.pair['id']} (found by osig on real images) "
         "and of all images.")
    if has_pics:
        fig, ax = subplots(1, 3, width=6.0, height=2.3)
        pics = [summary.sides[0].mean_image, summary.sides[1].mean_image, summary.diff_image]
        titles = [f"mean of side a ({summary.sides[0].size})", f"mean of side b ({summary.sides[1].size})",
                  "a − b (orange: a brighter)"]
        for j, (pic, title) in enumerate(zip(pics, titles)):
            ax[0, j].imshow(pic, interpolation="nearest")
            ax[0, j].set_title(title, fontsize=8)
            ax[0, j].axis("off")
        save(fig, report, out, f"{name}-means", f"Mean image of each side of pair {top.pair['id']} and their pixel-wise "
             f"difference (orange where side a is brighter, blue where side b is; full colour = {summary.diff_max:.2f}).")


def build(rs: RunSet, out: Path, report: Report) -> None:
    run = rs.first
    top = pair_checks(report, run, onset_of(run, run.metrics()))
    if top is not None:
        plot_pair(report, run, top, describe_pair(report, run, top), out)
