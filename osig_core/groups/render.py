"""Plain-text renderings of a group for the front (no escaping here; the UI does that).

- text data: each member as its context with the target in brackets, identical lines counted;
- 1-D regression: the members merged into contiguous x-intervals, e.g. "[-0.82, -0.61]".
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np


def render_text_group(members, describe: Callable[[int], str], limit: int | None = 20) -> list[str]:
    """Lines "context[target]" (from `describe(i)`), most frequent first, "×n" appended when repeated."""
    counts = Counter(describe(int(i)) for i in members)
    lines = [s if c == 1 else f"{s} ×{c}" for s, c in sorted(counts.items(), key=lambda t: (-t[1], t[0]))]
    return lines if limit is None else lines[:limit]


def member_intervals(members, x: np.ndarray, max_gap: int = 0) -> list[tuple[float, float, int]]:
    """Members merged into runs of neighbouring samples along x: [(x_lo, x_hi, count)], by x.

    Two members are in one run when at most `max_gap` non-members lie between them in x order.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    ids = np.unique(np.asarray(members, dtype=np.int64))
    if ids.size == 0:
        return []
    order = np.argsort(x, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    r = np.sort(rank[ids])
    breaks = np.flatnonzero(np.diff(r) > max_gap + 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [r.size - 1]])
    return [(float(x[order[r[s]]]), float(x[order[r[e]]]), int(e - s + 1)) for s, e in zip(starts, ends)]


def render_intervals(members, x: np.ndarray, max_gap: int = 0, digits: int = 2) -> list[str]:
    """["[-0.82, -0.61]", ...]: the member runs of `member_intervals` as text."""
    return [f"[{lo:.{digits}f}, {hi:.{digits}f}]" for lo, hi, _ in member_intervals(members, x, max_gap)]
