"""What a step costs and how fast a run goes, defined once for the progress bar, the summary and the monitor.

Each stored step carries `step_time`: the seconds from the moment the previous step's scalars were
ready to the moment this step's were, less any time the run sat paused. Summed, they telescope to
the run's active wall time (time stopped or paused never counts), and the work done between two
steps (writing the previous one, a checkpoint) lands in the next. Beside it, `time_<part>` holds
the seconds each instrument family took within that same span (`time_recording`, `time_groups`,
`time_sharpness`, `time_per_sample`, `time_probes`, `time_checkpoint`, `time_eval`); the rest of
`step_time` is the training itself (forward, backward, update).

Pure Python + numpy: the read-only commands and the monitor use it without torch.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

import numpy as np

RATE_WINDOW = 50  # steps/s is the mean over this many recent steps

# part -> what a user switches off to save it (the label shown)
PART_LABELS = {"recording": "recording", "groups": "groups", "sharpness": "sharpness",
               "per_sample": "per-sample curvature", "probes": "probes", "checkpoint": "checkpoints",
               "eval": "test evaluation"}


class StepClock:
    """The engine's stopwatch: `lap()` at the moment a step's scalars are ready gives that step's
    `step_time` and the `time_<part>` seconds timed since the previous lap."""

    def __init__(self) -> None:
        self._mark: float | None = None
        self._paused = 0.0
        self._parts: dict[str, float] = {}
        self._known: list[str] = []

    def start(self) -> None:
        """The first step's span starts here (after the run's setup)."""
        self._mark, self._paused = time.perf_counter(), 0.0

    @contextmanager
    def timing(self, part: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(part, time.perf_counter() - t0)

    def add(self, part: str, seconds: float) -> None:
        if part not in self._known:
            self._known.append(part)
        self._parts[part] = self._parts.get(part, 0.0) + max(0.0, seconds)

    def move(self, source: str, target: str, seconds: float) -> None:
        """Part of what was timed as `source` was really `target` (e.g. groups within recording)."""
        seconds = min(max(0.0, seconds), self._parts.get(source, 0.0))
        self._parts[source] = self._parts.get(source, 0.0) - seconds
        self.add(target, seconds)

    def exclude(self, seconds: float) -> None:
        """Time the run sat paused: not part of any step."""
        self._paused += max(0.0, seconds)

    def lap(self) -> dict[str, float]:
        now = time.perf_counter()
        if self._mark is None:
            self._mark = now
        out = {"step_time": max(0.0, now - self._mark - self._paused)}
        out.update({f"time_{p}": self._parts.get(p, 0.0) for p in self._known})
        self._mark, self._paused, self._parts = now, 0.0, {}
        return out


def steps_per_second(step_times: Sequence[float] | np.ndarray | None, window: int = RATE_WINDOW) -> float | None:
    """Steps per second over the last `window` steps that recorded a time: their count over the sum
    of their step_time. Pauses and stops are not in step_time, so they never drag this down."""
    if step_times is None:
        return None
    st = np.asarray(step_times, dtype=np.float64)
    st = st[np.isfinite(st)][-window:]
    total = float(st.sum()) if len(st) else 0.0
    return len(st) / total if total > 0 else None


def active_seconds(metrics: Mapping[str, np.ndarray]) -> float | None:
    """The run's wall time without the time it sat stopped or paused (the sum of step_time)."""
    st = metrics.get("step_time")
    if st is None or not np.isfinite(st).any():
        return None
    return float(np.nansum(st))


def cost_shares(metrics: Mapping[str, np.ndarray]) -> list[tuple[str, float, float]]:
    """[(label, seconds, share of active wall time)] for each timed part, largest first, then
    'training' (forward, backward and update: what is left). Empty for runs that stored no timings."""
    total = active_seconds(metrics)
    if not total:
        return []
    st = np.asarray(metrics["step_time"], dtype=np.float64)
    timed = np.isfinite(st)
    parts = []
    for key, values in metrics.items():
        if key.startswith("time_") and key[5:]:
            v = np.asarray(values, dtype=np.float64)[timed]
            parts.append((PART_LABELS.get(key[5:], key[5:].replace("_", " ")), float(np.nansum(v))))
    if not parts:
        return []
    parts.sort(key=lambda p: -p[1])
    rest = max(0.0, total - sum(s for _, s in parts))
    return [(label, s, s / total) for label, s in parts] + [("training", rest, rest / total)]


def format_shares(shares: list[tuple[str, float, float]], limit: int | None = None) -> str:
    """'sharpness 61%, per-sample curvature 20%, training 15%, ...' (parts under 0.5% left out)."""
    shown = [f"{label} {100 * share:.0f}%" for label, _, share in shares if share >= 0.005]
    return ", ".join(shown[:limit] if limit else shown)
