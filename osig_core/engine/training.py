"""The training loop: one visible loop that steps, records, measures and checkpoints.

Step t works at the weights theta_t: compute per-sample losses and the gradient (one pass for
full-batch GD), run the instruments that are due, apply the optimizer, then commit step t to the
run directory. A checkpoint named step_s holds theta_s, i.e. the state before step s runs.
"""
from __future__ import annotations

import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable

import torch

from osig_core.store.activity import INSTRUMENT_ACTIVITY, Activity
from osig_core.config.run_config import ConfigError, RunConfig
from osig_core.store.cost import StepClock
from osig_core.engine.inputs import instruments_for, optimizer_view, recorder_settings
from osig_core.loop.controls import handle_controls
from osig_core.loop.core import StepCore
from osig_core.loop.run_doc import config_document
from osig_core.loop.tracked import tracked_pass
from osig_core.engine.distributed import NullWriter, from_environment
from osig_core.engine.gradients import Gradients
from osig_core.problem.passes import evaluate
from osig_core.components.registry import OPTIMIZERS
from osig_core.components.build import build_data, build_model, build_optimizer, data_to, loss_name, resolve_device
from osig_core.store import layout as L
from osig_core.store.checkpoint import non_finite_parameter, save_checkpoint
from osig_core.store.reader import RunReader
from osig_core.store.writer import RunWriter
from osig_core.loop.recording import LossRecorder
from osig_core.engine.resume_check import check_data_fits, choose_checkpoint
from osig_core.engine.batches import BatchOrder
from osig_core.engine.failures import one_line, storage_failure
from osig_core.engine.signals import StopSignals

Progress = Callable[[int, int, dict], None]


class Engine:
    """Owns the model, optimizer, data and writer of one run."""

    def __init__(self, cfg: RunConfig, run_dir: Path, progress: Progress | None = None):
        self.cfg = cfg
        self.dir = Path(run_dir)
        self.progress = progress
        self.device = resolve_device(cfg.device)
        if cfg.width is None:  # record the width actually used, so the run rebuilds the same model
            cfg = self.cfg = cfg.replace(width=cfg.resolved_width(self.device.type))
        self.dist = from_environment(self.device)
        if self.dist is not None and self.device.type == "cuda":
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.is_writer = self.dist is None or self.dist.is_writer
        self.data_cpu = build_data(cfg)
        self.data = data_to(self.data_cpu, self.device)
        self.loss = loss_name(cfg, self.data)
        self.model = build_model(cfg, self.data).to(self.device)
        params = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        if cfg.sharpness_every and cfg.eig_k > params:  # Lanczos cannot find more eigenvalues than dimensions
            raise ConfigError(f"--eig-k must be at most the model's {params} trainable parameters, got {cfg.eig_k}")
        self.optimizer = build_optimizer(cfg, self.model)
        self.spec = OPTIMIZERS[cfg.optim]
        self.batches = BatchOrder(cfg.seed)  # minibatch order, in every checkpoint
        if self.dist is not None:
            self.dist.broadcast_params(self.model)
        self.grads = Gradients(cfg, self.model, self.data, self.loss, self.dist)
        self.writer = RunWriter(self.dir, self.data.n) if self.is_writer else NullWriter()
        self.recorder = LossRecorder(recorder_settings(cfg if self.is_writer else cfg.replace(groups=False)), self.data)
        self.instruments = instruments_for(cfg, self.model, self.data, self.device)
        self.core = StepCore(self.instruments, self.recorder, optimizer_view(cfg, self.optimizer, self.spec), self.dist)
        self.step = 0
        self.signals = StopSignals()
        self._diverged: str | None = None
        self.clock = StepClock()  # step_time and time_<part> of each step (osig_core.store.cost)
        self.activity = Activity(None)  # what runs now, for a watcher of a long step (osig_core.store.activity)
        self._recorder_state: dict | None = None  # the loss recorder's part of the checkpoint resumed from

    # ------------------------------------------------------------------ start
    def config_doc(self) -> dict:
        return config_document(self.cfg.to_dict(), self.data, self.loss, self.model)

    def start_fresh(self) -> None:
        self.writer.acquire_lock()
        if self.is_writer and (self.dir / L.CONFIG_FILE).exists():  # another process made a run here since we checked
            raise ConfigError(f"'{self.dir}' already holds a run; use --resume to continue it or --force to replace it")
        self.writer.create(self.config_doc())
        d = self.data_cpu
        texts = [d.describe(i) for i in range(d.n)] if d.kind in ("text", "regression") else None
        xs = d.x.numpy() if d.kind == "regression" and d.x.ndim == 2 and d.x.shape[1] == 1 else None
        self.writer.write_samples(d.y.numpy(), d.display_images(), texts, d.features, xs)
        self._mark_running()
        self.writer.event(0, "start", f"run started on {self.device}")

    def start_resume(self) -> None:
        """Every check first (a checkpoint that loads and fits, the database and the loss rows covering
        every step before it, the rows the recorder reads back); only then the store is rolled back to
        it, in one transaction. A failed check leaves the run exactly as it was."""
        self.writer.acquire_lock()
        reader = RunReader(self.dir)
        try:
            check_data_fits(reader, self.data_cpu)
            skipped = choose_checkpoint(reader, self._load_state)
            self.recorder.restore(reader, self.step, self._recorder_state)
            if math.isnan(self.core.prev_loss) and self.step > 0:  # a checkpoint from before prev_loss was kept
                before = reader.metrics(since=self.step - 2)
                if len(before["step"]) and before["step"][0] == self.step - 1 and "train_loss" in before:
                    self.core.prev_loss = float(before["train_loss"][0])  # what the loss-spike trigger compares with
        finally:
            reader.close()
        self.writer.reopen(keep_through_step=self.step - 1)
        self._mark_running()
        note = f" (passed over {'; '.join(skipped)})" if skipped else ""
        self.writer.event(self.step, "resume", f"resumed at step {self.step} on {self.device}{note}")

    def _load_state(self, state: dict, path: Path) -> None:
        """Model, optimizer, RNG and batch order from a checkpoint; one that does not fit is corrupt."""
        try:
            self.model.load_state_dict(state["model"])
            if state["optim"] is not None:
                self.optimizer.load_state_dict(state["optim"])
            torch.set_rng_state(state["rng"]["torch"])
            self.batches.load(state["rng"], state["extra"])
            self.step = int(state["step"])
            self._recorder_state = self.core.load_state(state)  # instruments, recorder, links
        except (RuntimeError, ValueError, KeyError, TypeError, AttributeError, IndexError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise L.RunStoreError(f"checkpoint '{path}' does not fit this run ({first[:200]})") from None

    def _component_states(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Instrument and recorder state for a checkpoint (osig_core/loop/core.py)."""
        return self.core.state()

    def _mark_running(self) -> None:
        self.writer.set_meta(status="running", pid=os.getpid(), host=os.uname().nodename, device=str(self.device),
                             total_steps=self.cfg.steps, error=None, heartbeat=time.time())

    # ------------------------------------------------------------------ loop
    def run(self) -> str:
        """Train to cfg.steps; returns the final status. Always leaves a consistent directory."""
        restore = self.signals.install()
        status = "failed"
        self.activity = Activity(self.dir / L.DB_FILE if self.is_writer else None,
                                 getattr(self.progress, "activity", None) if self.is_writer else None)
        self.core.report = self.activity.detail  # an instrument's own progress: ("HVP 5 of ≤ 20")
        self.clock.start()
        try:
            while self.step < self.cfg.steps:
                if self._handle_controls() == "stop" or (self.signals.name and self.dist is None):
                    status = "stopped"
                    break
                if not self._one_step():
                    status = "diverged"
                    break
            else:
                status = "finished"
            if status != "diverged" and self.checkpoint() is None and self._diverged:
                status = "diverged"  # the last update left non-finite weights
            if status == "diverged":  # a checkpoint of the weights that gave the non-finite loss is no good checkpoint
                (self.dir / L.CHECKPOINT_DIR / L.checkpoint_name(self.step)).unlink(missing_ok=True)
            reason = {"stopped": f"stopped at step {self.step}" + (f" by {self.signals.name}" if self.signals.name else ""),
                      "diverged": self._diverged}.get(status)
            self.writer.set_meta(status=status, finished=time.time(), **({"error": reason} if reason else {}))
            self.writer.event(self.step, status, reason or status)
            return status
        except Exception as e:
            storage = isinstance(e, (OSError, sqlite3.Error))  # a full disk, a vanished mount, a broken file
            msg = storage_failure(self.dir, self.step, e) if storage else one_line(e)
            try:
                self.writer.set_meta(status="failed", error=msg)
                self.writer.event(self.step, "failed", msg)
            except Exception:  # the disk may be the problem; the reader treats a dead writer as failed
                pass
            if storage:
                raise L.RunStoreError(msg) from None
            raise
        except KeyboardInterrupt:  # a second Ctrl-C: no final checkpoint, the store is still consistent
            msg = f"interrupted at step {self.step} before a final checkpoint; --resume continues from the last one"
            try:
                self.writer.set_meta(status="failed", error=msg)
                self.writer.event(self.step, "failed", msg)
            except Exception:
                pass
            raise
        finally:
            restore()
            self.activity.close()
            self.writer.close()
            if self.dist is not None:
                self.dist.close()

    def _one_step(self) -> bool:
        cfg, t = self.cfg, self.step
        clock, say = self.clock, self.activity.say
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        record = self.recorder.due(t)
        if cfg.full_batch:
            say(t, f"forward and backward pass over {self.data.n} samples")
            tangents = self._step_tangents(t)
            res = self.grads.full_batch(tangents).to_host()  # the step's one device->host copy (losses, preds, correct)
            step_hvp = None if tangents is None else (tangents, res.products)
            train_loss, train_acc = res.mean_loss, res.accuracy
        else:
            step_hvp = None
            say(t, "minibatch step")
            with clock.timing("recording"):
                res = self._tracked_pass().to_host() if record else None
            idx = self.batches.next(cfg.resolved_batch_size(), self.data.n, self.device)
            train_loss = self.grads.minibatch(idx)
            train_acc = res.accuracy if res is not None else math.nan
        if not math.isfinite(train_loss):
            self._diverged = f"the training loss became {train_loss} at step {t}; the run diverged (try a smaller --lr)"
            return False
        scalars: dict[str, float] = {"train_loss": train_loss, "train_acc": train_acc, "lr": self.core.optim.lr()}
        rec = None
        if record:
            say(t, "recording losses" + (" and groups" if cfg.groups else ""))
            with clock.timing("recording"):
                rec = self.core.record(t, res)
            clock.move("recording", "groups", rec.groups_time)
            scalars.update(rec.scalars)
        spike = self.core.spike(train_loss)
        measured = self.core.measure(t, rec, train_loss, spike, step_hvp, timing=self._instrument_timing)
        if cfg.eval_every and t % cfg.eval_every == 0 and self.data.x_test is not None:
            say(t, "test evaluation")
            with clock.timing("eval"):
                ev = evaluate(self.model, self.data.x_test, self.data.y_test, loss=self.loss,
                              label_smoothing=cfg.label_smoothing, chunk_size=cfg.chunk_size,
                              precision=cfg.precision, eval_mode=True).to_host()
            scalars.update(test_loss=ev.mean_loss, test_acc=ev.accuracy)
        say(t, "optimizer update")
        self.optimizer.step()
        if hasattr(self.optimizer, "stats"):
            scalars.update({k: float(v) for k, v in self.optimizer.stats().items()})
        scalars.update(measured.scalars)
        scalars.update(clock.lap())  # step_time, time_<part>; what follows counts towards the next step
        say(t, "writing the step")
        with clock.timing("recording"):
            self.core.write(self.writer, t, scalars, self.core.records(measured, rec), rec)
        self.step = t + 1
        if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
            say(self.step, "checkpoint")
            with clock.timing("checkpoint"):
                saved = self.checkpoint()
            if saved is None and self._diverged:
                return False
        if self.progress is not None and self.is_writer:
            self.progress(self.step, cfg.steps, scalars)
        return True

    def _instrument_timing(self, inst):
        """Around each instrument's measurement: say what runs, time it (osig_core.store.cost)."""
        self.activity.say(self.step, INSTRUMENT_ACTIVITY.get(inst.name, inst.name))
        return self.clock.timing(inst.name)

    def _tracked_pass(self):
        """The minibatch step's tracked losses at theta_t (osig_core/loop/tracked.py says which mode)."""
        cfg, x, y = self.cfg, self.data.x, self.data.y
        idx = self.recorder.tracked_index(x.device)
        if idx is not None:
            x, y = x[idx], y[idx]
        return tracked_pass(self.model, x, y, loss=self.loss, label_smoothing=cfg.label_smoothing,
                            chunk_size=cfg.chunk_size, precision=cfg.precision)

    def _step_tangents(self, t: int) -> torch.Tensor | None:
        """Vectors whose Hessian products a curvature instrument due at step t wants from the step's
        own full-batch pass (osig_core/instruments/sharpness.py `fused_start`), or None."""
        return self.core.fused_start(t) if self.grads.can_fuse_products() else None

    # ------------------------------------------------------------------ control, checkpoints
    def checkpoint(self) -> Path | None:
        """Save model, optimizer and RNG; weights that are no longer finite are never saved (the run
        is marked diverged instead), so every checkpoint on disk can be resumed."""
        if not self.is_writer:
            return None
        bad = non_finite_parameter(self.model)
        if bad is not None:
            self._diverged = (f"the weights ({bad}) became non-finite after step {self.step - 1}; "
                              "the run diverged (try a smaller --lr)")
            return None
        rng = {"torch": torch.get_rng_state(), **self.batches.rng_state()}
        tensors, doc = self.core.checkpoint_state(self._component_states())
        path = save_checkpoint(self.dir, self.step, self.model, self.optimizer, rng,
                               extra={"perm_pos": self.batches.pos, **doc}, instrument_state=tensors)
        self.writer.event(self.step, "checkpoint", f"checkpoint {path.name}")
        return path

    def _handle_controls(self) -> str | None:
        def checkpoint() -> None:
            with self.clock.timing("checkpoint"):
                self.checkpoint()
        stop = handle_controls(self._poll_commands, self.writer, self.step, checkpoint,
                               interrupted=lambda: bool(self.signals.name), paused_for=self.clock.exclude)
        return "stop" if stop else None

    def _poll_commands(self) -> list[str]:
        """The writer rank reads the control table; in a distributed run every rank learns the same list."""
        cmds = [c for _, c in self.writer.pending_commands()]
        if self.dist is None:
            return cmds
        if self.signals.name and self.is_writer:
            cmds.append("stop")
        out = []
        while True:
            c = self.dist.broadcast_command(cmds.pop(0) if cmds else None)
            if c is None:
                return out
            out.append(c)


# ---------------------------------------------------------------------- public entry points
def _start(engine: Engine, start: Callable[[], None]) -> None:
    """Run a start step; if it fails, release the lock and files so the same process can try again."""
    try:
        start()
    except BaseException:
        engine.writer.close()
        raise
