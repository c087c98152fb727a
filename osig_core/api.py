"""The Python API: `osig.open_run(dir)` gives a Run that reads the store and can rebuild the model."""
from __future__ import annotations

from pathlib import Path

from osig_core.store.reader import RunReader


class Run(RunReader):
    """A run directory opened for reading (also while a writer runs).

    Beyond the store reader: `model(step)` rebuilds the trained network from a checkpoint and
    `train_data()` the training tensors exactly as the engine used them (sample-id order)."""

    def model(self, step: int | None = None, model=None):
        """An nn.Module with the weights of the checkpoint at or before `step` (latest if None).

        A run recorded by osig.Monitor holds the user's own network, which osig cannot build: pass
        `model` (an instance to load the weights into, or a class / zero-argument factory)."""
        from osig_core.store.checkpoint import load_weights, newest_at_or_before
        from osig_core.config.run_config import ConfigError
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
            raise ConfigError(f"step must be a non-negative integer or None (the latest checkpoint), got {str(step)[:40]!r}")
        _, path = newest_at_or_before(self.dir, self.checkpoints(), step)
        if model is not None or self.config_doc.get("source") == "monitor":
            net = self._users_model(model)
        else:
            from osig_core.components.build import build_data, build_model
            net = build_model(self.config, build_data(self.config))
        load_weights(path, net, what="this run's model")
        return net

    def _users_model(self, model):
        import torch
        from osig_core.store.layout import RunStoreError
        if model is None:
            cls = self.config_doc.get("monitor", {}).get("model_class", "the model class")
            raise RunStoreError(f"'{self.dir}' holds your own network ({cls}), which osig cannot build; "
                                "pass one to load the weights into: run.model(step, model=YourNet())")
        net = model if isinstance(model, torch.nn.Module) else model()
        if not isinstance(net, torch.nn.Module):
            raise RunStoreError(f"run.model(model=...) must be an nn.Module or make one, got {type(net).__name__}")
        return net

    def _own_data(self) -> None:
        from osig_core.store.layout import RunStoreError
        if self.config_doc.get("source") == "monitor":
            raise RunStoreError(f"'{self.dir}' was recorded by osig.Monitor from your own data, which the run "
                                "does not keep; its labels are in samples/labels.npy")

    def train_data(self):
        """(x, y) tensors of the training set in sample-id order."""
        self._own_data()
        from osig_core.components.build import build_data
        d = build_data(self.config)
        return d.x, d.y

    def dataset(self):
        """The whole training Dataset (tensors, class names, planted features, meta) as the engine built it."""
        self._own_data()
        from osig_core.components.build import build_data
        return build_data(self.config)


def open_run(run_dir: str | Path) -> Run:
    return Run(run_dir)
