"""Line charts over steps (plotext): training loss with test accuracy, sharpness against the threshold,
and a pair's two loss curves. Each chart draws only when given new data, from a thinned series."""
from __future__ import annotations

import math

import numpy as np
from rich.text import Text
from textual_plotext import PlotextPlot

from osig_tui.store_views import History, RunInfo
from osig_tui.widgets.spark import envelope

SIDE_COLORS = ("orange", "blue+")


def int_ticks(plt, steps: np.ndarray, count: int = 5) -> None:
    """Whole step numbers on the x axis."""
    if not len(steps):
        return
    lo, hi = int(np.min(steps)), int(np.max(steps))
    ticks = sorted({int(round(v)) for v in np.linspace(lo, hi, count)}) if hi > lo else [lo]
    plt.xticks(ticks, [str(t) for t in ticks])


class SeriesChart(PlotextPlot):
    """A plot that shows a one-line explanation instead of axes when it has nothing to draw."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history: History | None = None
        self.info: RunInfo | None = None
        self.mark: int | None = None

    def show(self, history: History, info: RunInfo, mark: int | None) -> None:
        """New data (or a new marked step, while browsing history); redraws once."""
        self.history, self.info, self.mark = history, info, mark
        self.border_title = self.legend()
        self.refresh()

    def legend(self) -> str:
        """The border title: what each colour is (our own markup, never run data)."""
        return ""

    def empty_message(self) -> str | None:
        return None if self.history is not None and len(self.history.steps) else "no steps recorded yet"

    def draw(self, plt, buckets: int) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def render(self):
        msg = self.empty_message()
        if msg:
            return Text(msg, style="italic", justify="center")
        plt = self.plt
        plt.clear_figure()
        self.draw(plt, max(8, self.size.width - 12))
        int_ticks(plt, self.history.steps)
        if self.mark is not None:
            plt.vline(self.mark, "gray")
        return super().render()


class LossChart(SeriesChart):
    def legend(self) -> str:
        if self.history is not None and self.history.has("test_acc"):
            return "[orange]train loss[/] · [cyan]test acc[/] (right)"
        return "[orange]train loss[/]"

    def draw(self, plt, buckets: int) -> None:
        h = self.history
        x, y = envelope(*h.series("train_loss"), buckets)
        plt.plot(x.tolist(), y.tolist(), marker="braille", color=SIDE_COLORS[0])
        if h.has("test_acc"):
            x, y = envelope(*h.series("test_acc"), buckets)
            plt.plot(x.tolist(), y.tolist(), marker="braille", color="cyan", yside="right")


class SharpnessChart(SeriesChart):
    def key(self) -> str:
        h = self.history
        return "precond_sharpness" if h is not None and h.has("precond_sharpness") else "sharpness"

    def legend(self) -> str:
        name = "preconditioned sharpness" if self.key() == "precond_sharpness" else "sharpness"
        thr = "threshold"
        h = self.history
        if h is not None and not h.has("threshold") and self.info is not None and self.info.lr > 0:
            thr = f"2/η = {2.0 / self.info.lr:.4g}"
        elif h is not None and h.has("threshold"):
            _, ty = h.series("threshold")
            if np.ptp(ty) <= 1e-9 * max(1.0, abs(float(ty[0]))):
                thr = f"threshold {float(ty[0]):.4g}"
        return f"[magenta]{name}[/] vs [red]{thr}[/]"

    def empty_message(self) -> str | None:
        msg = super().empty_message()
        if msg is None and not self.history.has(self.key()):
            if self.info is not None and self.info.sharpness_every > 0:
                return f"no sharpness recorded yet (every {self.info.sharpness_every} steps)"
            return "no sharpness recorded: run with --sharpness-every K"
        return msg

    def draw(self, plt, buckets: int) -> None:
        h, key = self.history, self.key()
        x, y = envelope(*h.series(key), buckets)
        plt.plot(x.tolist(), y.tolist(), marker="braille", color="magenta+")
        tx, ty = h.series("threshold")
        if len(ty) and np.ptp(ty) > 1e-9 * max(1.0, abs(float(ty[0]))):
            tx, ty = envelope(tx, ty, buckets)
            plt.plot(tx.tolist(), ty.tolist(), marker="braille", color="red")
        else:
            thr = float(ty[0]) if len(ty) else (2.0 / self.info.lr if self.info and self.info.lr > 0 else math.nan)
            if math.isfinite(thr):
                plt.hline(thr, "red")
                plt.plot([float(h.steps[0])], [thr], marker="braille", color="red")


class PairLossChart(PlotextPlot):
    """Both sides' mean loss over the steps the pair was tracked (side A orange, side B blue)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.curves: list[tuple[np.ndarray, np.ndarray]] = []
        self.mark: int | None = None

    def show(self, curves: list[tuple[np.ndarray, np.ndarray]], mark: int | None) -> None:
        self.curves, self.mark = curves, mark
        self.refresh()

    def render(self):
        if not any(len(c[0]) for c in self.curves):
            return Text("no group losses recorded for this pair", style="italic", justify="center")
        plt = self.plt
        plt.clear_figure()
        buckets = max(8, self.size.width - 12)
        for k, (s, v) in enumerate(self.curves[:2]):
            x, y = envelope(s, v, buckets)
            plt.plot(x.tolist(), y.tolist(), marker="braille", color=SIDE_COLORS[k])
        steps = [s for s, _ in self.curves if len(s)]
        int_ticks(plt, np.concatenate(steps))
        if self.mark is not None:
            plt.vline(self.mark, "gray")
        return super().render()
