"""appB-text: a char GPT finds the paper's text pair, ':' -> newline against ':' -> ' the'.

The built-in corpus marks both groups (`features`: colon_newline, colon_space). A detected pair
matches when one side is mostly ':'->'\\n' samples and the other mostly ':'->' ' samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from osig_core.report.figures import PALETTE, save, subplots
from osig_core.report.model import Report
from osig_core.report.pairs import pair_motion
from osig_core.report.runs import RunSet

PURITY = 0.5  # each side holds at least this share of its continuation
EXAMPLES = 4


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
    sides = [np.asarray(s["members"], dtype=np.int64) for s in pair["sides"]]
    if any(s.size == 0 for s in sides):
        return None
    best = None
    for nl in (0, 1):
        a, b = sides[nl], sides[1 - nl]
        cand = ColonPair(pair, nl, float(newline[a].mean()), float(space[b].mean()))
        if best is None or cand.score > best.score:
            best = cand
    return best


def build(rs: RunSet, out: Path, report: Report) -> None:
    run = rs.first
    feats = run.features()
    if "colon_newline" not in feats or "colon_space" not in feats:
        report.unavailable("a detected pair is ':'→'\\n' against ':'→' '", "the run's data does not mark the colon pair "
                           "(use the built-in --data text)")
        return
    newline, space = feats["colon_newline"], feats["colon_space"]
    pairs = run.pairs_all()
    found = [m for p in pairs if (m := match(p, newline, space)) is not None]
    found.sort(key=lambda m: -m.score)
    best = found[0] if found else None
    if best is None:
        report.check("a detected opposing pair is ':'→'\\n' against ':'→' '", "no opposing pair was detected", False)
        return
    report.check(f"a detected opposing pair is ':'→'\\n' against ':'→' ' (each side ≥ {PURITY:.0%} pure)",
                 f"pair {best.pair['id']}: {best.purity_newline:.0%} of one side end ':'→'\\n', "
                 f"{best.purity_space:.0%} of the other ':'→' ' ({len(pairs)} pairs detected)",
                 best.score >= PURITY, value=best.score)
    motion = pair_motion(run, best.pair)
    if motion is not None:
        report.check("its two sides' losses move in opposition (corr of Δloss < 0)",
                     f"corr = {motion.corr:.2f} over {motion.steps.size} steps", motion.corr < 0, value=motion.corr)
    texts = run.texts() or []
    for side in (best.newline_side, 1 - best.newline_side):
        ids = best.pair["sides"][side]["members"][:EXAMPLES]
        report.notes.append(f"side {'ab'[side]} examples: " + " · ".join(repr(texts[i][-24:]) for i in ids if i < len(texts)))
    plot(report, motion, best, out)


def plot(report: Report, motion, best: ColonPair, out: Path) -> None:
    if motion is None:
        return
    fig, ax = subplots(1, 1, height=3)
    names = {best.newline_side: "':' → '\\n'", 1 - best.newline_side: "':' → ' '"}
    ax[0, 0].plot(motion.steps, motion.side_a, color=PALETTE[0], lw=0.9, label=f"side a ({names[0]})")
    ax[0, 0].plot(motion.steps, motion.side_b, color=PALETTE[1], lw=0.9, label=f"side b ({names[1]})")
    ax[0, 0].set_xlabel("step")
    ax[0, 0].set_ylabel("group loss")
    ax[0, 0].legend(fontsize=8)
    save(fig, report, out, "appB", "Losses of the detected colon pair: contexts ending in ':' continued by a newline "
         "against those continued by ' the'.")
