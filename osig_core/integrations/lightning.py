"""OsigCallback: osig.Monitor inside a Lightning Trainer (`pip install "osig[lightning]"`).

    from osig_core.integrations.lightning import OsigCallback
    trainer = L.Trainer(max_epochs=3, callbacks=[OsigCallback("runs/lit", data=(x, y))])
    trainer.fit(module, loader)

The monitor attaches when training starts (to the LightningModule and the trainer's first
optimizer) and records one step per optimizer step (`trainer.global_step` advancing, so gradient
accumulation counts once). The module's `forward(x)` must return the outputs `loss` takes.
`osig watch`'s stop ends the fit cleanly (`trainer.should_stop`); pause blocks the training step.
"""
from __future__ import annotations

from typing import Any

try:
    import lightning.pytorch as pl
except ImportError:  # pragma: no cover - the older package name
    try:
        import pytorch_lightning as pl
    except ImportError:
        from osig_core.config.run_config import ConfigError
        raise ConfigError('the Lightning integration needs Lightning: pip install "osig[lightning]"') from None

from osig_core.monitor.driver import Monitor, StopTraining


class OsigCallback(pl.Callback):
    """Record a Lightning fit into an osig run directory; the arguments are osig.Monitor's
    (run_dir, data, loss, classes, sharpness_every, on_step, ...) without model and optimizer."""

    def __init__(self, run_dir, data: Any, **monitor_kwargs: Any):
        super().__init__()
        self.run_dir, self.data, self.kwargs = run_dir, data, monitor_kwargs
        self.monitor: Monitor | None = None
        self._seen_step = -1

    def on_train_start(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero:
            return
        kwargs = dict(self.kwargs)
        if trainer.max_steps and trainer.max_steps > 0:
            kwargs.setdefault("steps", int(trainer.max_steps))
        self.monitor = Monitor(self.run_dir, pl_module, trainer.optimizers[0], self.data, **kwargs)
        self._seen_step = trainer.global_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.monitor is None or trainer.global_step == self._seen_step:
            return  # an accumulation micro-batch: no optimizer step yet
        self._seen_step = trainer.global_step
        try:
            self.monitor.step()
        except StopTraining:
            trainer.should_stop = True
            self._close("stopped", self.monitor.store.stop_reason)

    def on_train_end(self, trainer, pl_module) -> None:
        self._close("finished", None)

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        text = str(exception).strip().splitlines()
        if isinstance(exception, KeyboardInterrupt):
            self._close("stopped", "interrupted")
        else:
            self._close("failed", f"{type(exception).__name__}: {text[0]}" if text else type(exception).__name__)

    def _close(self, status: str, reason: str | None) -> None:
        if self.monitor is not None:
            self.monitor.close(status, reason)
