"""Small dashboard panels: the share of samples whose loss rose, and curvature share per layer."""
from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widget import Widget

from osig_tui.console import safe
from osig_tui.store_views import History, RunInfo
from osig_tui.widgets.spark import bar, fmt, sparkline

RECENT = 40


class FracUpPanel(Widget):
    """frac_up at the viewed step, its recent sparkline and mean (paper: about half rise each step)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history: History | None = None
        self.step: int | None = None

    def show(self, history: History, step: int | None) -> None:
        self.history, self.step = history, step
        self.refresh()

    def render(self) -> Text:
        h = self.history
        if h is None or not h.has("frac_up"):
            return Text("no loss changes recorded yet", style="italic")
        s, v = h.series("frac_up", self.step)
        if not len(v):
            return Text("no loss changes up to this step", style="italic")
        width = max(4, self.size.width - 1)
        t = Text()
        t.append("rising now ", style="dim")
        t.append(f"{v[-1]:.2f}", style="bold")
        t.append(f"  mean {np.mean(v[-RECENT:]):.2f}\n", style="dim")
        t.append_text(sparkline(v[-width:], 0.0, 1.0, "bold yellow"))
        score = h.latest("opposing_score", self.step)
        if score is not None:
            t.append("\nheld by pairs ", style="dim")
            t.append(fmt(score, 2), style="bold")
        return t


class LayerBars(Widget):
    """Share of the top Hessian eigenvector in each layer, largest first."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.shares: tuple[tuple[str, float], ...] = ()
        self.shares_step: int | None = None
        self.info: RunInfo | None = None

    def show(self, layers: tuple[tuple[str, float], ...], layers_step: int | None, info: RunInfo) -> None:
        if (layers, layers_step) != (self.shares, self.shares_step) or self.info is None:
            self.shares, self.shares_step, self.info = layers, layers_step, info
            self.refresh()

    def render(self) -> Text:
        if not self.shares:
            if self.info is not None and self.info.sharpness_every > 0:
                return Text("no curvature by layer recorded yet", style="italic")
            return Text("no curvature by layer: run with --sharpness-every K", style="italic")
        width = max(12, self.size.width)
        name_w = min(16, max(len(n) for n, _ in self.shares), width // 2)
        bar_w = max(3, width - name_w - 7)
        t = Text()
        rows = max(1, self.size.height - 1)
        for name, share in self.shares[:rows]:
            label = name if len(name) <= name_w else "…" + name[-(name_w - 1):]
            t.append_text(safe(label.ljust(name_w)))
            t.append(" ")
            t.append_text(bar(share, bar_w))
            t.append(f" {share:4.0%}\n" if share < 0.995 else " 100%\n")
        t.append(f"at step {self.shares_step}", style="dim")
        return t
