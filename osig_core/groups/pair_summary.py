"""What the two sides of an opposing pair have in common beyond the label, for data without planted features.

On real images nobody told osig which feature a pair opposes. Per side this gathers the class make-up,
how the network's predictions moved over a step (before → after, and how many were right), and the
mean image of the side; for the pair, the pixel-wise difference of the two mean images drawn in the
sides' colours (orange where side A is brighter, blue where side B is), so a bright background or a
texture shows without reading hundreds of thumbnails. numpy only: the monitor and `osig groups` use it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDE_RGB = ((255, 135, 0), (0, 175, 255))  # side A orange, side B blue (the monitor's side colours)
MAX_MEAN = 2048  # members averaged per side (the most a side can hold is far below; bounds the read)


@dataclass(frozen=True, eq=False)
class SideSummary:
    size: int
    classes: tuple[tuple[str, int], ...]  # (class, members) most common first
    transitions: tuple[tuple[str, str, int], ...]  # (predicted before, after, members) most common first
    changed: int  # members whose prediction changed over the step
    correct_before: int  # members predicted right before the step
    correct_after: int
    mean_image: np.ndarray | None  # uint8 [H, W, 3]
    brightness: float | None  # mean pixel value of the side's mean image, 0..1


@dataclass(frozen=True, eq=False)
class PairSummary:
    sides: tuple[SideSummary, SideSummary]
    diff_image: np.ndarray | None  # uint8 [H, W, 3]: orange where A is brighter, blue where B is
    diff_max: float  # largest |mean A − mean B| of a pixel's brightness, 0..1 (what full colour means)

    @property
    def has_predictions(self) -> bool:
        return any(s.transitions for s in self.sides)


def _name(classes, label) -> str:
    k = int(label)
    return str(classes[k]) if 0 <= k < len(classes) else str(k)


def mean_image(images, ids: np.ndarray) -> np.ndarray | None:
    """Float [H, W, 3] mean of the members' uint8 pictures (grey pictures repeated to RGB); None if none."""
    if images is None or len(ids) == 0:
        return None
    ids = np.sort(np.asarray(ids, np.int64))[:MAX_MEAN]  # sorted: a memory-mapped file is read forwards
    sel = np.asarray(images[ids])
    integer = sel.dtype.kind == "u" and sel.dtype.itemsize <= 2  # ≤ MAX_MEAN uint8/16 values sum within uint32
    acc = sel.sum(axis=0, dtype=np.uint32 if integer else np.float64) / len(ids)  # far faster than a float mean
    if acc.ndim == 2:
        acc = acc[:, :, None]
    if acc.shape[2] == 1:
        acc = np.repeat(acc, 3, axis=2)
    return acc[:, :, :3]


def diff_picture(mean_a: np.ndarray, mean_b: np.ndarray) -> tuple[np.ndarray, float]:
    """(uint8 RGB picture, largest |Δ brightness| in 0..1) of mean_a − mean_b, scaled so the largest
    difference is full colour: orange where A is brighter, blue where B is, black where they agree."""
    d = (mean_a.mean(axis=2) - mean_b.mean(axis=2)) / 255.0
    peak = float(np.abs(d).max()) if d.size else 0.0
    w = d / peak if peak > 0 else np.zeros_like(d)
    a, b = np.array(SIDE_RGB[0], np.float64), np.array(SIDE_RGB[1], np.float64)
    rgb = np.clip(w, 0, 1)[..., None] * a + np.clip(-w, 0, 1)[..., None] * b
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8), peak


def side_summary(ids: np.ndarray, labels: np.ndarray, classes, images=None,
                 pred_before: np.ndarray | None = None, pred_after: np.ndarray | None = None,
                 mean: np.ndarray | None = None) -> SideSummary:
    """One side: `labels`, `pred_*` are indexed by sample id (whole-run arrays), `images` too; `mean`:
    the side's mean image when already computed."""
    ids = np.asarray(ids, np.int64)
    lab = np.asarray(labels)[ids]
    integer = np.issubdtype(lab.dtype, np.integer)
    hist: tuple[tuple[str, int], ...] = ()
    if integer and lab.size:
        vals, counts = np.unique(lab, return_counts=True)
        hist = tuple(sorted(((_name(classes, v), int(c)) for v, c in zip(vals, counts)), key=lambda kv: (-kv[1], kv[0])))
    trans: tuple[tuple[str, str, int], ...] = ()
    changed = right_before = right_after = 0
    if pred_before is not None and pred_after is not None and integer and lab.size:
        pb, pa = np.asarray(pred_before)[ids].astype(np.int64), np.asarray(pred_after)[ids].astype(np.int64)
        moves, counts = np.unique(np.stack([pb, pa], axis=1), axis=0, return_counts=True)
        trans = tuple(sorted(((_name(classes, b), _name(classes, a), int(c)) for (b, a), c in zip(moves, counts)),
                             key=lambda t: (-t[2], t[0], t[1])))
        changed, right_before, right_after = int((pb != pa).sum()), int((pb == lab).sum()), int((pa == lab).sum())
    if mean is None:
        mean = mean_image(images, ids)
    return SideSummary(len(ids), hist, trans, changed, right_before, right_after,
                       None if mean is None else np.clip(mean + 0.5, 0, 255).astype(np.uint8),
                       None if mean is None else float(mean.mean() / 255.0))


def summarize_pair(members: tuple[np.ndarray, np.ndarray], labels: np.ndarray, classes, images=None,
                   pred_before: np.ndarray | None = None, pred_after: np.ndarray | None = None) -> PairSummary:
    """Both sides' summaries and the difference of their mean images."""
    means = [mean_image(images, m) for m in members]
    sides = tuple(side_summary(m, labels, classes, None, pred_before, pred_after, mean) for m, mean in zip(members, means))
    diff, peak = None, 0.0
    if means[0] is not None and means[1] is not None:
        diff, peak = diff_picture(means[0], means[1])
    return PairSummary(sides, diff, peak)  # type: ignore[arg-type]


def summarize_stored_pair(reader, pair: dict, step: int | None = None) -> PairSummary:
    """The summary of a stored pair (a `pairs` record entry) from a RunReader; predictions over the
    recorded step at or before `step` (the latest when None)."""
    n = reader.n
    members = []
    for side in (list(pair.get("sides") or []) + [{}, {}])[:2]:
        ids = np.asarray(side.get("members") or [], np.int64)
        members.append(ids[(ids >= 0) & (ids < n)])
    pb = pa = None
    if reader.classes:
        row = reader.row_of(step if step is not None else 2**62)
        if row is not None and row >= 1:
            preds = reader.preds()
            pb, pa = np.asarray(preds[row - 1]), np.asarray(preds[row])
    return summarize_pair((members[0], members[1]), reader.labels(), reader.classes, reader.images(), pb, pa)


def describe_side(s: SideSummary, limit: int = 3) -> list[str]:
    """A side in words: class make-up (shares), predictions before → after; for the CLI and the monitor."""
    out = []
    if s.classes:
        parts = [f"{name} {count / max(s.size, 1):.0%}" for name, count in s.classes[:limit]]
        if len(s.classes) > limit:
            parts.append(f"+{len(s.classes) - limit} more")
        out.append("classes: " + ", ".join(parts))
    if s.transitions:
        moves = [f"{b}→{a} {c}" for b, a, c in s.transitions[:limit]]
        out.append(f"predicted: {', '.join(moves)} (changed {s.changed}, right {s.correct_before}→{s.correct_after}"
                   f" of {s.size})")
    if s.brightness is not None:
        out.append(f"mean brightness {s.brightness:.2f}")
    return out
