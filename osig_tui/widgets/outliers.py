"""The strip of the viewed step's outliers: the samples whose loss rose most (left, ▲) and fell most
(right, ▼), as half-block thumbnails with their loss change and label → prediction, or as text."""
from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from osig_tui.console import safe
from osig_tui.store_poller import StepView
from osig_tui.store_views import Outlier, RunInfo, class_name
from osig_tui.widgets.images import halfblock_lines
from osig_tui.widgets.spark import DOWN_STYLE, UP_STYLE

THUMB_W, THUMB_H = 8, 4  # cells (8×8 pixels as half-blocks)


def _short(name: str, n: int) -> str:
    return name if len(name) <= n else name[:n]


def _label_line(o: Outlier, classes: tuple[str, ...], width: int) -> str:
    true = class_name(classes, o.label)
    if o.pred_after is None or not classes:
        return _short(true, width)
    pred = class_name(classes, o.pred_after)
    if pred == true:
        return _short(true, width)
    k = max(1, (width - 1) // 2)
    return _short(true, k) + "→" + _short(pred, width - 1 - k)


class OutlierStrip(Widget):
    def __init__(self, image_mode: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.image_mode = image_mode
        self.view: StepView | None = None
        self.info: RunInfo | None = None

    def show(self, view: StepView, info: RunInfo) -> None:
        self.view, self.info = view, info
        self.refresh()

    def render(self) -> Text:
        v = self.view
        if v is None or v.step is None:
            return Text("no steps recorded yet", style="italic")
        if not v.up and not v.down:
            return Text(v.outlier_note or f"no outliers at step {v.step}", style="italic")
        if v.pictures and self.image_mode != "none":
            return self._thumbnails(v)
        return self._lines(v)

    def _thumbnails(self, v: StepView) -> Text:
        width = max(THUMB_W + 1, self.size.width)
        per_side = max(1, (width // 2) // (THUMB_W + 1))
        half = per_side * (THUMB_W + 1)
        items = [(o, UP_STYLE, "▲") for o in v.up[:per_side]], [(o, DOWN_STYLE, "▼") for o in v.down[:per_side]]
        lines = [Text() for _ in range(THUMB_H + 3)]
        for side, title in zip(items, (f"▲ rose most at step {v.step}", "▼ fell most")):
            lines[0].append(title.ljust(half)[:half], style=UP_STYLE if title.startswith("▲") else DOWN_STYLE)
            for o, style, _ in side:
                img = v.pictures.get(o.id)
                pic = halfblock_lines(img, THUMB_W, THUMB_H) if img is not None else [Text(" " * THUMB_W)] * THUMB_H
                for r in range(THUMB_H):
                    lines[1 + r].append_text(pic[r])
                    lines[1 + r].append(" ")
                lines[THUMB_H + 1].append(f"{o.delta:+.2f}".ljust(THUMB_W + 1)[:THUMB_W + 1], style=style)
                lines[THUMB_H + 2].append_text(safe(_label_line(o, self.info.classes, THUMB_W).ljust(THUMB_W + 1)))
            pad = half - len(side) * (THUMB_W + 1)
            for line in lines[1:]:
                line.append(" " * pad)
        return Text("\n").join(lines)

    def _lines(self, v: StepView) -> Text:
        rows = max(1, self.size.height - 1)
        t = Text()
        t.append(f"step {v.step}: ", style="bold")
        t.append("▲ rose most", style=UP_STYLE)
        t.append(" · ")
        t.append("▼ fell most", style=DOWN_STYLE)
        col = max(20, self.size.width // 2 - 1)
        for k in range(max(len(v.up[:rows]), len(v.down[:rows]))):
            t.append("\n")
            for items, style, mark in ((v.up, UP_STYLE, "▲"), (v.down, DOWN_STYLE, "▼")):
                if k < len(items[:rows]):
                    o = items[k]
                    t.append(f"{mark}{o.delta:+.2f} ", style=style)
                    body = v.texts.get(o.id) or f"#{o.id} {_label_line(o, self.info.classes, 24)}"
                    t.append_text(safe(body[:col - 8].ljust(col - 8)))
                else:
                    t.append(" " * col)
        return t
