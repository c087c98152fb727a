"""Run summaries for side-by-side comparison (`osig compare`, and any live comparison screen).

Reads runs only through the store reader (osig_core.store.reader.RunReader); numpy only, never
torch, so a front end can call it on every poll. The API:

    run_paths(args) -> list[Path]             run directories named by runs and sweep directories
    summarize_runs(paths) -> list[RunSummary] one summary per run (sweeps expand to their members)
    summarize(reader) -> RunSummary           one already-open RunReader (a poller's, live runs too)
    differing_settings(summaries) -> list[str] the config fields whose values differ between runs
    label(summary, keys) -> str               "lr=0.01 optim=gd": a run named by what differs

A RunSummary holds the table's numbers (final loss and accuracy, the step the sharpness first
reached its stability threshold, the median λ/threshold from then on, the mean rising fraction,
the strongest pair and its score, active wall time) and the series the charts draw (train loss;
sharpness divided by the threshold recorded beside it: λ·η/2 under GD, so every run's edge is 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from osig_core.store.cost import active_seconds
from osig_core.errors import ConfigError
from osig_core.store import layout as L
from osig_core.store.reader import RunReader

SERIES = ("loss_steps", "train_loss", "sharp_steps", "sharp_norm")  # arrays: left out of to_json()


@dataclass
class RunSummary:
    path: str
    run_id: str
    status: str
    settings: dict[str, Any]  # the run's RunConfig as a dict
    steps_done: int
    total_steps: int
    final_loss: float | None = None
    final_acc: float | None = None  # None for regression (no classes)
    final_test_acc: float | None = None
    threshold: float | None = None  # median recorded stability threshold (2/η for GD)
    edge_step: int | None = None  # first step at which sharpness >= its threshold
    edge_ratio: float | None = None  # median λ/threshold over the estimates from edge_step on
    frac_up: float | None = None  # mean share of samples whose loss rose, per step
    top_pair: str | None = None  # "#3 bird vs airplane"
    top_pair_score: float | None = None
    wall_s: float | None = None  # active seconds (time stopped or paused not counted)
    loss_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    train_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sharp_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sharp_norm: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def to_json(self) -> dict[str, Any]:
        """The table's values (no series), JSON-ready: a non-finite number becomes None."""
        return {k: None if isinstance(v, float) and not np.isfinite(v) else v
                for k, v in self.__dict__.items() if k not in SERIES}


def run_paths(args: Iterable[str | Path]) -> list[Path]:
    """Each argument's run directories: a run is itself, a sweep directory its members that have
    started (sweep.json order). ConfigError (one sentence) for anything else."""
    from osig_core.sweeps import manifest as M
    out: list[Path] = []
    for a in args:
        p = Path(a)
        if M.is_sweep(p):
            sweep = M.load(p)
            found = [sweep.run_dir(m) for m in sweep.members if (sweep.run_dir(m) / L.CONFIG_FILE).is_file()]
            if not found:
                raise ConfigError(f"sweep '{p}' has no runs yet")
            out += found
        elif (p / L.CONFIG_FILE).is_file():
            out.append(p)
        else:
            raise ConfigError(f"'{p}' is neither an osig run nor a sweep (no config.json or sweep.json)")
    return out


def summarize_runs(paths: Iterable[str | Path]) -> list[RunSummary]:
    out = []
    for p in run_paths(paths):
        r = RunReader(p)
        try:
            out.append(summarize(r))
        finally:
            r.close()
    return out


def _last(values: np.ndarray | None) -> float | None:
    if values is None:
        return None
    ok = values[np.isfinite(values)]
    return float(ok[-1]) if ok.size else None


def summarize(r: RunReader) -> RunSummary:
    """One run's summary from an open reader (a live run gives what it has committed so far)."""
    m = r.metrics()
    status, _ = r.status()
    s = RunSummary(path=str(r.dir), run_id=r.run_id, status=status, settings=r.config.to_dict(),
                   steps_done=r.steps_done(), total_steps=int(r.meta().get("total_steps") or r.config.steps))
    s.final_loss = _last(m.get("train_loss"))
    if r.classes:  # a regression run's accuracy is a tolerance hit rate: not comparable
        s.final_acc, s.final_test_acc = _last(m.get("train_acc")), _last(m.get("test_acc"))
    if "train_loss" in m:
        ok = np.isfinite(m["train_loss"])
        s.loss_steps, s.train_loss = m["step"][ok], m["train_loss"][ok]
    if "frac_up" in m and np.isfinite(m["frac_up"]).any():
        s.frac_up = float(np.nanmean(m["frac_up"]))
    _sharpness(s, m)
    s.wall_s = active_seconds(m)
    if s.wall_s is None and len(m.get("time", [])) > 1:
        s.wall_s = float(m["time"][-1] - m["time"][0])
    pairs = r.pairs_all()
    if pairs:
        top = pairs[0]
        s.top_pair, s.top_pair_score = pair_label(top), float(top.get("score", np.nan))
    return s


def _sharpness(s: RunSummary, m: dict[str, np.ndarray]) -> None:
    if "sharpness" not in m:
        return
    lam = m["sharpness"]
    thr = m.get("threshold")
    if thr is None or not np.isfinite(thr).any():  # an older run: GD's 2/η
        thr = np.full_like(lam, 2.0 / float(s.settings.get("lr") or np.nan))
    ok = np.isfinite(lam) & np.isfinite(thr) & (thr > 0)
    if not ok.any():
        return
    s.sharp_steps, s.sharp_norm = m["step"][ok], lam[ok] / thr[ok]
    s.threshold = float(np.median(thr[ok]))
    hit = np.nonzero(s.sharp_norm >= 1.0)[0]
    if hit.size:
        s.edge_step = int(s.sharp_steps[hit[0]])
        s.edge_ratio = float(np.median(s.sharp_norm[hit[0]:]))


def pair_label(pair: dict) -> str:
    """'#3 bird vs airplane': each side by its most common class (or its size, without classes)."""
    sides = []
    for side in pair.get("sides", [])[:2]:
        classes = side.get("classes") or {}
        sides.append(max(classes, key=classes.get) if classes else f"{len(side.get('members', []))} samples")
    return f"#{pair.get('id', '?')} " + " vs ".join(sides)


def differing_settings(summaries: list[RunSummary]) -> list[str]:
    """Config fields whose values are not the same in every run, in RunConfig order."""
    if len(summaries) < 2:
        return []
    keys = list(summaries[0].settings)
    for s in summaries[1:]:
        keys += [k for k in s.settings if k not in keys]
    return [k for k in keys if len({repr(s.settings.get(k)) for s in summaries}) > 1]


def label(summary: RunSummary, keys: list[str]) -> str:
    """The run named by the settings that differ (its id when none do)."""
    if not keys:
        return summary.run_id
    return " ".join(f"{k}={_short(summary.settings.get(k))}" for k in keys)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return ",".join(map(str, v)) or "-"
    return str(v)
