"""appF-splitsgd: SplitSGD against Adam and SGD (momentum 0.9) over a learning-rate sweep (Appendix F).

Members are named `<optimizer>-<lr>` (SplitSGD's swept rate is its signed step eta2 = --lr2, with
the SGD step eta1 fixed, as in the paper's Figures 41/42). The final training loss is the mean
tracked loss over the last few recorded steps (less batch noise than one minibatch).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from osig_core.report.figures import PALETTE, save, subplots
from osig_core.report.model import Report, fmt
from osig_core.report.runs import RunSet
from osig_core.report.stats import series

MATCH = 0.10  # SplitSGD's best final loss within 10% of Adam's best
SIGNED_MAX = 0.5  # after the first steps, a minority of parameters takes the signed step
TAIL = 5  # recorded steps averaged for the final loss
# The sweep checks compare runs, one per learning rate, each summed up by its final loss (a mean over TAIL
# records of the tracked samples' losses). Their events are the learning rates of the smaller sweep compared;
# the sweep's size is the experiment's design (the paper's four rates), not a rate over repeated events, so
# the minimum is the fewest rates that make a "best of the sweep" and a "worst/best spread" mean something.
MIN_RATES = 3


@dataclass
class SweepPoint:
    optim: str
    lr: float
    loss: float
    test_acc: float
    signed: np.ndarray | None  # signed_fraction per step (SplitSGD)


def final_value(run, key: str) -> float:
    _, v = series(run, key)
    return float(v[-TAIL:].mean()) if v.size else math.nan


def sweep(rs: RunSet) -> dict[str, list[SweepPoint]]:
    out: dict[str, list[SweepPoint]] = {}
    for run in rs.runs.values():
        cfg = run.config
        status, _ = run.status()
        loss = final_value(run, "tracked_loss")
        if math.isnan(loss):
            loss = final_value(run, "train_loss")
        if status == "diverged" or not math.isfinite(loss):
            loss = math.inf
        lr = cfg.lr2 if cfg.optim == "splitsgd" else cfg.lr
        _, signed = series(run, "signed_fraction")
        out.setdefault(cfg.optim, []).append(SweepPoint(cfg.optim, lr, loss, final_value(run, "test_acc"),
                                                        signed if signed.size else None))
    for points in out.values():
        points.sort(key=lambda p: p.lr)
    return out


def spread(points: list[SweepPoint]) -> float:
    """worst / best final loss across the sweep (inf if a run diverged)."""
    losses = np.array([p.loss for p in points])
    return float(losses.max() / losses.min()) if losses.min() > 0 else math.inf


def build(rs: RunSet, out: Path, report: Report) -> None:
    pts = sweep(rs)
    split, adam, sgd = pts.get("splitsgd", []), pts.get("adam", []), pts.get("sgd", [])
    if not split or not adam:
        report.unavailable("SplitSGD matches Adam across the sweep", "needs SplitSGD and Adam member runs")
        plot(report, pts, out)
        return
    best_split = min(split, key=lambda p: p.loss)
    best_adam = min(adam, key=lambda p: p.loss)
    rel = best_split.loss / best_adam.loss - 1
    report.check(f"SplitSGD matches Adam: its best final loss within {MATCH:.0%} of Adam's best (or below it)",
                 f"SplitSGD {fmt(best_split.loss)} (η2 = {best_split.lr:g}, test acc {fmt(best_split.test_acc)}) vs "
                 f"Adam {fmt(best_adam.loss)} (η = {best_adam.lr:g}, test acc {fmt(best_adam.test_acc)})",
                 rel <= MATCH, value=rel, events=min(len(split), len(adam)), unit="learning rates",
                 min_events=MIN_RATES)
    s_split, s_adam = spread(split), spread(adam)
    report.check("SplitSGD is at least as robust to its learning rate as Adam (worst/best final loss over the sweep "
                 "no larger than Adam's)", f"SplitSGD {fmt(s_split)}× vs Adam {fmt(s_adam)}× over "
                 f"{split[0].lr:g}–{split[-1].lr:g}", s_split <= s_adam, value=s_split / s_adam,
                 events=min(len(split), len(adam)), unit="learning rates", min_events=MIN_RATES)
    if sgd:
        best_sgd = min(sgd, key=lambda p: p.loss)
        report.check("even the best SGD (momentum 0.9) of its sweep ends above SplitSGD's best final loss",
                     f"SGD {fmt(best_sgd.loss)} (η = {best_sgd.lr:g}) vs SplitSGD {fmt(best_split.loss)}; worst/best over "
                     f"the sweep: SGD {fmt(spread(sgd))}×, SplitSGD {fmt(s_split)}×", best_sgd.loss > best_split.loss,
                     value=best_sgd.loss / best_split.loss, events=min(len(sgd), len(split)),
                     unit="learning rates", min_events=MIN_RATES)
    halves = [p.signed[len(p.signed) // 2:] for p in split if p.signed is not None and p.signed.size > 3]
    fractions = [float(h.mean()) for h in halves]
    if fractions:
        worst = max(fractions)
        report.check(f"after the first steps only a minority of parameters takes the fixed signed step "
                     f"(mean signed_fraction over the second half < {SIGNED_MAX})",
                     "per run: " + ", ".join(f"{f:.2f}" for f in fractions), worst < SIGNED_MAX, value=worst,
                     events=min(h.size for h in halves), unit="steps")
    plot(report, pts, out, rs)


def plot(report: Report, pts: dict[str, list[SweepPoint]], out: Path, rs: RunSet | None = None) -> None:
    fig, ax = subplots(1, 3, width=12, height=3.2)
    for i, (name, points) in enumerate(sorted(pts.items())):
        lrs = [p.lr for p in points]
        ax[0, 0].plot(lrs, [p.loss if math.isfinite(p.loss) else np.nan for p in points], "o-", color=PALETTE[i], label=name)
        ax[0, 1].plot(lrs, [p.test_acc for p in points], "o-", color=PALETTE[i], label=name)
    for a, label in ((ax[0, 0], "final train loss"), (ax[0, 1], "final test accuracy")):
        a.set_xscale("log")
        a.set_xlabel("learning rate (SplitSGD: η2)")
        a.set_ylabel(label)
        a.legend(fontsize=8)
    ax[0, 0].set_yscale("log")
    if rs is not None:
        for j, run in enumerate(r for r in rs.runs.values() if r.config.optim == "splitsgd"):
            steps, frac = series(run, "signed_fraction")
            ax[0, 2].plot(steps, frac, lw=0.8, color=PALETTE[j % len(PALETTE)], label=f"η2 = {run.config.lr2:g}")
        ax[0, 2].set_ylim(0, 1)
        ax[0, 2].set_xlabel("step")
        ax[0, 2].set_ylabel("fraction taking the signed step")
        ax[0, 2].legend(fontsize=7)
    save(fig, report, out, "appF", "Final training loss and test accuracy of SplitSGD, Adam and SGD across the learning-"
         "rate sweep, and SplitSGD's fraction of parameters taking the fixed signed step.")
