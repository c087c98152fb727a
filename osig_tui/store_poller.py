"""Incremental reads of a run directory for the monitor (no Textual in here).

A StorePoller owns one RunReader. `poll()` reads only what is new since its last call (scalars
after the last seen step, status, events) plus the data of the step being viewed, and returns
None when nothing changed, so the UI redraws only on change. `run_poll_loop` drives it from a
thread; the app turns each result into a message. Everything the UI gets is a plain dataclass.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from osig_core.store.activity import current_activity
from osig_core.groups.extremes import clean_delta, top_k_extremes
from osig_core.store.layout import RunStoreError
from osig_core.store.reader import LIVE_STATUSES, RunReader

from osig_tui.store_views import GroupDetail, History, Outlier, PairRow, RunInfo, load_group, outliers_from

SPARK_LEN = 24  # recorded steps shown in a pair's sparklines
FOLLOW_VIEW_S = 0.5  # while following a live run, re-read the latest step's view at most this often
SLOW_STEP_S = 1.0  # say what a live run is doing once it has been at it this long


@dataclass(frozen=True)
class Progress:
    """Where the run stands: changes when a step lands, the status moves or an event arrives."""
    status: str
    reason: str | None
    last_step: int | None
    total_steps: int
    device: str
    rate: float | None  # steps/s over the recent steps (osig_core.store.cost.steps_per_second)
    history: History
    events: tuple[dict, ...] = ()
    activity: str | None = None  # what a live run is doing in a step that takes long ("step 0: sharpness estimate, HVP 5 of ≤ 20 (12 s)")
    cost: str | None = None  # each instrument's share of the wall time ("sharpness 61%, ...")

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES


@dataclass(frozen=True)
class StepView:
    """What the dashboard shows for one step: its pairs, its outliers, where the curvature lives."""
    step: int | None
    following: bool  # True: the latest step, moving with the run
    pairs: tuple[PairRow, ...] = ()
    up: tuple[Outlier, ...] = ()
    down: tuple[Outlier, ...] = ()
    outlier_note: str | None = None  # why there are no outliers, when there are none
    layers: tuple[tuple[str, float], ...] = ()
    layers_step: int | None = None
    pictures: dict = field(default_factory=dict)  # outlier id -> uint8 [H, W, 3] (image runs)
    texts: dict = field(default_factory=dict)  # outlier id -> its rendering (text / 1-D runs)
    outliers_step: int | None = None  # the recorded step the outliers belong to (<= step)


@dataclass(frozen=True)
class PollResult:
    progress: Progress | None = None
    view: StepView | None = None


@dataclass
class _ViewRequest:
    step: int | None = None  # None: follow the latest step
    serial: int = 0


class StorePoller:
    """Incremental reader of one run; safe to call from one worker thread while the UI thread
    calls `request_step` / `send`."""

    def __init__(self, run_dir: str | Path, *, outliers_k: int | None = None):
        self.reader = RunReader(run_dir)
        self.info = RunInfo.from_reader(self.reader)
        self.outliers_k = outliers_k or min(12, self.reader.config.outliers_k)
        self._lock = threading.Lock()
        self._history = History.empty()
        self._progress_key: tuple | None = None
        self._cost: str | None = None
        self._activity: str | None = None  # the latest poll's Progress.activity
        self._event_id = 0
        self._request = _ViewRequest()
        self._view_key: tuple | None = None
        self._view_at = 0.0
        self._loss_steps = np.zeros(0, np.int64)
        self._curves: dict[int, dict[int, tuple[np.ndarray, np.ndarray]]] = {}  # pair id -> side -> (steps, loss)
        self._labels: np.ndarray | None = None
        self._texts: list[str] | None = None

    # ------------------------------------------------------------------ called from the UI thread
    def request_step(self, step: int | None) -> None:
        """Show `step` (clamped to what is recorded) or, with None, follow the latest step."""
        self._request = _ViewRequest(step, self._request.serial + 1)

    def send(self, command: str) -> None:
        with self._lock:
            self.reader.send_control(command)

    def close(self) -> None:
        with self._lock:
            self.reader.close()

    # ------------------------------------------------------------------ polling
    @property
    def live(self) -> bool:
        """Whether the run was live at the last poll (unknown counts as live)."""
        return self._progress_key is None or self._progress_key[0] in LIVE_STATUSES

    def poll(self) -> PollResult | None:
        with self._lock:
            progress = self._poll_progress()
            view = self._poll_view()
        if progress is None and view is None:
            return None
        return PollResult(progress, view)

    def _poll_progress(self) -> Progress | None:
        r = self.reader
        meta = r.meta()
        status, reason = r.status()
        chunk = r.metrics(since=self._history.last_step)
        grew = len(chunk["step"]) > 0
        if grew:
            self._history = self._history.extended(chunk)
        events = r.events(self._event_id)
        if events:
            self._event_id = events[-1]["id"]
        h = self._history
        total = int(meta.get("total_steps") or r.config.steps)
        device = str(meta.get("device") or "?")
        doing = current_activity(meta, h.last_step, live=status == "running")
        activity = None
        if doing is not None and doing[1] >= SLOW_STEP_S:  # a step that takes long: say what runs
            activity = f"{doing[0]} ({doing[1]:.0f} s)"
        if grew:
            self._cost = h.cost()
        self._activity = activity
        key = (status, reason, h.last_step, total, device, activity)
        if key == self._progress_key and not events:
            return None
        self._progress_key = key
        return Progress(status, reason, h.last_step, total, device, h.rate(), h, tuple(events), activity, self._cost)

    def _poll_view(self) -> StepView | None:
        h = self._history
        req = self._request
        if h.last_step is None:
            key = (None, req.serial, self._activity)
            if key == self._view_key:
                return None
            self._view_key = key
            return StepView(None, True, outlier_note=f"no steps recorded yet: {self._activity}" if self._activity
                            else "no steps recorded yet")
        following = req.step is None or req.step >= h.last_step
        step = h.last_step if following else max(int(h.steps[0]), int(req.step))
        key = (step, following)
        if key == self._view_key:
            return None
        now = time.monotonic()
        if following and self._view_key is not None and self._view_key[1] and now - self._view_at < FOLLOW_VIEW_S:
            return None  # following a live run: a new step's pairs and outliers twice a second is plenty
        self._view_key, self._view_at = key, now
        return self._view(step, following)

    # ------------------------------------------------------------------ one step's data
    def _rows_through(self, step: int) -> int:
        """Index of the last loss row recorded at or before `step` (-1: none)."""
        if not len(self._loss_steps) or self._loss_steps[-1] < step:
            last = int(self._loss_steps[-1]) if len(self._loss_steps) else None
            new = self.reader.loss_steps(since=last)  # only the rows written since the last read
            if len(new):
                self._loss_steps = np.concatenate([self._loss_steps, new])
        return int(np.searchsorted(self._loss_steps, step, side="right")) - 1

    def _view(self, step: int, following: bool) -> StepView:
        r = self.reader
        end = self._rows_through(step)
        losses = r.losses() if end >= 0 else None
        pairs = []
        for p in r.pairs_at(step):
            spark = self._spark(losses, end, p) if losses is not None else (np.zeros(0), np.zeros(0))
            pairs.append(PairRow.from_payload(p, spark))
        up, down, note, outliers_step = self._outliers(step, end, losses)
        layers, layers_step = self._layers(step)
        ids = [o.id for o in up + down]
        pictures, texts = {}, {}
        if ids and self.info.has_images:
            images = r.images()
            pictures = {i: np.asarray(images[i]) for i in ids if 0 <= i < len(images)}
        elif ids and self.info.data_kind in ("text", "regression"):
            if self._texts is None:
                self._texts = r.texts() or []
            texts = {i: str(self._texts[i]) for i in ids if 0 <= i < len(self._texts)}
        return StepView(step, following, tuple(pairs), up, down, note, layers, layers_step, pictures, texts,
                        outliers_step)

    def _spark(self, losses: np.ndarray, end: int, pair: dict) -> tuple[np.ndarray, np.ndarray]:
        start = max(0, end - SPARK_LEN + 1)
        out = []
        for side in pair.get("sides", [])[:2]:
            ids = np.asarray(side.get("members", []), dtype=np.int64)
            if not ids.size:
                out.append(np.zeros(0))
                continue
            block = np.asarray(losses[start:end + 1][:, ids], dtype=np.float32)
            ok = np.isfinite(block)
            with np.errstate(all="ignore"):  # untracked samples are NaN; no warnings on the terminal
                out.append(np.where(ok, block, 0).sum(1) / ok.sum(1))
        while len(out) < 2:
            out.append(np.zeros(0))
        return out[0], out[1]

    def _outliers(self, step: int, end: int, losses) -> tuple[tuple, tuple, str | None, int | None]:
        """The extremes of the last recorded loss change at or before `step` (runs that record every
        K steps have none in between): stored by the engine, else computed from the two loss rows."""
        if losses is None or end < 1:
            return (), (), f"no loss change recorded up to step {step}", None
        at = int(self._loss_steps[end])
        rec = self.reader.record_at("extremes", at)
        if rec is not None and rec[0] == at:
            up, down = outliers_from(rec[1])
            return up[:self.outliers_k], down[:self.outliers_k], None, at
        delta = clean_delta(losses[end - 1], losses[end])
        up_ids, down_ids = top_k_extremes(delta, self.outliers_k)
        if self._labels is None:
            self._labels = self.reader.labels()
        preds = self.reader.preds() if self.info.is_classification else None
        before = None if preds is None else preds[end - 1]
        after = None if preds is None else preds[end]

        def make(ids):
            return tuple(Outlier(int(i), float(delta[i]), self._labels[i].item(),
                                 None if before is None else int(before[i]),
                                 None if after is None else int(after[i])) for i in ids)
        return make(up_ids), make(down_ids), None, at

    def _layers(self, step: int) -> tuple[tuple[tuple[str, float], ...], int | None]:
        rec = self.reader.record_at("layer_curvature", step)
        if rec is None or not isinstance(rec[1], dict):
            return (), None
        modules, tops = rec[1].get("modules") or {}, rec[1].get("top_modules") or {}
        # a few modules read best; a deep net's dozens of modules read better as its top-level blocks
        shares = modules if (len(modules) <= 12 or len(tops) < 2) else tops
        shares = shares or rec[1].get("params") or {}
        items = sorted(((str(k), float(v)) for k, v in shares.items() if isinstance(v, (int, float))),
                       key=lambda kv: -kv[1])
        return tuple(items), rec[0]

    # ------------------------------------------------------------------ group inspection
    def group(self, pair_id: int, step: int | None) -> GroupDetail:
        """Everything the group screen shows for one pair at one step (read on a worker thread)."""
        with self._lock:
            if step is None:
                step = self._history.last_step
            end = self._rows_through(step) if step is not None else -1
            return load_group(self.reader, self.info, pair_id, step, end, self._loss_steps, self._group_curves(pair_id))

    def _group_curves(self, pair_id: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Both sides' loss curves, extended by the steps recorded since this pair was last read."""
        old = self._curves.pop(pair_id, None)
        if old is None:
            curves = self.reader.group_losses(pair_id)
        else:
            last = max((int(s[-1]) for s, _ in old.values() if len(s)), default=None)
            new = self.reader.group_losses(pair_id, since=last)
            curves = dict(old)
            for side, (s, v) in new.items():
                if side in curves:
                    s, v = np.concatenate([curves[side][0], s]), np.concatenate([curves[side][1], v])
                curves[side] = (s, v)
        self._curves[pair_id] = curves  # most recently read last
        while len(self._curves) > 16:
            self._curves.pop(next(iter(self._curves)))
        return curves


def run_poll_loop(poller: StorePoller, post: Callable[[PollResult], None], on_error: Callable[[str], None],
                  should_stop: Callable[[], bool], wake: threading.Event, interval: float = 0.25) -> None:
    """Poll until `should_stop()`: a few times a second while the run is live, every second after.
    Setting `wake` makes the next poll happen now (a key asked for another step)."""
    last_error = None
    while not should_stop():
        live = True
        try:
            res = poller.poll()
            last_error = None
            if res is not None:
                post(res)
            live = poller.live
        except (RunStoreError, OSError, ValueError) as e:
            msg = str(e) or type(e).__name__
            if msg != last_error:
                on_error(msg)
                last_error = msg
        deadline = time.monotonic() + (interval if live else 4 * interval)
        while not should_stop() and time.monotonic() < deadline:
            if wake.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
                wake.clear()
                break


__all__ = ["GroupDetail", "History", "Outlier", "PairRow", "PollResult", "Progress", "RunInfo", "StepView",
           "StorePoller", "run_poll_loop"]
