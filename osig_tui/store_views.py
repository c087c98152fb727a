"""The plain data the monitor shows, built from a RunReader (no Textual in here).

`History` accumulates per-step scalars chunk by chunk; `PairRow` / `Outlier` are one step's
pairs and extremes; `load_group` gathers what the group screen shows for one pair.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from osig_core.store.cost import cost_shares, format_shares, steps_per_second
from osig_core.groups.pair_summary import PairSummary, summarize_pair
from osig_core.store.reader import RunReader

GROUP_SHOW = 64  # members per side whose pictures / texts are loaded


def class_name(classes: tuple[str, ...], label: Any) -> str:
    """A label as its class name when it is a class id, else the number itself."""
    if label is None:
        return "?"
    if classes and isinstance(label, (int, np.integer)) and 0 <= int(label) < len(classes):
        return str(classes[int(label)])
    if isinstance(label, float):
        return f"{label:.3g}"
    return str(label)


@dataclass(frozen=True)
class RunInfo:
    """What does not change while a run is watched."""
    run_id: str
    path: str
    model: str
    optim: str
    lr: float
    width: float
    data: str
    data_kind: str
    classes: tuple[str, ...]
    n: int
    param_count: int
    sharpness_every: int
    groups: bool
    loss: str
    has_images: bool

    @property
    def is_classification(self) -> bool:
        return bool(self.classes)

    @classmethod
    def from_reader(cls, r: RunReader) -> "RunInfo":
        cfg, doc = r.config, r.config_doc
        return cls(run_id=r.run_id, path=str(r.dir), model=cfg.model, optim=cfg.optim, lr=float(cfg.lr),
                   width=float(cfg.width), data=str(cfg.data), data_kind=str(doc.get("data_kind", "?")),
                   classes=tuple(str(c) for c in r.classes), n=int(r.n), param_count=int(doc.get("param_count") or 0),
                   sharpness_every=int(cfg.sharpness_every), groups=bool(cfg.groups), loss=str(doc.get("loss") or "?"),
                   has_images=(Path(r.dir) / "samples" / "images.npy").is_file())


@dataclass(frozen=True, eq=False)
class History:
    """Every scalar per step so far: arrays of equal length, NaN where a step lacks a key."""
    steps: np.ndarray
    times: np.ndarray
    values: dict[str, np.ndarray]

    @classmethod
    def empty(cls) -> "History":
        return cls(np.zeros(0, np.int64), np.zeros(0), {})

    @property
    def last_step(self) -> int | None:
        return int(self.steps[-1]) if len(self.steps) else None

    def extended(self, chunk: dict[str, np.ndarray]) -> "History":
        n_old, n_new = len(self.steps), len(chunk["step"])
        keys = list(self.values) + [k for k in chunk if k not in ("step", "time") and k not in self.values]
        values = {}
        for k in keys:
            old = self.values.get(k, np.full(n_old, np.nan))
            new = chunk.get(k, np.full(n_new, np.nan))
            values[k] = np.concatenate([old, np.asarray(new, np.float64)])
        return History(np.concatenate([self.steps, chunk["step"]]), np.concatenate([self.times, chunk["time"]]), values)

    def has(self, key: str) -> bool:
        v = self.values.get(key)
        return v is not None and bool(np.isfinite(v).any())

    def series(self, key: str, through: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) where `key` was measured (finite), up to step `through`."""
        v = self.values.get(key)
        if v is None:
            return np.zeros(0, np.int64), np.zeros(0)
        ok = np.isfinite(v)
        if through is not None:
            ok &= self.steps <= through
        return self.steps[ok], v[ok]

    def latest(self, key: str, through: int | None = None) -> float | None:
        s, v = self.series(key, through)
        return float(v[-1]) if len(v) else None

    def rate(self, live: bool = True) -> float | None:
        """Steps per second over the recent steps, computed as everywhere else (osig_core.store.cost):
        the same figure live and in a replay, and a pause never drags it down."""
        return steps_per_second(self.values.get("step_time"))

    def cost(self) -> str | None:
        """'sharpness 61%, per-sample curvature 20%, ...': each instrument's share of the wall time."""
        return format_shares(cost_shares(self.values), limit=5) or None


@dataclass(frozen=True)
class Outlier:
    id: int
    delta: float
    label: Any
    pred_before: Any
    pred_after: Any


def outliers_from(payload: dict) -> tuple[tuple[Outlier, ...], tuple[Outlier, ...]]:
    def items(key: str) -> tuple[Outlier, ...]:
        out = []
        for d in payload.get(key) or []:
            try:
                out.append(Outlier(int(d["id"]), float(d.get("delta", math.nan)), d.get("label"),
                                   d.get("pred_before"), d.get("pred_after")))
            except (KeyError, TypeError, ValueError):
                continue
        return tuple(out)
    return items("up"), items("down")


def _hist(side: dict) -> tuple[tuple[str, int], ...]:
    classes = side.get("classes") or {}
    return tuple(sorted(((str(k), int(v)) for k, v in classes.items()), key=lambda kv: (-kv[1], kv[0])))


def hist_text(hist: tuple[tuple[str, int], ...], limit: int = 3) -> str:
    parts = [f"{name} {count}" for name, count in hist[:limit]]
    if len(hist) > limit:
        parts.append(f"+{len(hist) - limit}")
    return ", ".join(parts)


@dataclass(frozen=True, eq=False)
class PairRow:
    """One detected pair as the dashboard lists it."""
    id: int
    score: float
    period: float | None
    first_step: int
    last_step: int
    classes: tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]
    sizes: tuple[int, int]
    spark: tuple[np.ndarray, np.ndarray]  # each side's mean loss over the last recorded steps

    @classmethod
    def from_payload(cls, p: dict, spark: tuple[np.ndarray, np.ndarray]) -> "PairRow":
        sides = (list(p.get("sides") or []) + [{}, {}])[:2]
        period = p.get("period")
        return cls(int(p.get("id", -1)), float(p.get("score") or 0.0),
                   float(period) if isinstance(period, (int, float)) else None,
                   int(p.get("first_step") or 0), int(p.get("last_step") or 0),
                   (_hist(sides[0]), _hist(sides[1])),
                   (len(sides[0].get("members") or []), len(sides[1].get("members") or [])), spark)

    def matches(self, query: str) -> bool:
        q = query.strip().lower()
        return not q or any(q in name.lower() for side in self.classes for name, _ in side)


@dataclass(frozen=True, eq=False)
class GroupSide:
    members: np.ndarray  # sample ids, the ones whose loss moved most at the step first
    deltas: np.ndarray  # their loss change at the step (NaN when not recorded)
    labels: np.ndarray
    pred_before: np.ndarray | None
    pred_after: np.ndarray | None
    classes: tuple[tuple[str, int], ...]
    curve: tuple[np.ndarray, np.ndarray]  # (steps, mean loss of the side)
    images: np.ndarray | None = None  # uint8 [k, H, W, 3] of the first GROUP_SHOW members
    texts: tuple[str, ...] | None = None  # renderings of the first GROUP_SHOW members
    xs: np.ndarray | None = None  # 1-D inputs of every member


@dataclass(frozen=True, eq=False)
class GroupDetail:
    pair_id: int
    step: int | None
    found: bool
    score: float = 0.0
    period: float | None = None
    first_step: int = 0
    last_step: int = 0
    sides: tuple[GroupSide, ...] = ()
    classes: tuple[str, ...] = ()
    prev_step: int | None = None
    x_gap: float | None = None  # 1-D runs: inputs closer than this belong to one interval
    summary: PairSummary | None = None  # image runs: class make-up, predictions and mean images per side


def _find_pair(reader: RunReader, pair_id: int, step: int | None) -> dict | None:
    """The pair as it was at `step` (else its latest state), with first/last step from its history."""
    latest = next((p for p in reader.pairs_all() if int(p.get("id", -1)) == pair_id), None)
    at_step = next((p for p in (reader.pairs_at(step) if step is not None else ())
                    if int(p.get("id", -1)) == pair_id), None)
    pair = dict(at_step or latest or {})
    if not pair:
        return None
    if latest is not None:
        last = int(latest.get("last_step") or 0)
        pair["last_step"] = last if step is None else min(last, step)
        pair["first_step"] = latest.get("first_step", pair.get("first_step"))
    return pair


def load_group(reader: RunReader, info: RunInfo, pair_id: int, step: int | None, end: int,
               loss_steps: np.ndarray, curves: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> GroupDetail:
    """Members, labels, predictions before → after the step, loss curves (read here unless given) and
    pictures of one pair."""
    pair = _find_pair(reader, pair_id, step)
    if pair is None:
        return GroupDetail(pair_id, step, False)
    losses = reader.losses() if end >= 0 else None
    now = prev = pb = pa = None
    prev_step = None
    if losses is not None and end >= 1:
        now, prev = np.asarray(losses[end], np.float32), np.asarray(losses[end - 1], np.float32)
        prev_step = int(loss_steps[end - 1])
        if info.is_classification:
            preds = reader.preds()
            pb, pa = np.asarray(preds[end - 1]), np.asarray(preds[end])
    labels = reader.labels()
    if curves is None:
        curves = reader.group_losses(pair_id)
    images = reader.images() if info.has_images else None
    texts = reader.texts()
    xs = reader.sample_x()
    sides = []
    for k, side in enumerate((list(pair.get("sides") or []) + [{}, {}])[:2]):
        ids = np.asarray(side.get("members") or [], dtype=np.int64)
        ids = ids[(ids >= 0) & (ids < info.n)]
        delta = (now[ids] - prev[ids]) if now is not None else np.full(len(ids), np.nan)
        order = np.argsort(-np.abs(np.nan_to_num(delta, nan=0.0)), kind="stable")
        ids, delta = ids[order], delta[order]
        shown = ids[:GROUP_SHOW]
        sides.append(GroupSide(
            ids, delta, np.asarray(labels)[ids], None if pb is None else pb[ids], None if pa is None else pa[ids],
            _hist(side), curves.get(k, (np.zeros(0, np.int64), np.zeros(0))),
            images=None if images is None else np.asarray(images[np.sort(shown)])[np.argsort(np.argsort(shown))],
            texts=None if texts is None else tuple(str(texts[i]) for i in shown),
            xs=None if xs is None else np.asarray(xs)[ids].reshape(len(ids), -1)[:, 0]))
    period = pair.get("period")
    summary = None if images is None else summarize_pair((sides[0].members, sides[1].members), labels, info.classes,
                                                         images, pb, pa)
    return GroupDetail(pair_id, step, True, float(pair.get("score") or 0.0),
                       float(period) if isinstance(period, (int, float)) else None,
                       int(pair.get("first_step") or 0), int(pair.get("last_step") or 0), tuple(sides),
                       info.classes, prev_step, _x_gap(xs), summary)


def _x_gap(xs: np.ndarray | None) -> float | None:
    """Three times the mean spacing of all 1-D inputs."""
    if xs is None or not len(xs):
        return None
    v = np.asarray(xs, np.float64).reshape(len(xs), -1)[:, 0]
    return 3.0 * float(np.ptp(v)) / max(1, len(v) - 1) or 1e-9
