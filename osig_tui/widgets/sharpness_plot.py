"""The sharpness chart's data and drawing: each estimate, the band that holds the top eigenvalue,
whether the estimate reached its tolerance, and the threshold, placed cell by cell (canvas.py) so
that what a row's label says is what the row holds."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Text

from osig_tui.store_views import History
from osig_tui.widgets.axis import finite_range, row_scale, step_ticks, tick_labels
from osig_tui.widgets.canvas import Canvas, framed
from osig_tui.widgets.spark import envelope

LINE, BAND, ROUGH, THRESHOLD, MARKER = "bright_cyan", "cyan", "bold yellow", "red", "grey50"
BAND_CHAR, ROUGH_CHAR = "░", "○"


@dataclass(frozen=True, eq=False)
class SharpnessSeries:
    steps: np.ndarray
    values: np.ndarray
    upper: np.ndarray  # upper end of the band (NaN: none stored)
    rough: np.ndarray  # True where the estimate did not reach its tolerance


def sharpness_series(h: History, key: str = "sharpness") -> SharpnessSeries:
    """The estimates of `key` with their band's upper end: `<key>_upper` where the run stores it
    (an interval holding the top eigenvalue), else value + the residual bound (eig_bound)."""
    v = h.values.get(key)
    if v is None:
        return SharpnessSeries(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, bool))
    ok = np.isfinite(v)
    pre = "eig" if key == "sharpness" else key.split("_")[0]

    def col(name: str) -> np.ndarray:
        a = h.values.get(name)
        return np.full(int(ok.sum()), np.nan) if a is None else a[ok]
    values = v[ok]
    upper = col(f"{key}_upper")
    upper = np.where(np.isfinite(upper), upper, values + col(f"{pre}_bound"))
    conv = col(f"{pre}_converged")
    return SharpnessSeries(h.steps[ok], values, upper, np.isfinite(conv) & (conv == 0))


def sharpness_keys(s: SharpnessSeries) -> str | None:
    """The legend of what the chart draws besides the line (only what this run has)."""
    parts = []
    if (np.isfinite(s.upper) & (s.upper > s.values)).any():
        parts.append(f"[{BAND}]{BAND_CHAR}[/] band")
    if s.rough.any():
        parts.append(f"[{ROUGH}]{ROUGH_CHAR}[/] not converged")
    return "  ".join(parts) or None


def sharpness_plot(s: SharpnessSeries, threshold: tuple[np.ndarray, np.ndarray], steps: np.ndarray,
                   marker: int | None, width: int, height: int) -> Text:
    """The chart as text for a `width`×`height` panel: frame, y labels, x ticks and the cells. The
    range is set by the values and the threshold; a band reaching past it is cut at the top row
    (widening the range for a loose bound would squeeze the values into fewer rows)."""
    rows = max(2, height - 3)  # less the frame's top, the x axis and its labels
    tx, ty = threshold
    flat = len(ty) > 0 and np.ptp(ty) <= 1e-9 * max(1.0, abs(float(ty[0])))
    mark = float(ty[-1]) if flat else None
    lo, hi = finite_range(s.values)
    band = np.isfinite(s.upper) & (s.upper > s.values)
    if len(ty) and not flat:
        lo, hi = min(lo, float(ty.min())), max(hi, float(ty.max()))
    bottom, top, ticks = row_scale(lo, hi, rows, mark)
    step = (top - bottom) / (rows - 1)
    labels = dict(zip((int(round((t - bottom) / step)) for t in ticks), tick_labels(ticks, step, mark)))
    cols = max(4, width - max(map(len, labels.values())) - 2)
    first, last = int(steps[0]), int(steps[-1])
    c = Canvas(cols, rows, first, last if last > first else first + 1, bottom, step)
    if marker is not None:
        c.vline(marker, MARKER)
    mark_row = c.hline(mark, THRESHOLD) if mark is not None else None
    if band.any():  # over the threshold: a band that reaches it must show that it does
        c.band(s.steps[band], s.values[band], np.minimum(s.upper[band], top), BAND_CHAR, BAND)
    if len(ty) and not flat:
        c.dots(*envelope(tx, ty, 2 * cols), THRESHOLD)
    c.dots(*envelope(s.steps, s.values, 2 * cols), LINE)
    c.glyphs(s.steps[s.rough], s.values[s.rough], ROUGH_CHAR, ROUGH)
    xticks = [(int(c.col_of(t)), str(t)) for t in step_ticks(first, last)]
    return framed(c, labels, xticks, mark_row, None if marker is None else int(c.col_of(marker)))
