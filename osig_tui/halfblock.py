"""Pictures as coloured half-block characters ('▀': upper pixel = foreground, lower = background).

Works in any colour terminal; shared by `osig groups` and the monitor (no Textual import here).
`colors="256"` draws with explicit xterm colour numbers (osig_tui/xterm256.py) rather than 24-bit
colours a 256-colour terminal would have to approximate.
"""
from __future__ import annotations

import numpy as np
from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from rich.text import Text


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Area-average (or repeat, when enlarging) an [H, W, 3] uint8 image to [h, w, 3]."""
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    H, W = img.shape[:2]
    ys = np.minimum((np.arange(h + 1) * H) // h, H)
    xs = np.minimum((np.arange(w + 1) * W) // w, W)
    f = img[..., :3].astype(np.float32)
    sums = np.add.reduceat(np.add.reduceat(f, np.minimum(ys[:-1], H - 1), axis=0), np.minimum(xs[:-1], W - 1), axis=1)
    counts = np.maximum(np.diff(ys), 1)[:, None, None] * np.maximum(np.diff(xs), 1)[None, :, None]
    return np.clip(sums / counts + 0.5, 0, 255).astype(np.uint8)


_STYLES: dict[tuple[int, ...], Style] = {}


def _cell_style(top: np.ndarray, bot: np.ndarray) -> Style:
    key = (int(top[0]), int(top[1]), int(top[2]), int(bot[0]), int(bot[1]), int(bot[2]))
    style = _STYLES.get(key)
    if style is None:
        if len(_STYLES) > 200_000:
            _STYLES.clear()
        style = _STYLES[key] = Style(color=Color.from_rgb(*key[:3]), bgcolor=Color.from_rgb(*key[3:]))
    return style


_STYLES_256: dict[tuple[int, int], Style] = {}


def xterm_color(number: int) -> Color:
    """xterm colour `number` (16..255), written as `5;N`, with its RGB attached (so Textual neither
    maps it to its theme nor blends it through another colour)."""
    from osig_tui.xterm256 import index_rgb
    return Color(f"color({number})", ColorType.EIGHT_BIT, number=number,
                 triplet=ColorTriplet(*(int(v) for v in index_rgb(number))))


def _cell_style_256(top: int, bot: int) -> Style:
    style = _STYLES_256.get((top, bot))
    if style is None:
        style = _STYLES_256[(top, bot)] = Style(color=xterm_color(top), bgcolor=xterm_color(bot))
    return style


def halfblock_segments(img: np.ndarray, cols: int, rows: int, colors: str = "truecolor") -> list[list[Segment]]:
    """`rows` lines of `cols` cells, each cell two vertically stacked pixels ('▀': fg top, bg bottom).
    `colors`: "truecolor" (24-bit) or "256" / "standard" (nearest xterm colour numbers)."""
    if colors != "truecolor":
        from osig_tui.xterm256 import nearest_index
        idx = nearest_index(_resize(img, cols, rows * 2))
        return [[Segment("▀", _cell_style_256(int(idx[2 * r, c]), int(idx[2 * r + 1, c]))) for c in range(cols)]
                for r in range(rows)]
    px = _resize(img, cols, rows * 2) & 0xFC  # 6 bits a channel: invisible, and styles repeat
    return [[Segment("▀", _cell_style(px[2 * r, c], px[2 * r + 1, c])) for c in range(cols)] for r in range(rows)]


def halfblock_text(img: np.ndarray, cols: int, colors: str = "truecolor") -> Text:
    """The picture as a rich Text `cols` cells wide (rows follow the aspect ratio)."""
    h, w = np.asarray(img).shape[:2]
    rows = max(1, (cols * h // w) // 2)
    t = Text()
    for r, line in enumerate(halfblock_segments(img, cols, rows, colors)):
        if r:
            t.append("\n")
        for seg in line:
            t.append(seg.text, style=seg.style)
    return t
