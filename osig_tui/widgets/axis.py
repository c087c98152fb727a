"""The y axis of the monitor's charts: a range and ticks that land on text rows.

plotext labels the row nearest each tick, so ticks it is given at arbitrary values come out unevenly
spaced, and a horizontal line (2/η) is drawn on a row labelled with another value (62.4 for 66.7).
Here every tick is exactly a row's value, evenly spaced, and the line's value is one of them."""
from __future__ import annotations

import math

import numpy as np


def row_scale(lo: float, hi: float, rows: int, mark: float | None = None) -> tuple[float, float, list[float]]:
    """A y range and ticks for a plot of `rows` text rows, so every tick sits on a row of its own
    (plotext puts row k of N at lo + k·(hi−lo)/(N−1) and labels the nearest row): ticks are evenly
    spaced, and `mark` (the stability threshold) is exactly a row's value, so its line is drawn on
    the row its label names. Returns (lo, hi, ticks), ticks on every row or every other row."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if mark is not None and math.isfinite(mark):
        lo, hi = min(lo, mark), max(hi, mark)
    rows = max(2, rows)
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        lo, hi = lo - 0.5 * max(abs(lo), 1.0) * 0.1, hi + 0.5 * max(abs(hi), 1.0) * 0.1
    every = 1 if rows <= 6 else 2
    raw = (hi - lo) / (rows - 1)
    for step in _nice_steps(raw):
        anchor = mark if mark is not None and math.isfinite(mark) else math.floor(lo / step) * step
        below = math.ceil((anchor - lo) / step - 1e-9)
        start = anchor - below * step
        end = start + step * (rows - 1)
        if end >= hi - 1e-9 * step:
            # centre the spare rows on the data (keeping the anchor on a row)
            spare = int((end - hi) / step)
            start -= (spare // 2) * step
            end -= (spare // 2) * step
            first = 0 if mark is None else (below + spare // 2) % every
            ticks = [start + k * step for k in range(first, rows, every)]
            return start, end, ticks
    return lo, hi, [lo, hi]  # pragma: no cover - _nice_steps always ends with a step that fits


def _nice_steps(raw: float):
    """Round steps (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) from `raw` upwards."""
    e = math.floor(math.log10(raw)) if raw > 0 else 0
    for k in range(e - 1, e + 3):
        for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            step = m * 10 ** k
            if step >= raw * (1 - 1e-12):
                yield step


def tick_labels(ticks: list[float], step: float, mark: float | None = None) -> list[str]:
    """Labels with the digits the step needs, and more when the ticks run through a mark that is
    not a round number, so 2/η = 66.67 reads 66.67 (not 67) on its row."""
    digits = max(0, -math.floor(math.log10(step)) + 1) if step > 0 else 2
    if mark is not None and mark != 0 and step > 0 and abs(mark / step - round(mark / step)) > 1e-6:
        digits = max(digits, 3 - math.floor(math.log10(abs(mark))))
    digits = min(digits, 6)

    def one(v: float) -> str:
        text = f"{v:.{digits}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return [one(t) for t in ticks]


def set_row_ticks(plt, lo: float, hi: float, rows: int, mark: float | None = None, yside: str = "left") -> None:
    lo, hi, ticks = row_scale(lo, hi, rows, mark)
    plt.ylim(lo, hi, yside=yside)
    plt.yticks(ticks, tick_labels(ticks, (hi - lo) / max(1, rows - 1), mark), yside=yside)


def finite_range(y) -> tuple[float, float]:
    y = np.asarray(y, dtype=np.float64)
    y = y[np.isfinite(y)]
    return (float(y.min()), float(y.max())) if y.size else (0.0, 1.0)
