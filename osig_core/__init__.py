"""osig core engine: training, instruments and the run directory. No UI imports here.

    import osig_core as osig
    run = osig.train(osig.RunConfig(model="mlp", steps=100), "runs/demo")
    run.metrics()["train_loss"], run.losses()  # [T, N] float16 memmap
"""
from osig_core.api import Run, open_run
from osig_core.config import ConfigError, RunConfig
from osig_core.store.layout import FORMAT_VERSION, RunStoreError

__version__ = "0.1.0"


def train(cfg: RunConfig, run_dir=None, *, force: bool = False, progress=None) -> Run:
    """Train a fresh run (see osig_core.runs.train)."""
    from osig_core.runs import train as _train
    return _train(cfg, run_dir, force=force, progress=progress)


def resume(run_dir, steps: int | None = None, progress=None) -> Run:
    from osig_core.runs import resume as _resume
    return _resume(run_dir, steps, progress)


__all__ = ["RunConfig", "ConfigError", "RunStoreError", "Run", "open_run", "train", "resume", "FORMAT_VERSION", "__version__"]
