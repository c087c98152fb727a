"""The run directory side of osig.Monitor: create or continue it, write steps, checkpoints, controls.

The same RunWriter and checkpoint format as `osig run`; what differs is that the loop belongs to the
user, so pause blocks inside `Monitor.step()` and stop raises `StopTraining` there.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from osig_core.config.run_config import ConfigError
from osig_core.loop.controls import handle_controls
from osig_core.loop.run_doc import config_document
from osig_core.data.user import loss_label
from osig_core.store import layout as L
from osig_core.store.checkpoint import (load_checkpoint, load_weights, newest_at_or_before, non_finite_parameter,
                                       save_checkpoint)
from osig_core.store.reader import RunReader
from osig_core.store.writer import RunWriter

if TYPE_CHECKING:
    from osig_core.monitor.driver import Monitor

PAUSE_POLL_S = 0.2


class StopTraining(Exception):
    """Raised by `Monitor.step()` after `osig watch` asked the run to stop (the run is saved first)."""


def is_monitor_run(doc: dict[str, Any]) -> bool:
    return doc.get("source") == "monitor"


class MonitorStore:
    def __init__(self, run_dir: Path, mon: "Monitor"):
        self.dir = run_dir
        self.mon = mon
        self.writer = RunWriter(run_dir, mon.data.n)
        self.stop_reason: str | None = None

    # ------------------------------------------------------------------ start
    def open(self, resume: bool | int, force: bool) -> int:
        """Create the run (or continue it); returns the step the next `Monitor.step()` records."""
        exists = (self.dir / L.CONFIG_FILE).exists() or (self.dir / L.DB_FILE).exists()
        if isinstance(resume, bool) and not resume:
            if exists and not force:
                raise ConfigError(f"'{self.dir}' already holds a run; pass resume=True to continue it "
                                  "or force=True to replace it")
            if self.dir.exists() and not self.dir.is_dir():
                raise ConfigError(f"'{self.dir}' exists and is not a directory")
            if exists:
                from osig_core.store.run_dirs import prepare_run_dir
                prepare_run_dir(self.dir, True)
            return self._create()
        if isinstance(resume, int) and resume < 0:
            raise ConfigError(f"resume must be True or a step of 0 or more, got {resume}")
        if not exists:
            raise ConfigError(f"'{self.dir}' holds no run to resume; pass resume=False to start one")
        return self._reopen(None if isinstance(resume, bool) else int(resume))

    def _create(self) -> int:
        self.writer.acquire_lock()
        try:
            doc = config_doc(self.mon)
            self.writer.create(doc)
            d = self.mon.data_cpu
            self.writer.write_samples(d.y.numpy(), d.display_images(), None, {}, None)
            self._mark_running()
            self.writer.event(0, "start", f"monitor attached to {type(self.mon.model).__name__} on {self.mon.device}")
            if self.mon.rule.reason:
                self.writer.event(0, "threshold", self.mon.rule.reason)
        except BaseException:
            self.writer.close()
            raise
        return 0

    def _reopen(self, at: int | None) -> int:
        reader = RunReader(self.dir)
        try:
            if not is_monitor_run(reader.config_doc):
                raise ConfigError(f"'{self.dir}' was made by `osig run`, not by osig.Monitor; "
                                  "continue it with `osig run --resume`")
            if reader.n != self.mon.data.n:
                raise ConfigError(f"'{self.dir}' recorded {reader.n} samples but data has {self.mon.data.n}; "
                                  "resume with the same data")
            done = reader.steps_done()
            ckpts = reader.checkpoints()
        finally:
            reader.close()
        step = done if at is None else min(int(at), done)
        self.writer.acquire_lock()
        try:
            recorder_state = self._restore_components(ckpts, step)
            reader = RunReader(self.dir)  # read what the resume needs first: a failure here deletes nothing
            try:
                self.mon.recorder.restore(reader, step, recorder_state)
            finally:
                reader.close()
            self.writer.reopen(keep_through_step=step - 1)
            self._mark_running()
            if self.mon.steps is not None:  # a new total: config.json says it too (as `osig run --resume`)
                doc = json.loads((self.dir / L.CONFIG_FILE).read_text())
                doc["config"]["steps"] = self.mon.steps
                tmp = self.dir / (L.CONFIG_FILE + ".tmp")
                tmp.write_text(json.dumps(doc, indent=2, sort_keys=True))
                os.replace(tmp, self.dir / L.CONFIG_FILE)
            self.writer.event(step, "resume", f"monitor resumed at step {step} on {self.mon.device}")
        except BaseException:
            self.writer.close()
            raise
        return step

    def _restore_components(self, ckpts: list, step: int) -> dict | None:
        """Instruments, recorder and spike reference from the checkpoint of exactly `step` (the state
        before that step, so the run continues as if never stopped); from an older one only proj_top's
        reference weights. Returns the recorder's part (None: it refills from the stored rows)."""
        older = [(s, p) for s, p in ckpts if s <= step]
        if not older:
            return None
        at, path = older[-1]
        try:
            state = load_checkpoint(path)
        except L.RunStoreError:
            return None
        if at != step:
            ref = state.get("state", {}).get("theta_ref")
            if ref is not None:
                self.mon.links.theta_ref = ref
            return None
        try:
            return self.mon.core.load_state(state)
        except (RuntimeError, ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(f"checkpoint '{path}' does not fit this monitor's instruments ({first[:160]}); "
                              "resume with the same model, data and settings") from None

    def _mark_running(self) -> None:
        self.writer.set_meta(status="running", pid=os.getpid(), host=os.uname().nodename, device=str(self.mon.device),
                             total_steps=self.mon.steps, error=None, heartbeat=time.time(),
                             threshold_note=self.mon.rule.reason)

    # ------------------------------------------------------------------ per step
    def write_step(self, t: int, scalars: dict[str, float], records: dict[str, Any], rec) -> None:
        self.mon.core.write(self.writer, t, scalars, records, rec)
        if self.mon.steps is None:  # the total is unknown: progress shows the steps so far
            self.writer.set_meta(total_steps=t + 1)

    def checkpoint(self, step: int) -> Path | None:
        """Model and optimizer as safetensors; weights that are not finite are never saved."""
        model = self.mon.model
        bad = non_finite_parameter(model)
        if bad is not None:
            self.writer.event(step, "checkpoint", f"no checkpoint at step {step}: the weights ({bad}) are not finite")
            return None
        core = self.mon.core
        state, doc = core.checkpoint_state(core.state())  # every component, so a resume is exact
        try:
            path = save_checkpoint(self.dir, step, model, self.mon.optimizer, {"torch": torch.get_rng_state()},
                                   extra={"source": "monitor", **doc}, instrument_state=state)
        except TypeError as e:  # optimizer state that is neither a tensor nor JSON: keep the weights
            path = save_checkpoint(self.dir, step, model, None, {"torch": torch.get_rng_state()},
                                   extra={"source": "monitor", "optimizer_skipped": str(e)[:200], **doc},
                                   instrument_state=state)
            self.writer.event(step, "checkpoint", f"optimizer state not saved ({str(e)[:120]}); weights saved")
        self.writer.event(step, "checkpoint", f"checkpoint {path.name}")
        return path

    def handle_controls(self, step: int) -> None:
        """osig_core/loop/controls.py; a stop is raised into the user's loop as StopTraining."""
        if handle_controls(lambda: [c for _, c in self.writer.pending_commands()], self.writer, step,
                           lambda: self.checkpoint(step), poll_s=PAUSE_POLL_S):
            self.stop_reason = f"stopped at step {step} from osig watch"
            raise StopTraining(self.stop_reason)

    # ------------------------------------------------------------------ end
    def close(self, step: int, status: str, reason: str | None) -> None:
        try:
            if self.writer.db is None:
                return
            if status in ("finished", "stopped") and step > 0:
                self.checkpoint(step)
            self.writer.set_meta(status=status, finished=time.time(), **({"error": reason} if reason else {}))
            self.writer.event(step, status, reason or status)
        finally:
            self.writer.close()


def load_into(run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
              step: int | None) -> int:
    """Monitor.restore: a monitor checkpoint's weights (and optimizer state) into the user's objects."""
    reader = RunReader(run_dir)
    try:
        ckpts = reader.checkpoints()
    finally:
        reader.close()
    at, path = newest_at_or_before(run_dir, ckpts, step)
    load_weights(path, model, optimizer)
    return int(at)


def config_doc(mon: Monitor) -> dict[str, Any]:
    """config.json of a monitored run: like a built-in run's, plus what only the user's code knows."""
    model_cls = type(mon.model)
    return {**config_document(mon.cfg.to_dict(), mon.data_cpu, loss_label(mon.loss), mon.model), "source": "monitor",
            "monitor": {"model_class": f"{model_cls.__module__}:{model_cls.__qualname__}",
                        "optimizer_class": f"{type(mon.optimizer).__module__}:{type(mon.optimizer).__qualname__}",
                        "threshold_rule": mon.rule.kind, "threshold_note": mon.rule.reason,
                        "pid": os.getpid()}}
