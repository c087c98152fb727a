"""The dashboard's outliers as real pictures (sixel or kitty graphics), for terminals that draw them.

The same content as OutlierStrip — the samples whose loss rose most (▲) and fell most (▼) at the
viewed step, with their loss change and label → prediction — but each thumbnail is an image widget.
The cards are fixed slots refilled in place (an image is replaced only when its sample changes),
so following a live run costs no remounting; a resize recomposes them for the new width."""
from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from osig_tui.console import safe
from osig_tui.store_poller import StepView
from osig_tui.store_views import RunInfo
from osig_tui.widgets.images import picture
from osig_tui.widgets.outliers import THUMB_H, THUMB_W, label_line
from osig_tui.widgets.spark import DOWN_STYLE, UP_STYLE

CARD_W = THUMB_W + 1


class OutlierCard(Vertical):
    """One outlier: its picture and two caption lines (loss change, label → prediction)."""

    def __init__(self, mode: str, **kwargs) -> None:
        super().__init__(classes="outlier-card", **kwargs)
        self.mode = mode
        self.sample: int | None = None

    def compose(self) -> ComposeResult:
        yield Vertical(classes="outlier-pic")
        yield Static("", classes="outlier-caption")

    def fill(self, sample: int | None, img: np.ndarray | None, caption: Text) -> None:
        if sample != self.sample:
            self.sample = sample
            box = self.query_one(".outlier-pic", Vertical)
            box.remove_children()
            if img is not None:
                pic = picture(self.mode, img, THUMB_W, THUMB_H, colors=self.app.thumbs.colors)
                if pic is not None:
                    box.mount(pic)
        self.query_one(".outlier-caption", Static).update(caption)


class OutlierCards(Vertical):
    """Drop-in for OutlierStrip when the terminal draws sixel or kitty graphics (`show(view, info)`)."""

    def __init__(self, image_mode: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.image_mode = image_mode
        self.view: StepView | None = None
        self.info: RunInfo | None = None
        self.per_side = 0

    def compose(self) -> ComposeResult:
        yield Static("", classes="outlier-title")
        yield Static("", classes="outlier-note")
        with Horizontal(classes="outlier-row"):
            for k in range(2 * self.per_side):
                yield OutlierCard(self.image_mode)

    def on_resize(self, event) -> None:
        per_side = max(1, (event.size.width // 2) // CARD_W)
        if per_side != self.per_side:
            self.per_side = per_side
            self.refresh(recompose=True)
            self.call_after_refresh(self._fill)

    def show(self, view: StepView, info: RunInfo) -> None:
        self.view, self.info = view, info
        self._fill()

    def _fill(self) -> None:
        v = self.view
        note = self.query_one(".outlier-note", Static)
        row = self.query_one(".outlier-row", Horizontal)
        if v is None or v.step is None or (not v.up and not v.down) or not v.pictures:
            text = ("no steps recorded yet" if v is None or v.step is None
                    else v.outlier_note or f"no outliers at step {v.step}")
            note.update(Text(text, style="italic"))
            note.display, row.display = True, False
            self.query_one(".outlier-title", Static).update("")
            return
        note.display, row.display = False, True
        half = self.per_side * CARD_W
        title = Text()
        title.append(f"▲ rose most at step {v.outliers_step}".ljust(half)[:half], style=UP_STYLE)
        title.append("▼ fell most", style=DOWN_STYLE)
        self.query_one(".outlier-title", Static).update(title)
        cards = list(self.query(OutlierCard))
        slots = [(o, UP_STYLE) for o in v.up[:self.per_side]] + [None] * (self.per_side - len(v.up[:self.per_side]))
        slots += [(o, DOWN_STYLE) for o in v.down[:self.per_side]] + [None] * (self.per_side - len(v.down[:self.per_side]))
        for card, slot in zip(cards, slots):
            if slot is None:
                card.fill(None, None, Text(""))
                continue
            o, style = slot
            cap = Text(f"{o.delta:+.2f}", style=style)
            cap.append("\n")
            cap.append_text(safe(label_line(o, self.info.classes, THUMB_W)))
            card.fill(o.id, v.pictures.get(o.id), cap)

    def plain(self) -> str:
        """The captions shown (for tests)."""
        return "\n".join(str(s.render()) for s in self.query(".outlier-title, .outlier-caption"))
