"""fig1-gd: progressive sharpening to 2/eta, the edge of stability, and oscillating opposing pairs."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from osig_core.report.figures import PALETTE, plot_sharpness, save, subplots
from osig_core.report.model import Report, fmt
from osig_core.report.pairs import overall_swing, top_pairs
from osig_core.report.runs import RunSet
from osig_core.report.stats import first_crossing, series, threshold_of

EOS_BAND = 0.15  # the edge of stability: median sharpness within 15% of 2/eta after the onset
MIN_CORR = -0.5  # the top pair's sides' loss changes are anti-correlated at least this much
MIN_SWING = 3.0  # the top pair's loss swings at least this many times the overall loss's


def sharpness_checks(report: Report, run, metrics: dict, sharpening: bool = True) -> int | None:
    """Progressive sharpening (if asked) + edge of stability; returns the onset (first step at >= 2/eta)."""
    steps, sharp = series(run, "sharpness", metrics)
    thr = threshold_of(run, metrics)
    if sharp.size < 3:
        report.unavailable("sharpness rises to 2/η", "no sharpness recorded (run with --sharpness-every K)")
        return None
    onset = first_crossing(steps, sharp, thr)
    if sharpening:
        # one well-defined measurement (λ(0) below 2/η, and a first step at 2/η), not a rate over events:
        # min_events=1; the count says how many estimates the crossing was looked for in
        upto = sharp.size if onset is None else int((steps <= onset).sum())
        report.check("progressive sharpening: sharpness starts below 2/η and rises to it",
                     f"λ(0) = {fmt(sharp[0])}, 2/η = {fmt(thr)}, first ≥ 2/η at step {onset}",
                     sharp[0] < thr and onset is not None, value=onset, events=upto, unit="estimates", min_events=1)
    if onset is None:
        report.unavailable(f"edge of stability: median sharpness after the onset within {EOS_BAND:.0%} of 2/η",
                           "the sharpness never reached 2/η")
        return None
    after = sharp[steps >= onset]
    ratio = float(np.median(after)) / thr
    report.check(f"edge of stability: median sharpness after the onset within {EOS_BAND:.0%} of 2/η",
                 f"median λ/(2/η) = {ratio:.3f} over {after.size} estimates (steps {onset}–{int(steps[-1])})",
                 abs(ratio - 1) <= EOS_BAND, value=ratio, events=after.size, unit="estimates")
    return onset


def pair_checks(report: Report, run, metrics: dict, start: int | None) -> list:
    """The strongest opposing pair after `start`: anti-correlated sides, large swings."""
    pairs = top_pairs(run, start, k=3)
    if not pairs:
        report.unavailable("the top opposing pair's losses move in opposition",
                           "no opposing pair was followed long enough after the onset")
        return []
    top = pairs[0]
    changes = max(top.steps.size - 1, 0)  # step-to-step loss changes correlated / averaged
    report.check(f"the top opposing pair's two groups move in opposition (corr of Δloss ≤ {MIN_CORR})",
                 f"{top.label}: corr = {top.corr:.2f} over {top.steps.size} steps", top.corr <= MIN_CORR,
                 value=top.corr, events=changes, unit="loss changes")
    ratio = top.swing / overall_swing(run, top.steps, metrics)
    report.check(f"its losses swing ≥ {MIN_SWING:g}× more than the overall loss",
                 f"mean |Δ group loss| / mean |Δ train loss| = {fmt(ratio)}", ratio >= MIN_SWING, value=ratio,
                 events=changes, unit="loss changes")
    return pairs


def plot_loss_and_sharpness(report: Report, run, metrics: dict, pairs: list, out: Path, name: str = "fig1") -> None:
    fig, ax = subplots(2, 1, height=2.8, sharex=True)
    ax[0, 0].plot(metrics["step"], metrics["train_loss"], color="k", lw=1.5, label="train loss")
    for i, p in enumerate(pairs):
        c = PALETTE[i % len(PALETTE)]
        ax[0, 0].plot(p.steps, p.side_a, color=c, lw=0.9, label=p.label)
        ax[0, 0].plot(p.steps, p.side_b, color=c, lw=0.9, ls=":")
    ax[0, 0].set_ylabel("loss")
    ax[0, 0].legend(fontsize=7, loc="upper right")
    steps, sharp = series(run, "sharpness", metrics)
    plot_sharpness(ax[1, 0], steps, sharp, threshold_of(run, metrics))
    ax[1, 0].set_xlabel("step")
    save(fig, report, out, name, "Training loss with the losses of the top opposing pairs (solid / dotted: "
         "the two groups of a pair), and the sharpness against 2/η.")


def build(rs: RunSet, out: Path, report: Report) -> None:
    run = rs.first
    metrics = run.metrics()
    onset = sharpness_checks(report, run, metrics)
    pairs = pair_checks(report, run, metrics, onset)
    plot_loss_and_sharpness(report, run, metrics, pairs, out)
