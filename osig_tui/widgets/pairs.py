"""The table of detected opposing pairs: one row per pair, each side's loss as a sparkline on a
shared scale (side A orange, side B blue), the pair's score and period and each side's classes."""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from osig_tui.console import safe
from osig_tui.store_views import PairRow
from osig_tui.widgets.spark import SIDE_STYLES, fmt, paired_sparklines

SPARK_WIDTH = 16
COLUMNS = (("pair", "id"), ("score", "score"), ("period", "period"), ("loss A / B", "spark"),
           ("side: samples, classes", "classes"))


FIXED_WIDTH = 42  # cells the other columns take (their widths, padding, the scrollbar)


def classes_text(hist: tuple[tuple[str, int], ...], width: int, limit: int = 3) -> str:
    """'name count, name count, +N': whole class names only, as many as fit `width` (at least one),
    so a narrow terminal lists fewer classes rather than cutting one."""
    parts: list[str] = []
    for k, (name, count) in enumerate(hist[:limit]):
        part = f"{name} {count}"
        rest = len(hist) - k - 1
        tail = f", +{rest}" if rest else ""
        if parts and len(", ".join(parts + [part])) + len(tail) > width:
            break
        parts.append(part)
    if len(hist) > len(parts):
        parts.append(f"+{len(hist) - len(parts)}")
    return ", ".join(parts)


def pair_cells(p: PairRow, width: int = 80) -> tuple:
    """Two lines per pair: side A (orange) above side B (blue); the classes fit `width` cells."""
    a, b = paired_sparklines(p.spark[0], p.spark[1], SPARK_WIDTH)
    period = "–" if p.period is None else f"{p.period:.3g}"
    classes = Text()
    for k in (0, 1):
        if k:
            classes.append("\n")
        head = f"{'AB'[k]} {p.sizes[k]:>3}: "
        classes.append(head, style=SIDE_STYLES[k])
        classes.append_text(safe(classes_text(p.classes[k], width - len(head))))
    return (Text(f"#{p.id}", style="bold"), Text(fmt(p.score, 2), justify="right"), Text(period, justify="right"),
            a + Text("\n") + b, classes)


class PairsTable(DataTable):
    """Rows keyed by pair id, so the cursor stays on its pair while rows are replaced."""

    BINDINGS = [Binding("enter", "select_cursor", "Open pair"),
                Binding("j", "cursor_down", "Down", show=False), Binding("k", "cursor_up", "Up", show=False)]

    @dataclass
    class Chosen(Message):
        pair_id: int

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, cursor_foreground_priority="renderable", **kwargs)
        self.pairs: tuple[PairRow, ...] = ()
        self.query_text = ""
        self.shown_ids: list[int] = []
        self._cells: dict[int, tuple] = {}

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    def show(self, pairs: tuple[PairRow, ...] | None = None, query: str | None = None) -> None:
        if pairs is not None:
            self.pairs = pairs
        if query is not None:
            self.query_text = query
        rows = [p for p in self.pairs if p.matches(self.query_text)]
        ids = [p.id for p in rows]
        width = max(24, (self.size.width or 120) - FIXED_WIDTH)
        cells = {p.id: pair_cells(p, width) for p in rows}
        if ids == self.shown_ids:  # same rows: touch only the cells that changed
            for pid in ids:
                old = self._cells.get(pid)
                for (_, key), new, before in zip(COLUMNS, cells[pid], old or [None] * len(COLUMNS)):
                    if before is None or new != before:
                        self.update_cell(str(pid), key, new, update_width=True)  # never wrap a longer text
            self._cells = cells
            return
        current = self.current_pair()
        self.clear()
        for pid in ids:
            self.add_row(*cells[pid], key=str(pid), height=2)
        self.shown_ids, self._cells = ids, cells
        if current in ids:
            self.move_cursor(row=ids.index(current), animate=False)

    def on_resize(self, event) -> None:
        if self.pairs:
            self.show()  # the classes column lists as many whole names as the new width holds

    def current_pair(self) -> int | None:
        if not self.shown_ids or self.cursor_row is None or not 0 <= self.cursor_row < len(self.shown_ids):
            return None
        return self.shown_ids[self.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value is not None:
            self.post_message(self.Chosen(int(event.row_key.value)))
