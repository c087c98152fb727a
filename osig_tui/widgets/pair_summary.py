"""The pair screen's summary of what the two sides share beyond the label (image runs).

Three small pictures — the mean image of side A, of side B, and their pixel-wise difference (orange
where A is brighter, blue where B is) — beside a few lines per side: class make-up, predictions
before → after the step and how many were right. Six rows tall; text goes under the pictures when
the screen is narrow, and the panel hides itself for runs without pictures.
"""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from osig_core.groups.pair_summary import PairSummary, SideSummary
from osig_tui.console import safe
from osig_tui.halfblock import halfblock_segments
from osig_tui.widgets.segments import Line, SegmentBox, text_lines
from osig_tui.widgets.spark import SIDE_STYLES

PIC_W, PIC_H = 10, 5  # cells per picture (10 x 10 pixels of a 28 x 28 or 32 x 32 image)
GAP = 1
TEXT_MIN = 30  # narrower than this beside the pictures: the text goes under them


def side_lines(k: int, s: SideSummary, width: int) -> list[Text]:
    """'A 40: Shirt 45% Coat 30% +2' and '  pred right 12→30 · Shirt→T-shirt 9, Coat→Shirt 2', cut to `width`."""
    head = Text()
    head.append(f"{'AB'[k]} {s.size}", style=SIDE_STYLES[k])
    if s.classes:
        head.append(": ")
        head.append_text(safe(" ".join(f"{n} {c / max(s.size, 1):.0%}" for n, c in s.classes[:3])))
        if len(s.classes) > 3:
            head.append(f" +{len(s.classes) - 3}", style="dim")
    pred = Text("  pred ", style="dim")
    if s.transitions:
        pred.append(f"right {s.correct_before}→{s.correct_after}")
        moved = [(b, a, c) for b, a, c in s.transitions if b != a][:2]  # which classes it hesitates between
        pred.append(" · ", style="dim")
        if moved:
            pred.append_text(safe(", ".join(f"{b}→{a} {c}" for b, a, c in moved)))
        else:
            pred.append("none changed", style="dim")
    else:
        pred.append("not recorded at this step", style="dim italic")
    for t in (head, pred):
        t.truncate(width, overflow="ellipsis")
    return [head, pred]


class PairSummaryPanel(SegmentBox):
    """Mean images and per-side make-up of the viewed pair; `show(None)` hides it."""

    DEFAULT_CSS = """
    PairSummaryPanel {
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.summary: PairSummary | None = None
        self.pictures = True

    def show(self, summary: PairSummary | None, pictures: bool = True) -> None:
        self.summary, self.pictures = summary, pictures
        self.display = summary is not None
        self.changed()

    def _texts(self, width: int) -> list[Text]:
        s = self.summary
        out = [line for k, side in enumerate(s.sides) for line in side_lines(k, side, width)]
        if s.diff_image is not None:
            t = Text()
            t.append("A−B: ", style="bold")
            t.append("A", style=SIDE_STYLES[0])
            t.append("/")
            t.append("B", style=SIDE_STYLES[1])
            t.append(f" brighter, full colour {s.diff_max:.2f}", style="dim")
            a, b = (side.brightness for side in s.sides)
            if a is not None and b is not None:
                t.append(f" · mean A {a:.2f} B {b:.2f}", style="dim")
            t.truncate(width, overflow="ellipsis")
            out.append(t)
        return out

    def build(self, width: int) -> list[Line]:
        s = self.summary
        if s is None:
            return []
        console = self.app.console
        pics = [side.mean_image for side in s.sides] + [s.diff_image]
        if not self.pictures or any(p is None for p in pics):
            return [line for t in self._texts(max(10, width)) for line in text_lines(t, console)]
        block_w = 3 * (PIC_W + GAP)
        beside = width - block_w >= TEXT_MIN
        rows: list[Line] = [[] for _ in range(PIC_H + 1)]
        for label, style, pic in zip(("mean A", "mean B", "A − B"), (*SIDE_STYLES, "bold"), pics):
            rows[0] += [Segment(label.ljust(PIC_W + GAP)[:PIC_W + GAP], Style.parse(style))]
            for r, line in enumerate(halfblock_segments(pic, PIC_W, PIC_H, self.app.thumbs.colors)):
                rows[r + 1] += line + [Segment(" " * GAP)]
        texts = self._texts(width - block_w if beside else width)
        if not beside:
            return rows + [line for t in texts for line in text_lines(t, console)]
        for r, t in enumerate(texts[:PIC_H], start=1):
            rows[r] += text_lines(t, console)[0]
        return rows
