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
    if mode in ("sixel", "kitty"):
        _load_graphics(caps)
    return mode


class _NotATerminal:
    """Stands in for stdout while textual-image is imported, so it asks the terminal nothing:
    osig asked already, and an answer arriving late would reach the app as key presses."""

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _load_graphics(caps: TerminalCaps | None) -> None:
    """Import textual-image before Textual starts, telling it the cell size osig found."""
    logging.getLogger("textual_image").setLevel(logging.CRITICAL)  # no warnings on the terminal
    stdout = sys.__stdout__
    try:
        import textual_image._terminal as terminal
        if caps is not None and caps.cell is not None and not hasattr(terminal.get_cell_size, "_result"):
            setattr(terminal.get_cell_size, "_result", terminal.CellSize(*caps.cell))  # its own cache
        sys.__stdout__ = _NotATerminal()
        import textual_image.widget  # noqa: F401
    except Exception:  # a graphics library that fails must never stop the monitor (half-blocks then)
        pass
    finally:
        sys.__stdout__ = stdout


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
