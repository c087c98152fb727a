"""The run header: which run, how it trains, how far it is, how fast, where, its status, and what
the time goes to (or, in a step that takes long, what runs now)."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from osig_tui.console import safe
from osig_tui.store_poller import Progress
from osig_tui.store_views import RunInfo
from osig_tui.widgets.spark import fmt

STATUS_STYLES = {
    "starting": ("… starting", "bold yellow"),
    "running": ("● running", "bold green"),
    "paused": ("‖ paused", "bold yellow"),
    "finished": ("✔ finished", "bold cyan"),
    "stopped": ("■ stopped", "bold yellow"),
    "diverged": ("✖ diverged", "bold red"),
    "failed": ("✖ failed", "bold red"),
}


def header_text(info: RunInfo, progress: Progress | None, view_step: int | None, following: bool) -> Text:
    t = Text()
    t.append("osig ", style="bold")
    t.append(safe(info.run_id).plain, style="bold")
    t.append("  ")
    t.append_text(safe(f"{info.model} ×{info.width:g} / {info.optim}  lr {info.lr:g}  {info.data} n={info.n}"))
    t.append("\n")
    if progress is None:
        t.append("reading the run…", style="italic")
        return t
    done = 0 if progress.last_step is None else progress.last_step + 1
    t.append(f"step {done}/{progress.total_steps}", style="bold")
    rate = fmt(progress.rate, 3) if progress.status != "paused" else "–"
    t.append(f"  {rate} steps/s  ")
    t.append_text(safe(progress.device))
    t.append("  ")
    label, style = STATUS_STYLES.get(progress.status, (progress.status, "bold"))
    t.append(label, style=style)
    if progress.reason and progress.status not in ("running", "paused", "finished"):
        t.append(": ", style=style)
        t.append_text(safe(progress.reason))
    t.append("\n")
    if not following and view_step is not None:
        t.append(f"viewing step {view_step}", style="bold reverse")
        t.append(" (g: latest)  ", style="dim")
    t.append_text(values_text(progress, view_step))
    if progress.activity and progress.status == "running":  # a step that takes long: what runs now
        t.append("\n▸ ", style="bold yellow")
        t.append_text(safe(progress.activity))
    elif progress.cost:  # where the wall time went, so a user sees what to switch off
        t.append("\ntime: ", style="dim")
        t.append_text(safe(progress.cost))
    return t


def values_text(progress: Progress, step: int | None) -> Text:
    """The scalars at the viewed step (the latest measurement at or before it for sparse ones)."""
    h = progress.history
    t = Text()
    items = [("loss", "train_loss", 4), ("acc", "train_acc", 3), ("test acc", "test_acc", 3),
             ("rising", "frac_up", 2)]
    key = "precond_sharpness" if h.has("precond_sharpness") else "sharpness"
    if h.has(key):
        items.append(("sharpness", key, 4))
    for label, name, digits in items:
        v = h.latest(name, step)
        if v is None:
            continue
        t.append(f"{label} ", style="dim")
        t.append(fmt(v, digits), style="bold")
        if name == key:
            thr = h.latest("threshold", step)
            if thr is not None:
                t.append(f" / {fmt(thr, 4)}", style="bold red" if v > thr else "dim")
        t.append("  ")
    return t


class RunHeader(Static):
    """Redraws only when its text changes."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self._last: Text | None = None

    def show(self, info: RunInfo, progress: Progress | None, view_step: int | None, following: bool) -> None:
        text = header_text(info, progress, view_step, following)
        if text != self._last:
            self._last = text
            self.update(text)
