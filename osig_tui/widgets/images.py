"""Pictures in the terminal: sixel or kitty graphics through textual-image, else half-blocks.

`resolve_image_mode` runs before the app starts (textual-image asks the terminal what it supports
then, and cannot once Textual owns stdin); any failure falls back silently to half-blocks.
`halfblock_segments` draws a small RGB array as rows of '▀' cells (upper pixel = fg, lower = bg).
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time

import numpy as np
from rich.segment import Segment
from rich.text import Text
from osig_tui.halfblock import halfblock_segments
from textual.widget import Widget
from textual.widgets import Static

IMAGE_MODES = ("auto", "sixel", "kitty", "halfcell", "none")


def resolve_image_mode(requested: str) -> str:
    """'auto' asks the terminal (sixel, then kitty graphics, else half-blocks); named modes are kept."""
    if requested not in IMAGE_MODES:
        raise ValueError(f"--images must be one of {', '.join(IMAGE_MODES)}, got '{requested}'")
    if requested in ("none", "halfcell"):
        return requested
    if not (sys.__stdout__ and sys.__stdout__.isatty() and sys.__stdin__ and sys.__stdin__.isatty()):
        return "halfcell" if requested == "auto" else requested
    logging.getLogger("textual_image").setLevel(logging.CRITICAL)  # no warnings on the terminal
    try:
        import textual_image.widget  # noqa: F401  (queries the terminal once, caches the cell size)
        from textual_image import renderable
        chosen = renderable.Image
    except Exception:  # a terminal that answers oddly must never stop the monitor
        chosen = None
    finally:
        _drop_late_answers()
    if requested != "auto":
        return requested
    if chosen is not None and chosen.__name__ == "Image" and chosen.__module__.endswith(".sixel"):
        return "sixel"
    if chosen is not None and chosen.__module__.endswith(".tgp"):
        return "kitty"
    return "halfcell"


def _drop_late_answers(wait: float = 0.15) -> None:
    """A terminal's answer that arrives after textual-image stopped waiting would reach the app as
    key presses ('?', 'c', ...): give it a moment, then discard pending input."""
    try:
        import termios
        time.sleep(wait)
        termios.tcflush(sys.__stdin__.fileno(), termios.TCIFLUSH)
    except Exception:
        pass


class ThumbCache:
    """Half-block renderings by (sample id, size): neighbouring steps share most outliers. Safe to fill
    from a worker thread (the group screen draws its members' pictures ahead there)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._d: dict[tuple, list[list[Segment]]] = {}
        self._lock = threading.Lock()

    def lines(self, key: int, img: np.ndarray, cols: int, rows: int) -> list[list[Segment]]:
        k = (key, cols, rows)
        with self._lock:
            got = self._d.pop(k, None)
            if got is not None:
                self._d[k] = got  # most recently used last
                return got
        got = halfblock_segments(img, cols, rows)  # outside the lock: the UI thread never waits on a drawing
        with self._lock:
            self._d.pop(k, None)
            if len(self._d) >= self.size:
                self._d.pop(next(iter(self._d)))
            self._d[k] = got
        return got


def halfblock_text(img: np.ndarray, cols: int, rows: int) -> Text:
    lines = [Text.assemble(*((seg.text, seg.style) for seg in line)) for line in halfblock_segments(img, cols, rows)]
    return Text("\n").join(lines)


def picture(mode: str, img: np.ndarray, cols: int, rows: int, classes: str = "picture") -> Widget | None:
    """A widget showing `img` in `cols`×`rows` cells in the given mode (None for mode 'none')."""
    if mode == "none" or img is None:
        return None
    if mode in ("sixel", "kitty") and not os.environ.get("OSIG_NO_GRAPHICS"):
        try:
            from PIL import Image as PILImage
            from textual_image.widget import SixelImage, TGPImage
            cls = SixelImage if mode == "sixel" else TGPImage
            w = cls(PILImage.fromarray(np.ascontiguousarray(img[..., :3]).astype(np.uint8), "RGB"), classes=classes)
            w.styles.width = cols
            w.styles.height = rows
            return w
        except Exception:
            pass
    w = Static(halfblock_text(img, cols, rows), classes=classes)
    w.styles.width = cols
    w.styles.height = rows
    return w
