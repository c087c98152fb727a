"""fig3-chebyshev: on 1-D regression the opposing groups are an x-interval against its neighbours."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from osig_core.report.eos import MIN_CORR, sharpness_checks
from osig_core.report.figures import PALETTE, save, subplots
from osig_core.report.model import Report
from osig_core.report.pairs import PairMotion, pair_motion
from osig_core.report.runs import RunSet

MIN_INTERVAL = 3  # grid points in the core interval
NEGATIVE_RANGE = (-1.0, 0.0)  # the negative side (the paper's pair lay within [-1, -0.5])


@dataclass
class IntervalPair:
    motion: PairMotion
    interval: tuple[float, float]  # the core interval of one side
    left: np.ndarray  # the other side's points just left of it
    right: np.ndarray  # ... and just right of it

    @property
    def span(self) -> tuple[float, float]:
        return float(self.left.min()), float(self.right.max())

    def describe(self) -> str:
        lo, hi = self.interval
        return (f"pair {self.motion.pair['id']}: [{lo:.2f}, {hi:.2f}] against neighbours "
                f"[{self.left.min():.2f}, {self.left.max():.2f}] ∪ [{self.right.min():.2f}, {self.right.max():.2f}]")


def longest_run(xs: np.ndarray, h: float) -> tuple[float, float, int]:
    """The longest run of consecutive grid points (spacing h) in sorted xs: (lo, hi, count)."""
    best = (0.0, 0.0, 0)
    start = 0
    for i in range(1, len(xs) + 1):
        if i == len(xs) or xs[i] - xs[i - 1] > 1.5 * h:
            if i - start > best[2]:
                best = (float(xs[start]), float(xs[i - 1]), i - start)
            start = i
    return best


def interval_against_neighbours(motion: PairMotion, x: np.ndarray) -> IntervalPair | None:
    """One side's longest interval flanked on both sides, close by, by members of the other side."""
    h = 2.0 / (len(x) - 1) if len(x) > 1 else 1.0
    sides = [np.sort(x[np.asarray(s["members"], dtype=np.int64)]) for s in motion.pair["sides"]]
    if any(s.size == 0 for s in sides):
        return None
    found = None
    for i in (0, 1):
        lo, hi, count = longest_run(sides[i], h)
        if count < MIN_INTERVAL:
            continue
        reach = max(hi - lo, 4 * h)
        other = sides[1 - i]
        left = other[(other < lo) & (other >= lo - reach)]
        right = other[(other > hi) & (other <= hi + reach)]
        if left.size and right.size and (found is None or count > found[0]):
            found = (count, IntervalPair(motion, (lo, hi), left, right))
    return None if found is None else found[1]


def in_range(ip: IntervalPair) -> bool:
    lo, hi = NEGATIVE_RANGE
    return ip.span[0] >= lo - 1e-6 and ip.span[1] <= hi + 1e-6


def interval_pairs(run, x: np.ndarray) -> list[tuple[IntervalPair, list[int]]]:
    """Every pair that had the interval-against-neighbours shape at some recorded state, with the steps it
    had it, most persistent first (pair snapshots: record `pairs`; the pair's last state: `pairs_all`)."""
    found: dict[int, tuple[IntervalPair, list[int]]] = {}
    states = [(s, p) for s, snapshot in run.records("pairs") for p in snapshot]
    states += [(int(p.get("last_step", 0)), p) for p in run.pairs_all()]
    for step, pair in states:
        ip = interval_against_neighbours(PairMotion(pair, np.zeros(0), np.zeros(0), np.zeros(0), np.nan, np.nan), x)
        if ip is None:
            continue
        pid = int(pair["id"])
        best, steps = found.get(pid, (ip, []))
        if in_range(ip) and not in_range(best):
            best = ip
        found[pid] = (best, steps + [step])
    return sorted(found.values(), key=lambda v: (not in_range(v[0]), -len(set(v[1]))))


def build(rs: RunSet, out: Path, report: Report) -> None:
    run = rs.first
    metrics = run.metrics()
    x = run.sample_x()
    sharpness_checks(report, run, metrics, sharpening=False)
    if x is None:
        report.unavailable("an opposing pair is an x-interval against its neighbours", "the run has no 1-D inputs")
        return
    found = interval_pairs(run, x[:, 0])
    n_pairs = len(run.pairs_all())

    def describe(item) -> str:
        ip, steps = item
        return f"{ip.describe()} (held at {len(set(steps))} recorded states, steps {min(steps)}–{max(steps)})"

    # An existence claim ("at some recorded state"): one state with the shape decides it, so min_events=1.
    # The count is the recorded states at which the reported pair held the shape (how persistent it is),
    # or, when none did, every pair state that was searched.
    searched = sum(len(snapshot) for _, snapshot in run.records("pairs")) + n_pairs

    def held(item) -> int:
        return len(set(item[1]))

    report.check("a detected opposing pair is an x-interval against its neighbours on both sides",
                 describe(found[0]) if found else f"none among {n_pairs} detected pairs", bool(found),
                 events=held(found[0]) if found else searched, unit="pair states", min_events=1)
    lo_ok, hi_ok = NEGATIVE_RANGE
    negative = [f for f in found if in_range(f[0])]
    report.check("such a pair lies on the negative side, x < 0 (the paper's: within [-1, -0.5])",
                 describe(negative[0]) if negative else (f"nearest: {describe(found[0])}" if found else "no interval pair"),
                 bool(negative), events=held(negative[0]) if negative else searched, unit="pair states", min_events=1)
    chosen = None
    if found:
        ip = (negative or found)[0][0]
        motion = pair_motion(run, ip.motion.pair)
        if motion is not None:
            chosen = IntervalPair(motion, ip.interval, ip.left, ip.right)
            report.check(f"its two groups' losses move in opposition (corr of Δloss ≤ {MIN_CORR})",
                         f"corr = {motion.corr:.2f} over {motion.steps.size} steps", motion.corr <= MIN_CORR,
                         value=motion.corr, events=max(motion.steps.size - 1, 0), unit="loss changes")
    plot(report, run, x[:, 0], chosen, out)


def plot(report: Report, run, x: np.ndarray, chosen: IntervalPair | None, out: Path) -> None:
    fig, ax = subplots(1, 2, width=9, height=3.2)
    y = run.labels()
    ax[0, 0].plot(x, y, "k.", ms=3, label="target")
    try:
        net = run.model()
        import torch
        with torch.no_grad():
            xs = torch.linspace(-1, 1, 400).unsqueeze(1)
            ax[0, 0].plot(xs[:, 0].numpy(), net(xs).reshape(-1).numpy(), color="0.5", lw=1, label="network (end)")
    except Exception as e:  # the checkpoint may be missing; the figure still shows the groups
        report.notes.append(f"network curve not drawn: {e}")
    if chosen is not None:
        for side, c in ((0, PALETTE[0]), (1, PALETTE[1])):
            ids = np.asarray(chosen.motion.pair["sides"][side]["members"], dtype=np.int64)
            ax[0, 0].plot(x[ids], y[ids], "o", color=c, ms=5, mfc="none", label=f"group {'ab'[side]}")
        m = chosen.motion
        ax[0, 1].plot(m.steps, m.side_a, color=PALETTE[0], lw=0.8, label="group a")
        ax[0, 1].plot(m.steps, m.side_b, color=PALETTE[1], lw=0.8, label="group b")
        ax[0, 1].set_xlabel("step")
        ax[0, 1].set_ylabel("group loss")
        ax[0, 1].legend(fontsize=8)
    ax[0, 0].set_xlabel("x")
    ax[0, 0].legend(fontsize=8)
    save(fig, report, out, "fig3", "The Chebyshev target, the network's fit and the two opposing groups (left); "
         "the groups' losses (right).")
