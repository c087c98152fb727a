"""osig.Monitor: watch a model trained by your own loop, with your own optimizer, into a run directory.

    import osig_core as osig
    with osig.Monitor("runs/mine", model, optimizer, data=(x, y), loss="ce") as mon:
        for step in range(steps):
            ...your forward, backward, optimizer.step()...
            mon.step()                    # or mon.step(losses=per_sample, ids=idx)

The run directory is the one `osig run` writes, so `osig watch`, `osig show`, `osig groups`,
`osig export` and `osig.open_run` read it. Step k of the run is the k-th `mon.step()` call; what it
records is measured at the weights as the call finds them (after that step's optimizer.step()),
with the threshold from the optimizer's param_groups at that moment (so a schedule is followed).

Control from `osig watch`: pause blocks inside `step()` until resumed; checkpoint saves one; stop
saves a final checkpoint, marks the run stopped and makes `step()` raise `osig.StopTraining`
(catch it to end your loop; `with Monitor(...)` treats it as a clean stop and swallows it).
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from osig_core.config.run_config import ConfigError, RunConfig
from osig_core.instruments.inputs import (InstrumentSettings, OptimizerView, PerSampleSettings, ProbeSettings,
                                          Problem, SharpnessSettings)
from osig_core.loop.core import StepCore
from osig_core.loop.tracked import tracked_pass
from osig_core.monitor.callback import check_callback, notify
from osig_core.data.user import LossSpec, as_dataset, check_fit, check_loss, check_model
from osig_core.monitor.guard import untouched
from osig_core.optim.thresholds import OptimizerRule, optimizer_label
from osig_core.monitor.run_dir import MonitorStore, StopTraining  # noqa: F401 - osig.StopTraining
from osig_core.problem.passes import PassResult
from osig_core.loop.recording import LossRecorder, RecorderSettings


def _count(name: str, value: Any, *, minimum: int, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "0 (off) or a positive integer" if minimum == 0 else f"an integer of at least {minimum}"
        raise ConfigError(f"{name} must be {kind}{' or None' if optional else ''}, got {value!r}")


class Monitor:
    """Records a user's own training loop into an osig run directory (see the module docstring).

    data: (x, y) tensors, (x, y, classes), or a map-style torch Dataset of (x, y); sample ids are
    the indices. loss: "ce", "mse" or callable(out, y) -> per-sample losses [B]. track: None records
    every sample, M a fixed class-balanced subset of M; each `track_every` steps the monitor runs a
    no-grad forward over them (train mode without dropout or running-stat updates), unless
    `step(losses=..., ids=...)` hands it the step's own per-sample losses. sharpness_subset: the
    fixed samples whose mean loss's Hessian is estimated every `sharpness_every` steps (0: never).
    resume: True continues the run in `run_dir` after its last recorded step; an int s continues at
    step s (what was recorded from s on is dropped), for a loop that restarts from a checkpoint of
    step s. force: replace a run already in `run_dir`. steps: the total, if known (progress bars).
    sharpness_tol / sharpness_cheap_tol: Lanczos tolerances as `osig run --sharpness-tol` and
    `--sharpness-cheap-tol` (None: their defaults; a cheap tolerance of 0 runs every estimate to the tolerance).
    on_step: callable(dict) given each step's measurements once the step is recorded (osig_core.monitor.callback).
    """

    def __init__(self, run_dir: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 data: Any, loss: LossSpec = "ce", classes: Sequence[str] | None = None,
                 sharpness_every: int = 10, track: int | None = None, track_every: int = 1,
                 checkpoint_every: int = 100, *, sharpness_subset: int | None = 1000, resume: bool | int = False,
                 force: bool = False, steps: int | None = None, seed: int = 0, groups: bool = True,
                 probes: Sequence[str] = (), probe_every: int = 10, eig_k: int = 1, chunk_size: int = 1000,
                 sharpness_tol: float | None = None, sharpness_cheap_tol: float | None = None, on_step=None):
        self.model = check_model(model)
        self.on_step = check_callback(on_step)
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ConfigError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        for name, value, minimum, optional in (("sharpness_every", sharpness_every, 0, False),
                                               ("track", track, 1, True), ("track_every", track_every, 1, False),
                                               ("checkpoint_every", checkpoint_every, 0, False),
                                               ("sharpness_subset", sharpness_subset, 1, True),
                                               ("steps", steps, 1, True), ("probe_every", probe_every, 1, False),
                                               ("eig_k", eig_k, 1, False), ("chunk_size", chunk_size, 1, False)):
            _count(name, value, minimum=minimum, optional=optional)
        self.optimizer = optimizer
        self.loss = check_loss(loss)
        self.device = next(p for p in model.parameters()).device
        with untouched(model):
            data_cpu = as_dataset(data, classes)
            outputs = check_fit(model, data_cpu, self.loss, self.device)
        if data_cpu.is_classification and classes is None:
            data_cpu.classes = [str(i) for i in range(max(outputs, len(data_cpu.classes)))]
        if isinstance(self.loss, str) and data_cpu.is_classification is False and self.loss == "ce":
            raise ConfigError("loss 'ce' needs integer class labels y; use loss='mse' for float targets")
        data_cpu.loss = self.loss
        self.rule = OptimizerRule.of(optimizer)
        group = optimizer.param_groups[0]
        betas = group.get("betas", (0.9, 0.999))
        # config.json's "config" (what the run's readers show); the parts of the run take their own inputs
        self.cfg = RunConfig(model=f"custom:{type(model).__name__}", width=1.0, data="custom", n=data_cpu.n,
                             n_test=None, optim=optimizer_label(optimizer), lr=self.rule.lr(), steps=steps or 0,
                             momentum=float(group.get("momentum", 0.0) or 0.0),
                             dampening=float(group.get("dampening", 0.0) or 0.0), beta1=float(betas[0]),
                             beta2=float(betas[1]), eps=float(group.get("eps", 1e-8) or 1e-8),
                             weight_decay=float(group.get("weight_decay", 0.0) or 0.0),
                             loss=self.loss if isinstance(self.loss, str) else None, seed=int(seed),
                             device=str(self.device), chunk_size=chunk_size, track=track, track_every=track_every,
                             eval_every=0, checkpoint_every=checkpoint_every, sharpness_every=sharpness_every,
                             sharpness_subset=sharpness_subset, eig_k=eig_k, groups=bool(groups),
                             probes=list(probes), probe_every=probe_every)
        tols = {}
        for name, value in (("tol", sharpness_tol), ("cheap_tol", sharpness_cheap_tol)):
            if value is not None:  # None: osig run's default (see docs/curvature.md)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                    raise ConfigError(f"sharpness_{name} must be a non-negative number, got {value!r}")
                tols[name] = float(value)
        self.cfg = self.cfg.replace(**{f"sharpness_{k}": v for k, v in tols.items()})  # for config.json only
        # the instruments' inputs, from the arguments and the user's optimizer (no RunConfig)
        self.settings = InstrumentSettings(
            sharpness=SharpnessSettings(every=sharpness_every, subset=sharpness_subset, eig_k=eig_k, seed=int(seed), **tols),
            per_sample=PerSampleSettings(sharpness_every=sharpness_every, seed=int(seed)),
            probes=ProbeSettings(probes=tuple(probes), every=probe_every, seed=int(seed)))
        self.optim_view = OptimizerView(optimizer, threshold_of=self.rule.threshold, preconditioned=self.rule.preconditioned,
                                        defaults={"lr": self.rule.lr(), "beta2": float(betas[1]),
                                                  "eps": float(group.get("eps", 1e-8) or 1e-8)})
        self.steps, self.checkpoint_every, self.chunk_size = steps, checkpoint_every, chunk_size
        from osig_core.components.build import data_to
        self.data_cpu = data_cpu
        self.data = data_to(data_cpu, self.device)
        with untouched(model):
            from osig_core.instruments.schedule import build_instruments
            self.recorder = LossRecorder(RecorderSettings(track=track, track_every=track_every, groups=bool(groups),
                                                          seed=int(seed)), self.data)
            problem = Problem(model=model, data=self.data, loss=self.loss, device=self.device, chunk_size=chunk_size,
                              step_samples=self.data.n)  # the user's batch is unknown: budgets count whole passes
            self.instruments = build_instruments(problem, self.settings)
        self.core = StepCore(self.instruments, self.recorder, self.optim_view)
        self.store = MonitorStore(Path(run_dir), self)
        self._step = self.store.open(resume, force)  # the first write to run_dir happens here
        self._closed = False
        self._last_end: float | None = None

    # ------------------------------------------------------------------ public
    @property
    def run_dir(self) -> Path:
        return self.store.dir

    @property
    def links(self):
        """What the instruments and the group detector hand each other (osig_core.instruments.inputs.Links)."""
        return self.core.links

    @property
    def step_index(self) -> int:
        """The step the next `step()` call records (after resume: where the run continues)."""
        return self._step

    def step(self, losses: torch.Tensor | None = None, ids: torch.Tensor | None = None) -> None:
        """Record one step; call once per optimizer step, after optimizer.step().

        losses/ids: this step's own per-sample losses and their sample ids (ids may be omitted when
        losses has one value per sample of data); the monitor then runs no forward of its own, and
        samples not in ids are not recorded this step. Raises StopTraining when `osig watch` stopped
        the run."""
        if self._closed:
            raise ConfigError("this Monitor is closed; make a new one (resume=True continues the run)")
        t, start = self._step, time.perf_counter()
        given = self._given(losses, ids) if losses is not None or ids is not None else None
        with untouched(self.model):
            scalars, records, rec = self._measure(t, given)
        scalars["monitor_time"] = time.perf_counter() - start
        if self._last_end is not None:
            scalars["step_time"] = time.perf_counter() - self._last_end
        self.store.write_step(t, scalars, records, rec)
        self._step = t + 1
        if self.checkpoint_every and self._step % self.checkpoint_every == 0:
            self.store.checkpoint(self._step)
        notify(self.on_step, t, scalars, records)  # the callback's own error is raised here, with a note
        self.store.handle_controls(self._step)  # may block (pause) or raise StopTraining
        self._last_end = time.perf_counter()

    def checkpoint(self) -> Path | None:
        """Save model and optimizer now (as the state before step `step_index`)."""
        return self.store.checkpoint(self._step)

    def close(self, status: str = "finished", reason: str | None = None) -> None:
        """Final checkpoint, final status; the run directory is released for other writers."""
        if self._closed:
            return
        self._closed = True
        self.store.close(self._step, status, reason)

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()
        elif issubclass(exc_type, StopTraining):
            self.close("stopped", self.store.stop_reason)
            return True
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close("stopped", f"interrupted at step {self._step}")
        else:
            text = str(exc).strip().splitlines()
            self.close("failed", f"{exc_type.__name__}: {text[0]}" if text else exc_type.__name__)
        return False

    @staticmethod
    def restore(run_dir: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None,
                step: int | None = None) -> int:
        """Load the monitor's checkpoint at or before `step` (newest if None) into model (and optimizer);
        returns its step, to pass as `Monitor(..., resume=that_step)`."""
        from osig_core.monitor.run_dir import load_into
        return load_into(Path(run_dir), model, optimizer, step)

    # ------------------------------------------------------------------ measuring
    def _given(self, losses, ids) -> tuple[np.ndarray, np.ndarray]:
        if losses is None:
            raise ConfigError("step(ids=...) needs the losses of those samples too (losses=...)")
        values = torch.as_tensor(losses).detach().float().reshape(-1).cpu()
        if ids is None:
            if values.numel() != self.data.n:
                raise ConfigError(f"step(losses=...) got {values.numel()} losses for {self.data.n} samples; "
                                  "pass ids=... with a minibatch's losses")
            idx = torch.arange(self.data.n)
        else:
            idx = torch.as_tensor(ids).detach().reshape(-1).cpu().long()
            if idx.numel() != values.numel():
                raise ConfigError(f"step() got {values.numel()} losses but {idx.numel()} ids; they must match")
            if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.data.n):
                raise ConfigError(f"step() ids must be sample indices in [0, {self.data.n}), got {int(idx.max())}")
        order = torch.argsort(idx)
        return idx[order].numpy(), values[order].numpy()

    def _tracked_pass(self) -> PassResult:
        """osig_core/loop/tracked.py: the same pass as `osig run`'s minibatch steps."""
        x, y = self.data.x, self.data.y
        idx = self.recorder.tracked_index(x.device)
        if idx is not None:
            x, y = x[idx], y[idx]
        return tracked_pass(self.model, x, y, loss=self.loss, chunk_size=self.chunk_size)

    def _record(self, t: int, given: tuple[np.ndarray, np.ndarray] | None):
        if given is None:
            res = self._tracked_pass()
            return self.core.record(t, res), res.mean_loss, res.accuracy
        ids, values = given
        saved = self.recorder.tracked
        self.recorder.tracked = None if len(ids) == self.data.n else ids
        try:
            res = PassResult(torch.as_tensor(values), torch.full((len(ids),), -1, dtype=torch.long),
                             torch.zeros(len(ids), dtype=torch.bool))
            rec = self.core.record(t, res)
        finally:
            self.recorder.tracked = saved
        return rec, float(np.mean(values)) if len(values) else math.nan, math.nan

    def _measure(self, t: int, given) -> tuple[dict[str, float], dict[str, Any], Any]:
        scalars: dict[str, float] = {"lr": self.rule.lr(), "threshold": self.rule.threshold()}
        rec = None
        if given is not None or self.recorder.due(t):
            rec, train_loss, train_acc = self._record(t, given)
            scalars.update(train_loss=train_loss, train_acc=train_acc, **rec.scalars)
        train_loss = scalars.get("train_loss", math.nan)
        measured = self.core.measure(t, rec, train_loss, self.core.spike(train_loss))
        scalars.update(measured.scalars)
        return scalars, self.core.records(measured, rec), rec
