"""The rich progress bar of `osig run`: loss, steps/s and ETA; silent with --quiet."""
from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from osig_tui.console import err


class TrainingProgress:
    def __init__(self, quiet: bool):
        self.quiet = quiet
        self._p: Progress | None = None
        self._task = None

    def __enter__(self) -> "TrainingProgress":
        if not self.quiet:
            self._p = Progress(TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
                               TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]} steps/s"),
                               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                               console=err, transient=False)
            self._p.__enter__()
        return self

    def update(self, step: int, total: int, scalars: dict) -> None:
        if self._p is None:
            return
        if self._task is None:
            self._task = self._p.add_task("train", total=total, completed=step - 1, loss="-", rate="-")
        t = scalars.get("step_time") or 0.0
        self._p.update(self._task, completed=step, total=total, loss=f"{scalars.get('train_loss', float('nan')):.4f}",
                       rate=f"{1.0 / t:.1f}" if t > 0 else "-")

    def __exit__(self, *exc) -> None:
        if self._p is not None:
            self._p.__exit__(*exc)
