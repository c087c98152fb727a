"""Where a new run goes and the rule for reusing a directory: never overwrite a run unless forced,
never a live one (the engine, osig.Monitor and `--nproc` launches share this rule)."""
from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from osig_core.errors import ConfigError
from osig_core.store import layout as L
from osig_core.store.writer import RunWriter

if TYPE_CHECKING:
    from osig_core.config.run_config import RunConfig


def default_run_dir(cfg: RunConfig, root: str | Path = "runs") -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{stamp}-{cfg.model}-{cfg.optim}"


def prepare_run_dir(run_dir: Path, force: bool) -> None:
    """Refuse to overwrite a run unless forced; a forced overwrite still refuses a live run."""
    if (run_dir / L.CONFIG_FILE).exists() or (run_dir / L.DB_FILE).exists():
        if not force:
            raise ConfigError(f"'{run_dir}' already holds a run; use --resume to continue it or --force to replace it")
        probe = RunWriter(run_dir, 0)
        probe.acquire_lock()  # raises if a live writer holds it
        probe.close()
        shutil.rmtree(run_dir)
    elif run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"'{run_dir}' exists and is not a directory")
