"""The comparison's list of runs: its key (1-9), its colour (● shown, ○ hidden), what differs, its
status, progress, latest loss and sharpness over threshold. Enter opens the highlighted run."""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from osig_tui.compare_poller import CompareState, MemberState
from osig_tui.console import safe
from osig_tui.widgets.compare_charts import run_color
from osig_tui.widgets.spark import fmt

COLUMNS = (("key", "key"), ("", "dot"), ("status", "status"), ("step", "step"), ("loss", "loss"), ("λ/thr", "edge"),
           ("run: what differs", "label"))
FIXED_WIDTH = 45  # cells the other columns take (their widths, padding, the scrollbar)
STATUS_STYLES = {"running": "bold green", "finished": "cyan", "failed": "bold red", "diverged": "bold red",
                 "stopped": "yellow", "paused": "yellow", "pending": "dim"}


def run_cells(state: CompareState, m: MemberState, shown: bool, width: int = 80) -> tuple:
    """The row of one run; its label cut to `width` cells (the end, …) so the table never scrolls sideways."""
    colour = run_color(m.index)
    key = str(m.index + 1) if m.index < 9 else ""
    step = f"{m.steps_done}/{m.total_steps}" if m.readable else "–"
    label = safe(state.label(m)).plain
    if len(label) > width:
        label = label[:max(1, width - 1)] + "…"
    return (Text(key, style="bold"), Text("●" if shown else "○", style=colour if shown else "dim"),
            Text(m.status, style=STATUS_STYLES.get(m.status, "")), Text(step, justify="right"),
            Text(fmt(m.latest("loss"), 4), justify="right"), Text(fmt(m.latest("sharp"), 3), justify="right"),
            Text(label, style="" if shown else "dim"))


class RunsTable(DataTable):
    """Rows keyed by run index, so the cursor stays on its run while rows are refreshed."""

    BINDINGS = [Binding("enter", "select_cursor", "Open run"),
                Binding("j", "cursor_down", "Down", show=False), Binding("k", "cursor_up", "Up", show=False)]

    @dataclass
    class Chosen(Message):
        index: int

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, cursor_foreground_priority="renderable", **kwargs)
        self.indices: list[int] = []
        self._cells: dict[int, tuple] = {}
        self._last: tuple[CompareState, set[int]] | None = None

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    def show(self, state: CompareState, hidden: set[int]) -> None:
        self._last = (state, hidden)
        width = max(16, (self.size.width or 80) - FIXED_WIDTH)
        cells = {m.index: run_cells(state, m, m.index not in hidden, width) for m in state.members}
        indices = [m.index for m in state.members]
        if indices == self.indices:  # same runs: touch only the cells that changed
            for i in indices:
                old = self._cells.get(i) or (None,) * len(COLUMNS)
                for (_, key), new, before in zip(COLUMNS, cells[i], old):
                    if before is None or new != before:
                        self.update_cell(str(i), key, new, update_width=True)
        else:
            current = self.current()
            self.clear()
            for i in indices:
                self.add_row(*cells[i], key=str(i))
            self.indices = indices
            if current in indices:
                self.move_cursor(row=indices.index(current), animate=False)
        self._cells = cells

    def on_resize(self, event) -> None:
        if self._last is not None:
            self.show(*self._last)  # the labels as long as the new width holds

    def current(self) -> int | None:
        if not self.indices or self.cursor_row is None or not 0 <= self.cursor_row < len(self.indices):
            return None
        return self.indices[self.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value is not None:
            self.post_message(self.Chosen(int(event.row_key.value)))
