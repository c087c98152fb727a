"""Pictures in the terminal: sixel or kitty graphics through textual-image, else half-blocks.

`resolve_image_mode` runs before the app starts, on what osig_tui.terminal_caps asked the terminal
(nothing can be asked once Textual owns stdin); any failure falls back silently to half-blocks.
`halfblock_segments` draws a small RGB array as rows of '▀' cells (upper pixel = fg, lower = bg),
in 24-bit colour or as xterm colour numbers, whichever the terminal draws.
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
from osig_tui.terminal_caps import IMAGE_MODES, TerminalCaps
from textual.widget import Widget
from textual.widgets import Static

def resolve_image_mode(requested: str, caps: TerminalCaps | None = None) -> str:
    """'auto' takes what the terminal answered (`caps`, from osig_tui.terminal_caps.probe_terminal):
    sixel, then kitty graphics, else half-blocks; a named mode is kept (--images overrides)."""
    if requested not in IMAGE_MODES:
        raise ValueError(f"--images must be one of {', '.join(IMAGE_MODES)}, got '{requested}'")
    mode = requested if requested != "auto" else (caps or TerminalCaps()).image_mode()
    if mode in ("sixel", "kitty") and _is_terminal():
        _load_graphics()
    return mode


def _is_terminal() -> bool:
    return bool(sys.__stdout__ and sys.__stdout__.isatty() and sys.__stdin__ and sys.__stdin__.isatty())


def _load_graphics() -> None:
    """Import textual-image before Textual owns stdin: it asks the terminal its cell size in pixels
    (and, on import, its protocols: answers osig does not need, dropped with any late ones)."""
    logging.getLogger("textual_image").setLevel(logging.CRITICAL)  # no warnings on the terminal
    try:
        import textual_image.widget  # noqa: F401
    except Exception:  # a terminal that answers oddly must never stop the monitor
        pass
    finally:
        _drop_late_answers()


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

    def __init__(self, size: int = 512, colors: str = "truecolor") -> None:
        self.size = size
        self.colors = colors
        self._d: dict[tuple, list[list[Segment]]] = {}
        self._lock = threading.Lock()

    def lines(self, key: int, img: np.ndarray, cols: int, rows: int) -> list[list[Segment]]:
        k = (key, cols, rows)
        with self._lock:
            got = self._d.pop(k, None)
            if got is not None:
                self._d[k] = got  # most recently used last
                return got
        got = halfblock_segments(img, cols, rows, self.colors)  # outside the lock: the UI thread never waits on a drawing
        with self._lock:
            self._d.pop(k, None)
            if len(self._d) >= self.size:
                self._d.pop(next(iter(self._d)))
            self._d[k] = got
        return got


def halfblock_text(img: np.ndarray, cols: int, rows: int, colors: str = "truecolor") -> Text:
    lines = [Text.assemble(*((seg.text, seg.style) for seg in line)) for line in halfblock_segments(img, cols, rows, colors)]
    return Text("\n").join(lines)


def picture(mode: str, img: np.ndarray, cols: int, rows: int, classes: str = "picture",
            colors: str = "truecolor") -> Widget | None:
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
    w = Static(halfblock_text(img, cols, rows, colors), classes=classes)
    w.styles.width = cols
    w.styles.height = rows
    return w
