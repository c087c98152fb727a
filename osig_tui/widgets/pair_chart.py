"""A pair's two loss curves (side A orange, side B blue) on the group screen (plotext)."""
from __future__ import annotations

import numpy as np
from rich.text import Text
from textual_plotext import PlotextPlot

from osig_tui.widgets.axis import finite_range, set_row_ticks
from osig_tui.widgets.charts import SIDE_COLORS, int_ticks


class PairLossChart(PlotextPlot):
    """Both sides' mean loss over the steps the pair was tracked (side A orange, side B blue)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.curves: list[tuple[np.ndarray, np.ndarray]] = []
        self.mark: int | None = None
        self.step: int | None = None
        self.reading = False
        self._cache: tuple[tuple, object] | None = None

    def show(self, curves: list[tuple[np.ndarray, np.ndarray]] | None, mark: int | None, step: int | None = None) -> None:
        """None: the curves are still being read."""
        self.reading = curves is None
        self.curves, self.mark, self.step = curves or [], mark, step
        self.refresh()

    def window(self) -> tuple[int, int]:
        """Three columns (six braille pixels) a step, so a period-2 swing reads as a zig-zag: the steps
        up to the viewed one, with a little of what followed."""
        steps = np.concatenate([s for s, _ in self.curves if len(s)])
        first, last = int(steps.min()), int(steps.max())
        span = max(8, (self.size.width - 12) // 3)
        end = last if self.step is None else min(last, self.step + span // 4)
        return max(first, end - span), end

    def render(self):
        key = (tuple(id(c[1]) for c in self.curves), self.mark, self.step, self.size, self.app.theme, self.reading)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        if self.reading:
            out = Text("reading loss curves…", style="italic dim", justify="center")
        elif not any(len(c[0]) for c in self.curves):
            out = Text("no group losses recorded for this pair", style="italic", justify="center")
        else:
            plt = self.plt
            plt.clear_figure()
            lo, hi = self.window()
            shown = []
            for k, (s, v) in enumerate(self.curves[:2]):
                keep = (s >= lo) & (s <= hi)
                plt.plot(s[keep].tolist(), v[keep].tolist(), marker="braille", color=SIDE_COLORS[k])
                shown.append(v[keep])
            set_row_ticks(plt, *finite_range(np.concatenate(shown)), max(2, self.size.height - 3))
            int_ticks(plt, np.array([lo, hi]))
            if self.mark is not None:
                plt.vline(self.mark, "gray")
            out = super().render()
        self._cache = (key, out)
        return out
