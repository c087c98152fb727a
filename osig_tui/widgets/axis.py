"""The y axis of the monitor's charts: a range and ticks that land on text rows.

plotext labels the row nearest each tick, so ticks it is given at arbitrary values come out unevenly
spaced, and a horizontal line (2/η) is drawn on a row labelled with another value (62.4 for 66.7).
Here every tick is exactly a row's value, evenly spaced, and the line's value is one of them; the
range never dips below 0 for data that does not (a sharpness of 8 once sat on a row labelled −20),
and the braille dots of a value land in the row whose label is nearest to it (`plot_limits`)."""
from __future__ import annotations

import math

import numpy as np


def row_scale(lo: float, hi: float, rows: int, mark: float | None = None) -> tuple[float, float, list[float]]:
    """A y range and ticks for a plot of `rows` text rows, so every tick sits on a row of its own:
    ticks are evenly spaced, `mark` (the stability threshold) is exactly a row's value, so its line
    is drawn on the row its label names, and the range starts at 0 or above when nothing is negative.
    Returns (bottom row's value, top row's value, ticks), ticks on every row or every other row."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if mark is not None and not math.isfinite(mark):
        mark = None
    if mark is not None:
        lo, hi = min(lo, mark), max(hi, mark)
    floor = 0.0 if lo >= 0 else None  # no negative rows for data that has no negative values
    rows = max(2, rows)
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        lo, hi = lo - 0.5 * max(abs(lo), 1.0) * 0.1, hi + 0.5 * max(abs(hi), 1.0) * 0.1
        if floor is not None:
            lo = max(lo, floor)
    every = 1 if rows <= 6 else 2
    raw = (hi - lo) / (rows - 1)
    found = _fit(lo, hi, rows, mark, floor, raw)
    if mark is not None and floor is not None:  # a finer, non-round step from 0 can beat a round one
        finer = _fit_from_zero(hi, rows, mark)
        if finer is not None and (found is None or finer[1] < 0.7 * found[1]):
            found = finer
    if found is None:  # data far above the mark on very few rows: let the range dip below 0
        found = _fit(lo, hi, rows, mark, None, raw)
    start, step, below = found
    first = 0 if mark is None else below % every
    ticks = [start + k * step for k in range(first, rows, every)]
    return start, start + step * (rows - 1), ticks


def _fit(lo, hi, rows, mark, floor, raw) -> tuple[float, float, int] | None:
    """The smallest round step whose rows hold [lo, hi] (and the mark on a row, and nothing below
    `floor`): (bottom value, step, rows from the bottom to the mark)."""
    for step in _nice_steps(raw):
        if step > 4 * raw and floor is not None:
            return None  # a scale this coarse hides the data: better a non-round step
        anchor = mark if mark is not None else math.floor(lo / step) * step
        below = math.ceil((anchor - lo) / step - 1e-9)
        start = anchor - below * step
        if floor is not None and start < floor - 1e-9 * step:
            continue
        end = start + step * (rows - 1)
        if end >= hi - 1e-9 * step:
            # centre the spare rows on the data (keeping the anchor on a row, nothing below the floor)
            spare = int((end - hi) / step)
            shift = spare // 2
            if floor is not None:
                shift = min(shift, int((start - floor) / step + 1e-9))
            return start - shift * step, step, below - shift
    return None  # pragma: no cover - _nice_steps always ends with a step that fits


def _fit_from_zero(hi, rows, mark) -> tuple[float, float, int] | None:
    """Rows from 0 with the mark exactly on one (step mark/k): used when no round step puts both 0
    and the mark on rows, e.g. 2/η = 66.67 above values near 0."""
    k = math.floor((rows - 1) * mark / hi + 1e-9) if hi > 0 else rows - 1
    if k < 1:
        return None
    return 0.0, mark / k, k


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
    while digits < 6 and step > 0 and any(abs(round(t, digits) - t) > 1e-2 * step for t in ticks):
        digits += 1  # a step that is not round (66.67 / 4) needs its decimals

    def one(v: float) -> str:
        text = f"{v:.{digits}f}"
        text = text.rstrip("0").rstrip(".") if "." in text else text
        return "0" if text == "-0" else text
    return [one(t) for t in ticks]


def plot_limits(bottom: float, top: float, rows: int) -> tuple[float, float]:
    """The ylim to give plotext so that braille dots and row labels agree.

    plotext puts a braille dot for v at pixel floor(0.5 + (4R−1)(v−lo)/(hi−lo)) of 4R, and labels
    (and horizontal lines) at row floor(0.5 + (R−1)(v−lo)/(hi−lo)) of R. Padding the range by
    3/8 of a row on each side makes row k's four dots cover exactly [v_k − s/2, v_k + s/2) around
    its label v_k = bottom + k·s, while every label and line stays on its own row."""
    s = (top - bottom) / max(1, rows - 1)
    return bottom - 0.375 * s, top + 0.375 * s


def set_row_ticks(plt, lo: float, hi: float, rows: int, mark: float | None = None,
                  yside: str = "left") -> tuple[float, float]:
    """Set the y range and ticks for data in [lo, hi]; returns (bottom row's value, row step)."""
    bottom, top, ticks = row_scale(lo, hi, rows, mark)
    plt.ylim(*plot_limits(bottom, top, rows), yside=yside)
    step = (top - bottom) / max(1, rows - 1)
    plt.yticks(ticks, tick_labels(ticks, step, mark), yside=yside)
    return bottom, step


def step_ticks(first: int, last: int, count: int = 5) -> list[int]:
    """Whole step numbers for the x axis, evenly spread from the first step to the last."""
    if last <= first:
        return [int(first)]
    return sorted({int(round(v)) for v in np.linspace(first, last, count)})


def finite_range(y) -> tuple[float, float]:
    y = np.asarray(y, dtype=np.float64)
    y = y[np.isfinite(y)]
    return (float(y.min()), float(y.max())) if y.size else (0.0, 1.0)
