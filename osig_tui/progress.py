"""The rich progress bar of `osig run`: loss, steps/s, active time and ETA; silent with --quiet.

Steps/s is osig_core.store.cost.steps_per_second over the recent steps' step_time, the figure the
summary and the monitor show too; the time shown is the run's active time (pauses excluded). When
a step takes long (step 0, a sharpness estimate on a big model) the bar says what is running.
"""
from __future__ import annotations

import time
from collections import deque

from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn
from rich.text import Text

from osig_core.store.cost import RATE_WINDOW, steps_per_second
from osig_tui.console import err, safe

SLOW_STEP_S = 1.0  # say what is running once a step has taken this long


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class _ActivityColumn(ProgressColumn):
    """What the engine is doing, once the current step has run for SLOW_STEP_S."""

    def __init__(self, owner: "TrainingProgress") -> None:
        super().__init__()
        self.owner = owner

    def render(self, task) -> Text:
        o = self.owner
        if o.doing and time.monotonic() - o.step_started >= SLOW_STEP_S:
            return Text.assemble(("▸ ", "yellow"), safe(o.doing)) + Text(f" ({time.monotonic() - o.step_started:.0f} s)",
                                                                             style="dim")
        return Text("")


class TrainingProgress:
    """Callable as the engine's progress hook (step, total, scalars); `activity(step, message)`
    hears what the engine is doing within a step."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self._p: Progress | None = None
        self._task = None
        self.step_times: deque[float] = deque(maxlen=RATE_WINDOW)
        self.active = 0.0
        self.doing = ""  # the engine's latest message ("step 0: sharpness estimate, HVP 5 of ≤ 20")
        self.step_started = time.monotonic()

    def __enter__(self) -> "TrainingProgress":
        if not self.quiet:
            self._p = Progress(TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
                               TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]} steps/s"),
                               TextColumn("{task.fields[active]}"), TextColumn("ETA {task.fields[eta]}"),
                               _ActivityColumn(self), console=err, transient=False)
            self._p.__enter__()
            self.doing = "preparing the data and the model"  # until the engine says more
            self._ensure_task(0, None)
        return self

    def _ensure_task(self, step: int, total: int | None) -> None:
        if self._task is None and self._p is not None:
            self._task = self._p.add_task("train", total=total, completed=max(0, step - 1), loss="-", rate="-",
                                          active=clock(0), eta=clock(None))

    def __call__(self, step: int, total: int, scalars: dict) -> None:
        self.update(step, total, scalars)

    def update(self, step: int, total: int, scalars: dict) -> None:
        t = scalars.get("step_time")
        if isinstance(t, (int, float)) and t == t:
            self.step_times.append(float(t))
            self.active += float(t)
        self.step_started, self.doing = time.monotonic(), ""
        if self._p is None:
            return
        self._ensure_task(step, total)
        rate = steps_per_second(self.step_times)
        self._p.update(self._task, completed=step, total=total, loss=f"{scalars.get('train_loss', float('nan')):.4f}",
                       rate=f"{rate:.3g}" if rate else "-", active=clock(self.active),
                       eta=clock((total - step) / rate if rate else None))

    def activity(self, step: int, message: str) -> None:
        """The engine's hook: what runs now within step `step` (shown once the step is slow)."""
        self.doing = message
        if self._p is not None and self._task is None:
            self._ensure_task(step, None)  # step 0 can take long: show the bar (and what runs) before it ends

    def __exit__(self, *exc) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)
