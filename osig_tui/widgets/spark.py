"""Text sparklines and bars (rich Text, so they sit inside table cells), and series thinning for charts."""
from __future__ import annotations

import math

import numpy as np
from rich.text import Text

BLOCKS = "▁▂▃▄▅▆▇█"
SIDE_STYLES = ("bold dark_orange", "bold deep_sky_blue1")  # side A / side B everywhere
UP_STYLE, DOWN_STYLE = "bold red3", "bold green3"


def sparkline(values: np.ndarray, lo: float, hi: float, style: str, width: int | None = None) -> Text:
    """One character per value (the last `width` values), scaled to [lo, hi]."""
    v = np.asarray(values, dtype=np.float64)
    if width is not None:
        v = v[-width:]
    span = hi - lo
    chars = []
    for x in v:
        if not math.isfinite(x):
            chars.append(" ")
            continue
        k = 0 if span <= 0 else int(round((x - lo) / span * (len(BLOCKS) - 1)))
        chars.append(BLOCKS[min(max(k, 0), len(BLOCKS) - 1)])
    return Text("".join(chars), style=style)


def paired_sparklines(a: np.ndarray, b: np.ndarray, width: int) -> tuple[Text, Text]:
    """Both sides of a pair on one shared scale, so their opposite swings line up."""
    both = np.concatenate([np.asarray(a, np.float64)[-width:], np.asarray(b, np.float64)[-width:]])
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    return sparkline(a, lo, hi, SIDE_STYLES[0], width), sparkline(b, lo, hi, SIDE_STYLES[1], width)


def bar(share: float, width: int, style: str = "bold magenta") -> Text:
    """A horizontal bar of `width` cells filled to `share` (0..1), in eighths."""
    share = 0.0 if not math.isfinite(share) else min(max(share, 0.0), 1.0)
    eighths = int(round(share * width * 8))
    full, part = divmod(eighths, 8)
    text = "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")
    return Text(text.ljust(width), style=style)


def envelope(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Thin a series to about 2·buckets points, keeping each bucket's min and max (in step order),
    so an oscillating loss still looks like it oscillates."""
    x, y = np.asarray(x), np.asarray(y, np.float64)
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n <= 2 * buckets or buckets < 1:
        return x, y
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    xs, ys = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        if b <= a:
            continue
        seg = y[a:b]
        i, j = a + int(np.argmin(seg)), a + int(np.argmax(seg))
        for k in sorted({i, j}):
            xs.append(x[k])
            ys.append(y[k])
    return np.asarray(xs), np.asarray(ys)


def fmt(v: float | None, digits: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    return f"{v:.{digits}g}"
