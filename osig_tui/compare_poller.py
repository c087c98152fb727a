"""Incremental reads of several runs for the comparison screen (`osig watch SWEEP`, `osig watch RUN
RUN ...`); no Textual in here.

A ComparePoller follows a sweep directory (its sweep.json names the members, including those not
started yet) or a list of run directories. Each poll reads only the scalars each run wrote since
the last one (through the store reader) and returns a CompareState, or None when nothing changed.
Sharpness is divided by the threshold recorded beside it (2/η for GD, so every run's edge is 1), as
`osig compare` does (osig_core.sweeps.compare); adaptive optimizers' preconditioned sharpness is used
where recorded, as on the dashboard.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from osig_core.sweeps.compare import differing_settings
from osig_core.store import layout as L
from osig_core.store.reader import LIVE_STATUSES, RunReader
from osig_core.sweeps import manifest as M

from osig_tui.store_views import History


@dataclass(frozen=True, eq=False)
class MemberState:
    """One run as the comparison shows it."""
    index: int
    name: str  # its directory's name
    path: str
    status: str  # the run's status; before its directory is readable, the sweep's word ('pending')
    steps_done: int
    total_steps: int
    settings: dict  # its config.json settings (the sweep's flags while pending)
    loss: tuple[np.ndarray, np.ndarray]  # (steps, train loss)
    sharp: tuple[np.ndarray, np.ndarray]  # (steps, sharpness / threshold)

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES

    readable: bool = True  # False until its run directory can be read

    def latest(self, which: str) -> float | None:
        v = (self.loss if which == "loss" else self.sharp)[1]
        return float(v[-1]) if len(v) else None


@dataclass(frozen=True, eq=False)
class CompareState:
    title: str  # "sweep NAME" (its directory's name), or "N runs"
    members: tuple[MemberState, ...]
    keys: tuple[str, ...]  # the settings that differ between runs, in the order they are named

    def label(self, m: MemberState) -> str:
        """The run named by what differs ('lr=0.02 optim=gd'); its directory's name if nothing does."""
        if not self.keys:
            return m.name
        return " ".join(f"{k}={_short(m.settings.get(k, '?'))}" for k in self.keys)


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return ",".join(map(str, v)) or "-"
    return str(v)


class _Member:
    def __init__(self, index: int, path: Path, flags: dict):
        self.index, self.path, self.flags = index, path, flags
        self.reader: RunReader | None = None
        self.history = History.empty()
        self.status = "pending"
        self.total = int(flags.get("steps") or 0)

    def poll(self) -> bool:
        """Read what is new; True if anything changed."""
        if self.reader is None:
            if not (self.path / L.CONFIG_FILE).is_file():
                return False
            try:
                self.reader = RunReader(self.path)
            except L.RunStoreError:  # still being created: try again on the next poll
                return False
        r = self.reader
        status, _ = r.status()
        chunk = r.metrics(since=self.history.last_step)
        total = int(r.meta().get("total_steps") or r.config.steps)
        grew = len(chunk["step"]) > 0
        if grew:
            self.history = self.history.extended(chunk)
        changed = grew or status != self.status or total != self.total
        self.status, self.total = status, total
        return changed

    def state(self) -> MemberState:
        h = self.history
        settings = self.reader.config.to_dict() if self.reader is not None else dict(self.flags)
        last = h.last_step
        return MemberState(self.index, self.path.name, str(self.path), self.status,
                           0 if last is None else last + 1, self.total, settings,
                           h.series("train_loss"), normalised_sharpness(h, settings), self.reader is not None)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()


def normalised_sharpness(h: History, settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """(steps, λ / threshold): the threshold recorded with each estimate, else GD's 2/η."""
    key = "precond_sharpness" if h.has("precond_sharpness") else "sharpness"
    lam = h.values.get(key)
    if lam is None:
        return np.zeros(0, np.int64), np.zeros(0)
    thr = h.values.get("threshold")
    if thr is None or not np.isfinite(thr).any():
        lr = float(settings.get("lr") or np.nan)
        thr = np.full_like(lam, 2.0 / lr if lr > 0 else np.nan)
    ok = np.isfinite(lam) & np.isfinite(thr) & (thr > 0)
    return h.steps[ok], lam[ok] / thr[ok]


class ComparePoller:
    """Several runs, or a sweep's members, read incrementally (one worker thread calls poll)."""

    def __init__(self, targets: list[str | Path]):
        """A sweep directory (one target holding sweep.json) or run directories; a target that is
        neither fails now, with one sentence (ConfigError / RunStoreError)."""
        paths = [Path(t) for t in targets]
        self.sweep = paths[0] if len(paths) == 1 and M.is_sweep(paths[0]) else None
        self.members: list[_Member] = []
        self.axes: list[str] = []
        if self.sweep is not None:
            self._sweep_members()
        else:
            for i, p in enumerate(paths):
                if M.is_sweep(p):
                    raise M.SweepError(f"'{p}' is a sweep: watch it on its own (osig watch {p})")
                RunReader(p).close()  # not a run: say so before the screen changes
                self.members.append(_Member(i, p, {}))
        self._key = None

    @property
    def title(self) -> str:
        return f"sweep {self.sweep.name}" if self.sweep is not None else f"{len(self.members)} runs"

    def _sweep_members(self) -> None:
        """Members from sweep.json (re-read each poll: the sweep may still be writing it)."""
        sweep = M.load(self.sweep)
        self.axes = list(sweep.grid.axes)
        known = {m.path.name: m for m in self.members}
        for m in sweep.members:
            if m.name not in known:
                known[m.name] = _Member(len(self.members), sweep.run_dir(m), dict(m.flags))
                self.members.append(known[m.name])
            planned = str(sweep.status.get(m.name, {}).get("status") or "pending")
            if known[m.name].reader is None:  # not started: what the sweep says of it (pending, failed...)
                known[m.name].status = planned if planned not in LIVE_STATUSES else "pending"

    def poll(self) -> CompareState | None:
        if self.sweep is not None:
            try:
                self._sweep_members()
            except M.SweepError:
                pass  # a sweep.json caught mid-replace by another filesystem: the next poll reads it
        changed = False
        for m in self.members:
            try:
                changed |= m.poll()
            except L.RunStoreError:
                continue
        key = tuple((m.status, m.history.last_step) for m in self.members)
        if not changed and key == self._key:
            return None
        self._key = key
        states = tuple(m.state() for m in self.members)
        return CompareState(self.title, states, tuple(self._keys(states)))

    def _keys(self, states) -> list[str]:
        """The sweep's axes first, then any other setting that differs between the runs read so far."""
        read = [_Settings(s.settings) for s in states if s.readable]
        keys = [k for k in self.axes]
        keys += [k for k in differing_settings(read) if k not in keys]
        return keys

    @property
    def live(self) -> bool:
        return any(m.status in LIVE_STATUSES + ("pending",) for m in self.members)

    def close(self) -> None:
        for m in self.members:
            m.close()


@dataclass
class _Settings:
    """What differing_settings reads of a run summary."""
    settings: dict
