"""A braille chart drawn cell by cell, so a value's dot lands in the row whose label is nearest it.

Row k (from the bottom) is labelled `bottom + k·step` and holds the values within half a step of it;
its four braille dots split that span in quarters. Besides dotted series it draws what plotext
cannot place exactly: a shaded band at cell resolution, glyphs on given cells (estimates that did
not converge), and the threshold on its own row. Later drawings win a cell, so callers draw in
order of importance: step marker, threshold, band, series, glyphs."""
from __future__ import annotations

import numpy as np
from rich.text import Text

# braille dot bits by (column, row from the top) within a cell
_BITS = np.array([[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]], np.int64)


class Canvas:
    def __init__(self, cols: int, rows: int, x0: float, x1: float, bottom: float, step: float):
        self.cols, self.rows = max(1, cols), max(1, rows)
        self.x0, self.x1 = float(x0), float(x1)
        self.bottom, self.step = float(bottom), float(step) if step > 0 else 1.0
        self.chars = np.full((self.rows, self.cols), " ", dtype=object)  # row 0 = bottom
        self.styles = np.full((self.rows, self.cols), "", dtype=object)
        self.bits = np.zeros((self.rows, self.cols), np.int64)  # dots of the series that owns the cell

    # ------------------------------------------------------------------ coordinates
    def xpix(self, x) -> np.ndarray:
        """Braille pixel column (2 a cell) of step x."""
        span = self.x1 - self.x0
        f = (np.asarray(x, np.float64) - self.x0) / span if span > 0 else np.zeros(np.shape(x))
        return np.clip(np.round(f * (2 * self.cols - 1)), 0, 2 * self.cols - 1).astype(np.int64)

    def ypix(self, y) -> np.ndarray:
        """Braille pixel row from the bottom (4 a cell): row k's dots cover bottom + (k ± ½)·step."""
        p = np.floor((np.asarray(y, np.float64) - self.bottom) / self.step * 4 + 2)
        return np.clip(p, 0, 4 * self.rows - 1).astype(np.int64)

    def row_of(self, y) -> np.ndarray:
        return self.ypix(y) // 4

    def col_of(self, x) -> np.ndarray:
        return self.xpix(x) // 2

    # ------------------------------------------------------------------ drawing
    def _own(self, rows, cols, char, style) -> None:
        self.chars[rows, cols] = char
        self.styles[rows, cols] = style
        self.bits[rows, cols] = 0

    def dots(self, x, y, style: str, connect: bool = True) -> None:
        """A series in braille dots, joined by straight segments unless connect=False."""
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            return
        qx, qy = self.xpix(x[ok]), self.ypix(y[ok])
        if connect and len(qx) > 1:
            n = np.maximum(np.abs(np.diff(qx)), np.abs(np.diff(qy))) + 1
            t = [np.linspace(0, 1, k) for k in n]
            qx = np.concatenate([np.round(a + (b - a) * s) for a, b, s in zip(qx[:-1], qx[1:], t)]).astype(np.int64)
            qy = np.concatenate([np.round(a + (b - a) * s) for a, b, s in zip(qy[:-1], qy[1:], t)]).astype(np.int64)
        rows, cols = qy // 4, qx // 2
        mine = np.zeros_like(self.bits)
        np.bitwise_or.at(mine, (rows, cols), _BITS[qx % 2, 3 - qy % 4])
        hit = mine > 0
        self.chars[hit] = None
        self.styles[hit] = style
        self.bits[hit] = mine[hit]

    def glyphs(self, x, y, char: str, style: str) -> None:
        """One character on the cell of each (x, y)."""
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        self._own(self.row_of(y[ok]), self.col_of(x[ok]), char, style)

    def band(self, x, lo, hi, char: str, style: str) -> None:
        """Shade the cells from lo to hi: at each estimate's column, and at every column between
        estimates (interpolated), so the band reads as one region."""
        x, lo, hi = (np.asarray(a, np.float64) for a in (x, lo, hi))
        ok = np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
        x, lo, hi = x[ok], lo[ok], hi[ok]
        if not len(x):
            return
        cols = np.arange(self.col_of(x.min()), self.col_of(x.max()) + 1)
        centres = self.x0 + (cols * 2 + 0.5) / max(1, 2 * self.cols - 1) * (self.x1 - self.x0)
        allx = np.concatenate([x, np.clip(centres, x.min(), x.max())])
        alo = np.concatenate([lo, np.interp(allx[len(x):], x, lo)])
        ahi = np.concatenate([hi, np.interp(allx[len(x):], x, hi)])
        c, r0, r1 = self.col_of(allx), self.row_of(np.minimum(alo, ahi)), self.row_of(np.maximum(alo, ahi))
        for col, a, b in zip(c, r0, r1):
            self._own(np.arange(a, b + 1), col, char, style)

    def hline(self, y: float, style: str, char: str = "─") -> int:
        """A line along the row that holds y; returns that row."""
        row = int(self.row_of(y))
        self._own(row, slice(None), char, style)
        return row

    def vline(self, x: float, style: str, char: str = "│") -> None:
        self._own(slice(None), int(self.col_of(x)), char, style)

    def lines(self) -> list[Text]:
        """The cells as text, top row first."""
        out = []
        for r in range(self.rows - 1, -1, -1):
            t = Text()
            for c in range(self.cols):
                ch = self.chars[r, c]
                t.append(chr(0x2800 + int(self.bits[r, c])) if ch is None else ch, self.styles[r, c] or None)
            out.append(t)
        return out


def framed(canvas: Canvas, labels: dict[int, str], xticks: list[tuple[int, str]], mark_row: int | None = None,
           marker_col: int | None = None) -> Text:
    """The canvas inside plotext's frame: y labels on the left (by row from the bottom), x ticks below
    (by column), the threshold's row joined to the frame with ├ ┤, the step marker's column with ┬ ┴."""
    width = max((len(v) for v in labels.values()), default=0)
    body = canvas.lines()
    top = ["─"] * canvas.cols
    if marker_col is not None:
        top[marker_col] = "┬"
    out = Text(" " * width + "┌" + "".join(top) + "┐\n")
    for i, line in enumerate(body):
        k = canvas.rows - 1 - i
        left, right = ("├", "┤") if k == mark_row else ("┤" if k in labels else "│", "│")
        out.append(labels.get(k, "").rjust(width) + left)
        out.append_text(line)
        out.append(right + "\n")
    axis = ["─"] * canvas.cols
    under = [" "] * (canvas.cols + 2)
    for col, label in xticks:
        axis[col] = "┬"
        start = min(max(0, col + 1 - len(label) // 2), len(under) - len(label))
        if all(ch == " " for ch in under[max(0, start - 1):start + len(label) + 1]):
            under[start:start + len(label)] = label
    if marker_col is not None and axis[marker_col] == "─":
        axis[marker_col] = "┴"
    out.append(" " * width + "└" + "".join(axis) + "┘\n")
    out.append(" " * width + "".join(under))
    return out
