"""Starting and continuing runs: the public `train` / `resume` entry points around the Engine.

They own the run-directory rules (never overwrite a run unless forced, never a live one) and make
sure a failed start releases the writer lock.
"""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from osig_core.config.run_config import ConfigError, RunConfig
from osig_core.engine.training import Engine, Progress, _start
from osig_core.store import layout as L
from osig_core.store.reader import RunReader
from osig_core.store.run_dirs import default_run_dir, prepare_run_dir


def _why(e: BaseException, run_dir: Path) -> str:
    if isinstance(e, OSError):
        return (e.strerror or str(e) or type(e).__name__) + (f" ('{e.filename}')" if e.filename else "")
    return f"{str(e).strip() or type(e).__name__} ('{run_dir / L.DB_FILE}')"


def train(cfg: RunConfig, run_dir: str | Path | None = None, *, force: bool = False,
          progress: Progress | None = None):
    """Train a fresh run into run_dir (default runs/<timestamp>-<model>-<optim>) and return it opened."""
    from osig_core.api import Run
    cfg.validate()
    path = Path(run_dir) if run_dir is not None else default_run_dir(cfg)
    if os.environ.get("RANK", "0") == "0":  # other ranks of a distributed run write nothing
        prepare_run_dir(path, force)
    engine = Engine(cfg, path, progress)
    try:
        _start(engine, engine.start_fresh)
    except (OSError, sqlite3.Error) as e:  # e.g. a full disk while creating the run's files
        raise L.RunStoreError(f"could not create the run in '{path}': {_why(e, path)}; free space (or fix the "
                              f"directory) and start it again with --force") from None
    engine.run()
    return Run(path) if engine.is_writer else None


def resume(run_dir: str | Path, steps: int | None = None, progress: Progress | None = None):
    """Continue a run from its newest checkpoint, to `steps` total (default: the original total)."""
    from osig_core.api import Run
    path = Path(run_dir)
    reader = RunReader(path)
    cfg = reader.config
    own = reader.config_doc.get("source") == "monitor"
    reader.close()
    if own:
        raise ConfigError(f"'{path}' was recorded by osig.Monitor from your own training loop; continue it "
                          "from that loop with osig.Monitor(..., resume=True)")
    if steps is not None:
        if steps <= 0:
            raise ConfigError(f"--steps must be positive, got {steps}")
        cfg = cfg.replace(steps=steps)
    cfg.validate()
    engine = Engine(cfg, path, progress)
    try:
        _start(engine, engine.start_resume)
    except (OSError, sqlite3.Error) as e:  # the rollback is one transaction: a failure leaves the run as it was
        raise L.RunStoreError(f"could not continue the run in '{path}': {_why(e, path)}; it is unchanged: free "
                              f"space (or fix the directory) and resume it again") from None
    if steps is not None:
        engine.writer.set_meta(total_steps=steps)
        doc = json.loads((path / L.CONFIG_FILE).read_text())
        doc["config"]["steps"] = steps
        tmp = path / (L.CONFIG_FILE + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2, sort_keys=True))
        os.replace(tmp, path / L.CONFIG_FILE)
    engine.run()
    return Run(path) if engine.is_writer else None
