"""The Python API: `osig.open_run(dir)` gives a Run that reads the store and can rebuild the model."""
from __future__ import annotations

from pathlib import Path

from osig_core.store.reader import RunReader


class Run(RunReader):
    """A run directory opened for reading (also while a writer runs).

    Beyond the store reader: `model(step)` rebuilds the trained network from a checkpoint and
    `train_data()` the training tensors exactly as the engine used them (sample-id order)."""

    def model(self, step: int | None = None):
        """An nn.Module with the weights of the checkpoint at or before `step` (latest if None)."""
        from osig_core.setup import build_data, build_model
        from osig_core.store.checkpoint import load_checkpoint
        from osig_core.store.layout import RunStoreError
        ckpts = self.checkpoints()
        chosen = [c for c in ckpts if step is None or c[0] <= step]
        if not chosen:
            raise RunStoreError(f"'{self.dir}' has no checkpoint at or before step {step}")
        state = load_checkpoint(chosen[-1][1])
        net = build_model(self.config, build_data(self.config))
        try:
            net.load_state_dict(state["model"])
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise RunStoreError(f"checkpoint '{chosen[-1][1]}' does not fit this run's model ({first[:160]})") from None
        return net

    def train_data(self):
        """(x, y) tensors of the training set in sample-id order."""
        from osig_core.setup import build_data
        d = build_data(self.config)
        return d.x, d.y

    def dataset(self):
        """The whole training Dataset (tensors, class names, planted features, meta) as the engine built it."""
        from osig_core.setup import build_data
        return build_data(self.config)


def open_run(run_dir: str | Path) -> Run:
    return Run(run_dir)
