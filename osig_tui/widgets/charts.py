"""Line charts over steps: training loss with test accuracy (plotext) and sharpness against the
threshold with its band (our own braille canvas, which plotext cannot shade or mark exactly). Each
chart draws only when given new data, from a thinned series."""
from __future__ import annotations

import time

import numpy as np
from rich.text import Text
from textual_plotext import PlotextPlot

from osig_tui.store_views import History, RunInfo
from osig_tui.widgets.axis import finite_range, set_row_ticks, step_ticks
from osig_tui.widgets.sharpness_plot import sharpness_keys, sharpness_plot, sharpness_series
from osig_tui.widgets.spark import envelope

SIDE_COLORS = ((255, 135, 0), (0, 175, 255))  # the same orange / blue as the pair sparklines


def int_ticks(plt, steps: np.ndarray, count: int = 5) -> None:
    """Whole step numbers on the x axis."""
    if not len(steps):
        return
    ticks = step_ticks(int(np.min(steps)), int(np.max(steps)), count)
    plt.xticks(ticks, [str(t) for t in ticks])


class SeriesChart(PlotextPlot):
    """A plot that shows a one-line explanation instead of axes when it has nothing to draw.

    Renders are cached. While a live run grows, it redraws at most once a second (plotting is the
    monitor's main cost, and the monitor must not slow training). A moved step marker alone is
    drawn after a short pause, so stepping through history answers at once and the charts follow."""

    MARK_DELAY = 0.25
    LIVE_REDRAW = 1.0

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history: History | None = None
        self.info: RunInfo | None = None
        self.mark: int | None = None
        self._pending_mark: int | None = None
        self._mark_timer = None
        self._pending_data: tuple[History, RunInfo] | None = None
        self._data_timer = None
        self._drawn_at = -1e9
        self._cache: tuple[tuple, object] | None = None
        self.rows = 2

    def show(self, history: History, info: RunInfo, mark: int | None) -> None:
        """New data (or a new marked step, while browsing history)."""
        if history is self.history and info is self.info:
            target = self._pending_mark if self._mark_timer is not None else self.mark
            if mark != target:
                self._pending_mark = mark
                if self._mark_timer is not None:
                    self._mark_timer.stop()
                self._mark_timer = self.set_timer(self.MARK_DELAY, self._apply_mark)
            return
        wait = self.LIVE_REDRAW - (time.monotonic() - self._drawn_at)
        if self.history is not None and mark is None and self.mark is None and wait > 0:
            self._pending_data = (history, info)  # the run grew: draw with the next beat
            if self._data_timer is None:
                self._data_timer = self.set_timer(wait, self._apply_data)
            return
        self._set_data(history, info, mark)

    def _set_data(self, history: History, info: RunInfo, mark: int | None) -> None:
        for timer in (self._mark_timer, self._data_timer):
            if timer is not None:
                timer.stop()
        self._mark_timer = self._data_timer = self._pending_data = None
        self.history, self.info, self.mark = history, info, mark
        self._drawn_at = time.monotonic()
        self.border_title = self.legend()
        self.border_subtitle = self.keys()
        self.refresh()

    def _apply_data(self) -> None:
        self._data_timer = None
        if self._pending_data is not None:
            self._set_data(*self._pending_data, self.mark)

    def _apply_mark(self) -> None:
        self._mark_timer = None
        self.mark = self._pending_mark
        self.refresh()

    def legend(self) -> str:
        """The border title: what each colour is (our own markup, never run data)."""
        return ""

    def keys(self) -> str | None:
        """The bottom border: what the marks other than the lines mean (our own markup)."""
        return None

    def empty_message(self) -> str | None:
        return None if self.history is not None and len(self.history.steps) else "no steps recorded yet"

    def draw(self, plt, buckets: int) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def render(self):
        key = (id(self.history), self.mark, self.size, self.app.theme)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        msg = self.empty_message()
        self.rows = max(2, self.size.height - 3)  # plot rows: less the frame's top, the x axis and its labels
        out = Text(msg, style="italic", justify="center") if msg else self.plot()
        self._cache = (key, out)
        return out

    def plot(self):
        """The chart with plotext, over the steps recorded so far."""
        plt = self.plt
        plt.clear_figure()
        self.draw(plt, max(8, self.size.width - 12))
        steps = self.history.steps
        if steps[-1] > steps[0]:
            plt.xlim(int(steps[0]), int(steps[-1]))  # both charts span the same steps, every tick on the axis
        int_ticks(plt, steps)
        if self.mark is not None:
            plt.vline(self.mark, "gray")
        return super().render()


class LossChart(SeriesChart):
    def legend(self) -> str:
        if self.history is not None and self.history.has("test_acc"):
            return "[#ff8700]train loss[/] · [cyan]test acc[/] (right)"
        return "[#ff8700]train loss[/]"

    def draw(self, plt, buckets: int) -> None:
        h = self.history
        x, y = envelope(*h.series("train_loss"), buckets)
        plt.plot(x.tolist(), y.tolist(), marker="braille", color=SIDE_COLORS[0])
        set_row_ticks(plt, *finite_range(y), self.rows)
        if h.has("test_acc"):
            x, y = envelope(*h.series("test_acc"), buckets)
            plt.plot(x.tolist(), y.tolist(), marker="braille", color="cyan", yside="right")
            set_row_ticks(plt, *finite_range(y), self.rows, yside="right")


class SharpnessChart(SeriesChart):
    """The top Hessian eigenvalue against the stability threshold, with the band that holds it and
    the estimates that stopped short of the tolerance marked (drawn by sharpness_plot)."""

    def key(self) -> str:
        h = self.history
        return "precond_sharpness" if h is not None and h.has("precond_sharpness") else "sharpness"

    def legend(self) -> str:
        name = "preconditioned sharpness" if self.key() == "precond_sharpness" else "sharpness"
        h = self.history
        if h is None or not h.has(self.key()):
            return "sharpness"
        if not h.has("threshold"):
            return f"[bold cyan]{name}[/] (no stability threshold recorded for this optimizer)"
        _, ty = h.series("threshold")
        if np.ptp(ty) <= 1e-9 * max(1.0, abs(float(ty[0]))):
            # "2/η" only where the threshold is 2/η (plain GD/SGD, a monitored torch:SGD without momentum);
            # heavy-ball and preconditioned thresholds are named by what they are not
            lr = float(getattr(self.info, "lr", 0.0) or 0.0)
            thr = "2/η" if lr > 0 and abs(float(ty[-1]) * lr - 2.0) <= 1e-6 else "threshold"
            return f"[bold cyan]{name}[/] vs [red]{thr} = {float(ty[-1]):.4g}[/]"
        return f"[bold cyan]{name}[/] vs [red]threshold[/]"

    def keys(self) -> str | None:
        return None if self.history is None else sharpness_keys(sharpness_series(self.history, self.key()))

    def empty_message(self) -> str | None:
        msg = super().empty_message()
        if msg is None and not self.history.has(self.key()):
            if self.info is not None and self.info.sharpness_every > 0:
                return f"no sharpness recorded yet (every {self.info.sharpness_every} steps)"
            return "no sharpness recorded: run with --sharpness-every K"
        return msg

    def plot(self):
        h = self.history
        return sharpness_plot(sharpness_series(h, self.key()), h.series("threshold"), h.steps, self.mark,
                              self.size.width, self.size.height)
