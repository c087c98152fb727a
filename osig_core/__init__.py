"""osig core engine: training, instruments and the run directory. No UI imports here.

    import osig_core as osig
    run = osig.train(osig.RunConfig(model="mlp", steps=100), "runs/demo")
    run.metrics()["train_loss"], run.losses()  # [T, N] float16 memmap
"""
from __future__ import annotations

from osig_core._version import __version__
from osig_core.config.run_config import ConfigError, RunConfig
from osig_core.store.layout import FORMAT_VERSION, RunStoreError

# Loaded on first use, so `import osig_core` costs neither numpy nor torch: the read-only commands
# (`osig --help`, `ls`, `show`, ...) start at once. name -> module that defines it.
_LAZY = {"Run": "osig_core.api", "open_run": "osig_core.api", "Monitor": "osig_core.monitor.driver",
         "StopTraining": "osig_core.monitor.driver", "integrations": "osig_core.integrations"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(_LAZY[name])
        value = module if _LAZY[name] == f"osig_core.{name}" else getattr(module, name)  # a subpackage itself
        globals()[name] = value
        return value
    raise AttributeError(f"module 'osig_core' has no attribute {name!r}")


def train(cfg: RunConfig, run_dir=None, *, force: bool = False, progress=None) -> Run:
    """Train a fresh run (see osig_core.engine.runs.train)."""
    from osig_core.engine.runs import train as _train
    return _train(cfg, run_dir, force=force, progress=progress)


def resume(run_dir, steps: int | None = None, progress=None) -> Run:
    from osig_core.engine.runs import resume as _resume
    return _resume(run_dir, steps, progress)


__all__ = ["RunConfig", "ConfigError", "RunStoreError", "Run", "open_run", "train", "resume", "Monitor", "StopTraining",
           "FORMAT_VERSION", "__version__"]
