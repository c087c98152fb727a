"""Charts of several runs at once, one colour per run (the braille canvas, so each value lands in the
row its label names, as on the dashboard's sharpness chart): sharpness over each run's threshold
(every run's edge at 1) and train loss."""
from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widget import Widget

from osig_tui.widgets.axis import finite_range, row_scale, step_ticks, tick_labels
from osig_tui.widgets.canvas import Canvas, framed
from osig_tui.widgets.spark import envelope

# distinct in 24-bit, 256 and 16 colours; no red (the edge line is red)
RUN_COLORS = ("#ff8700", "#00afff", "#5fd700", "#d787ff", "#ffd700", "#00d7af", "#ff5f87", "#8787ff", "#d7d7d7")
EDGE = "red"


def run_color(index: int) -> str:
    return RUN_COLORS[index % len(RUN_COLORS)]


Series = tuple[np.ndarray, np.ndarray, str]  # (steps, values, colour)


def multi_plot(series: list[Series], mark: float | None, width: int, height: int,
               span: tuple[int, int] | None = None) -> Text:
    """Every series on one canvas (later ones drawn over earlier ones where they share a cell), the
    mark (the edge, 1) on its own labelled row; x from span[0] to span[1] (default: the series')."""
    rows = max(2, height - 3)
    values = [v for _, v, _ in series if len(v)]
    lo, hi = finite_range(np.concatenate(values))
    bottom, top, ticks = row_scale(lo, hi, rows, mark)
    step = (top - bottom) / (rows - 1)
    labels = dict(zip((int(round((t - bottom) / step)) for t in ticks), tick_labels(ticks, step, mark)))
    cols = max(4, width - max(map(len, labels.values())) - 2)
    first = min(int(s[0]) for s, v, _ in series if len(v)) if span is None else span[0]
    last = max(int(s[-1]) for s, v, _ in series if len(v)) if span is None else span[1]
    c = Canvas(cols, rows, first, last if last > first else first + 1, bottom, step)
    mark_row = c.hline(mark, EDGE) if mark is not None else None
    for s, v, colour in series:
        if len(v):
            c.dots(*envelope(s, v, 2 * cols), colour)
    xticks = [(int(c.col_of(t)), str(t)) for t in step_ticks(first, last)]
    return framed(c, labels, xticks, mark_row)


class RunsChart(Widget):
    """One measurement of every shown run; says why when there is nothing to draw."""

    def __init__(self, empty: str, mark: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.series: list[Series] = []
        self.span: tuple[int, int] | None = None
        self.mark = mark
        self.empty = empty
        self._cache: tuple[tuple, Text] | None = None

    def show(self, series: list[Series], span: tuple[int, int] | None = None) -> None:
        """`span`: the steps the x axis covers (the same for both of a comparison's charts)."""
        self.series, self.span = series, span
        self._cache = None
        self.refresh()

    def render(self):
        key = (self.size, self.app.theme)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        if not any(len(v) for _, v, _ in self.series):
            out = Text(self.empty, style="italic", justify="center")
        else:
            out = multi_plot(self.series, self.mark, self.size.width, self.size.height, self.span)
        self._cache = (key, out)
        return out
