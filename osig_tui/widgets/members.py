"""One side of a pair on the group screen: its class histogram and its members — pictures with true
label and prediction before → after, or a table of their texts / inputs when there are no pictures."""
from __future__ import annotations

import math

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from rich.segment import Segment
from textual.widgets import DataTable, Static

from osig_tui.console import safe
from osig_tui.store_views import GroupSide, class_name
from osig_tui.widgets.images import picture
from osig_tui.widgets.segments import Line, SegmentBox, text_lines
from osig_tui.widgets.spark import SIDE_STYLES, bar

PIC_W, PIC_H = 12, 6  # cells per member picture
CARD_W = PIC_W + 2
CARDS = 32  # member pictures per side (half-blocks)
GRAPHIC_CARDS = 16  # per side as sixel / kitty pictures (one widget each)


def histogram_text(hist: tuple[tuple[str, int], ...], width: int, style: str, rows: int = 4) -> Text:
    """A side's classes (name, count; most common first) as bars."""
    if not hist:
        return Text("no classes", style="italic")
    total = sum(c for _, c in hist) or 1
    name_w = min(12, max(len(n) for n, _ in hist[:rows]))
    t = Text()
    for k, (name, count) in enumerate(hist[:rows]):
        if k:
            t.append("\n")
        t.append_text(safe(name[:name_w].ljust(name_w)))
        t.append(" ")
        t.append_text(bar(count / total, max(4, width - name_w - 6), style=style))
        t.append(f" {count}")
    if len(hist) > rows:
        t.append(f"\n+{len(hist) - rows} more classes", style="dim")
    return t


def warm_thumbs(thumbs, sides) -> None:
    """Draw the member pictures a MemberGrid will show into the shared cache (on a worker thread),
    so filling the group screen costs the UI thread no drawing."""
    for side in sides:
        if side.images is None:
            continue
        for k in range(min(CARDS, len(side.members), len(side.images))):
            thumbs.lines(int(side.members[k]), side.images[k], PIC_W, PIC_H)


def caption(side: GroupSide, k: int, classes: tuple[str, ...]) -> Text:
    t = Text()
    d = float(side.deltas[k])
    t.append(f"#{int(side.members[k])} ", style="bold")
    t.append("" if math.isnan(d) else f"{d:+.2f}", style="red3" if d > 0 else "green3")
    true = class_name(classes, side.labels[k].item())
    t.append("\n")
    t.append_text(safe(true[:CARD_W - 1]))
    if side.pred_before is not None and side.pred_after is not None:
        before = class_name(classes, int(side.pred_before[k]))
        after = class_name(classes, int(side.pred_after[k]))
        t.append("\n")
        half = (CARD_W - 2) // 2
        t.append_text(safe(before[:half]))
        t.append("→", style="bold red" if before != after else "dim")
        t.append_text(safe(after[:CARD_W - 2 - half]))
    return t


def intervals(xs: np.ndarray, gap: float) -> str:
    """Sorted 1-D inputs merged into intervals where neighbours are closer than `gap`."""
    xs = np.sort(np.asarray(xs, np.float64)[np.isfinite(xs)])
    if not xs.size:
        return "no inputs"
    parts, lo, prev = [], xs[0], xs[0]
    for x in xs[1:]:
        if x - prev > gap:
            parts.append((lo, prev))
            lo = x
        prev = x
    parts.append((lo, prev))
    return " ∪ ".join(f"[{a:.3g}, {b:.3g}]" if b > a else f"{{{a:.3g}}}" for a, b in parts)


class MemberGrid(SegmentBox):
    """Half-block pictures of many members in one widget (cheap to lay out), captions beneath each."""

    def __init__(self, side: GroupSide, names: tuple[str, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self.side, self.names = side, names
        self.count = min(CARDS, len(side.members), len(side.images))

    def build(self, width: int) -> list[Line]:
        per_row = max(1, (width + 1) // (CARD_W + 1))
        console = self.app.console
        lines: list[Line] = []
        for start in range(0, self.count, per_row):
            block: list[Line] = [[] for _ in range(PIC_H)]
            caps = [Text() for _ in range(3)]
            for k in range(start, min(start + per_row, self.count)):
                pic = self.app.thumbs.lines(int(self.side.members[k]), self.side.images[k], PIC_W, PIC_H)
                for r in range(PIC_H):
                    block[r] += [Segment(" ")] + pic[r] + [Segment(" " * (CARD_W - PIC_W))]
                cap = caption(self.side, k, self.names).split()
                for r in range(3):
                    line = cap[r] if r < len(cap) else Text("")
                    line.truncate(CARD_W, pad=True)
                    caps[r].append_text(line)
                    caps[r].append(" ")
            lines += block
            for c in caps:
                lines += text_lines(c, console)
            lines.append([])
        return lines


class SideView(Vertical):
    """Title, class histogram and members of side `index` (0 = A, orange; 1 = B, blue)."""

    def __init__(self, index: int, **kwargs) -> None:
        super().__init__(classes=f"side side-{'ab'[index]}", **kwargs)
        self.index = index

    def compose(self) -> ComposeResult:
        yield Static("", classes="side-title")
        yield Static("", classes="side-hist")
        yield Vertical(classes="side-members")

    def show_summary(self, hist: tuple[tuple[str, int], ...], size: int) -> None:
        """What the dashboard already knows (size, classes), shown at once; members follow when read."""
        self._head(hist, size)
        box = self.query_one(".side-members", Vertical)
        box.remove_children()
        box.mount(Static(Text("reading members…", style="italic dim"), classes="members-loading"))

    def _head(self, hist: tuple[tuple[str, int], ...], n: int, note: str = "") -> None:
        title = Text(f"side {'AB'[self.index]} · {n} samples", style=SIDE_STYLES[self.index])
        if note:
            title.append(note, style="dim")
        self.query_one(".side-title", Static).update(title)
        hist_widget = self.query_one(".side-hist", Static)
        hist_widget.update(histogram_text(hist, max(20, self.size.width - 2), SIDE_STYLES[self.index]))

    def show(self, side: GroupSide, classes: tuple[str, ...], mode: str, data_kind: str, x_gap: float | None) -> None:
        n = len(side.members)
        shown = CARDS if mode == "halfcell" else GRAPHIC_CARDS
        note = f" ({shown} that moved most shown)" if side.images is not None and mode != "none" and n > shown else ""
        self._head(side.classes, n, note)
        box = self.query_one(".side-members", Vertical)
        box.remove_children()
        if side.images is not None and mode == "halfcell":
            box.mount(MemberGrid(side, classes, classes="member-grid"))
        elif side.images is not None and mode != "none":
            box.mount(self._cards(side, classes, mode))
        else:
            box.mount(self._table(side, classes, data_kind, x_gap))

    def _cards(self, side: GroupSide, classes: tuple[str, ...], mode: str) -> Grid:
        cards = []
        for k in range(min(GRAPHIC_CARDS, len(side.members), len(side.images))):
            pic = picture(mode, side.images[k], PIC_W, PIC_H)
            cards.append(Vertical(*([pic] if pic is not None else []), Static(caption(side, k, classes), classes="caption"),
                                  classes="card"))
        grid = Grid(*cards, classes="cards")
        grid.styles.grid_size_columns = self._columns()
        return grid

    def _columns(self) -> int:
        width = self.size.width or max(CARD_W, self.app.size.width // 2 - 2)
        return max(1, (width + 1) // (CARD_W + 1))

    def on_resize(self) -> None:
        for grid in self.query(".cards"):
            grid.styles.grid_size_columns = self._columns()

    def _table(self, side: GroupSide, classes: tuple[str, ...], data_kind: str, x_gap: float | None) -> Vertical:
        parts = []
        if side.xs is not None and len(side.xs):
            parts.append(Static(Text("x in ", style="dim") + safe(intervals(side.xs, x_gap or 1e-9)),
                                classes="intervals"))
        table = DataTable(cursor_type="row", zebra_stripes=True, classes="members-table")
        cols = ["id", "Δloss", "label"]
        if side.pred_before is not None:
            cols.append("pred before → after")
        if side.texts is not None:
            cols.append("text" if data_kind == "text" else "sample")
        table.add_columns(*cols)
        for k in range(min(len(side.members), 200)):
            d = float(side.deltas[k])
            row = [str(int(side.members[k])), "–" if math.isnan(d) else f"{d:+.3f}",
                   safe(class_name(classes, side.labels[k].item()))]
            if side.pred_before is not None:
                row.append(safe(f"{class_name(classes, int(side.pred_before[k]))} → "
                                f"{class_name(classes, int(side.pred_after[k]))}"))
            if side.texts is not None:
                row.append(safe(side.texts[k]) if k < len(side.texts) else Text(""))
            table.add_row(*row)
        parts.append(table)
        return Vertical(*parts, classes="members-list")
