"""The strip of the viewed step's outliers: the samples whose loss rose most (left, ▲) and fell most
(right, ▼), as half-block thumbnails with their loss change and label → prediction, or as text."""
from __future__ import annotations

from rich.segment import Segment
from rich.text import Text

from osig_tui.console import safe
from osig_tui.store_poller import StepView
from osig_tui.store_views import Outlier, RunInfo, class_name
from osig_tui.widgets.segments import Line, SegmentBox, text_lines
from osig_tui.widgets.spark import DOWN_STYLE, UP_STYLE

THUMB_W, THUMB_H = 8, 4  # cells (8×8 pixels as half-blocks)


def _short(name: str, n: int) -> str:
    return name if len(name) <= n else name[:n]


def label_line(o: Outlier, classes: tuple[str, ...], width: int) -> str:
    """'true' or 'true→predicted' (after the step), cut to `width`."""
    true = class_name(classes, o.label)
    if o.pred_after is None or not classes:
        return _short(true, width)
    pred = class_name(classes, o.pred_after)
    if pred == true:
        return _short(true, width)
    k = max(1, (width - 1) // 2)
    return _short(true, k) + "→" + _short(pred, width - 1 - k)


class OutlierStrip(SegmentBox):
    def __init__(self, image_mode: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.image_mode = image_mode
        self.view: StepView | None = None
        self.info: RunInfo | None = None

    def show(self, view: StepView, info: RunInfo) -> None:
        self.view, self.info = view, info
        self.changed()

    def get_content_height(self, container, viewport, width: int) -> int:
        return THUMB_H + 3

    def build(self, width: int) -> list[Line]:
        v, console = self.view, self.app.console
        if v is None or v.step is None:
            return text_lines(Text("no steps recorded yet", style="italic"), console)
        if not v.up and not v.down:
            return text_lines(Text(v.outlier_note or f"no outliers at step {v.step}", style="italic"), console)
        if v.pictures and self.image_mode != "none":
            return self._thumbnails(v, max(THUMB_W + 1, width), console)
        return text_lines(self._text(v, width), console)

    def _thumbnails(self, v: StepView, width: int, console) -> list[Line]:
        per_side = max(1, (width // 2) // (THUMB_W + 1))
        half = per_side * (THUMB_W + 1)
        title = Text()
        pics: list[Line] = [[] for _ in range(THUMB_H)]
        delta, label = Text(), Text()
        for items, style, head in ((v.up, UP_STYLE, f"▲ rose most at step {v.outliers_step}"), (v.down, DOWN_STYLE, "▼ fell most")):
            title.append(head.ljust(half)[:half], style=style)
            shown = items[:per_side]
            for o in shown:
                img = v.pictures.get(o.id)
                rows = self.app.thumbs.lines(o.id, img, THUMB_W, THUMB_H) if img is not None else [[Segment(" " * THUMB_W)]] * THUMB_H
                for r in range(THUMB_H):
                    pics[r] += rows[r] + [Segment(" ")]
                delta.append(f"{o.delta:+.2f}".ljust(THUMB_W + 1)[:THUMB_W + 1], style=style)
                label.append_text(safe(label_line(o, self.info.classes, THUMB_W).ljust(THUMB_W + 1)))
            pad = " " * (half - len(shown) * (THUMB_W + 1))
            for r in range(THUMB_H):
                pics[r].append(Segment(pad))
            delta.append(pad)
            label.append(pad)
        return text_lines(title, console) + pics + text_lines(delta, console) + text_lines(label, console)

    def _text(self, v: StepView, width: int) -> Text:
        rows = max(1, THUMB_H + 2)
        t = Text()
        t.append(f"step {v.outliers_step}: ", style="bold")
        t.append("▲ rose most", style=UP_STYLE)
        t.append(" · ")
        t.append("▼ fell most", style=DOWN_STYLE)
        col = max(20, width // 2 - 1)
        for k in range(max(len(v.up[:rows]), len(v.down[:rows]))):
            t.append("\n")
            for items, style, mark in ((v.up, UP_STYLE, "▲"), (v.down, DOWN_STYLE, "▼")):
                if k < len(items[:rows]):
                    o = items[k]
                    t.append(f"{mark}{o.delta:+.2f} ", style=style)
                    body = v.texts.get(o.id) or f"#{o.id} {label_line(o, self.info.classes, 24)}"
                    t.append_text(safe(body[:col - 8].ljust(col - 8)))
                else:
                    t.append(" " * col)
        return t
