"""`osig run --resume RUN` rebuilds the model, data and optimizer from the names in RUN's config.json,
and a `pkg.module:factory` name or an installed entry point there means importing and running that
code. Fine for your own runs; for a run directory from elsewhere, this says which code first."""
from __future__ import annotations

import json
from pathlib import Path

from osig_core.components.catalog import outside_code
from osig_core.config.run_config import ConfigError, RunConfig
from osig_core.store.layout import CONFIG_FILE
from osig_tui import console as C


def outside_code_of(run_dir: Path) -> list[str]:
    """The lines osig_core.components.catalog.outside_code gives for the run's names; none where config.json
    cannot be read (the resume itself then says why) or the run is an osig.Monitor run (not resumable here)."""
    try:
        doc = json.loads((Path(run_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
        cfg = RunConfig.from_dict(doc["config"], source=CONFIG_FILE)
    except (OSError, ValueError, TypeError, KeyError, RecursionError, ConfigError):
        return []
    if doc.get("source") == "monitor":
        return []
    return outside_code(cfg.model, cfg.data, cfg.optim)


def announce_outside_code(run_dir: Path) -> None:
    """One line on stderr per name that imports code from outside osig and torch, before it is imported."""
    for line in outside_code_of(run_dir):
        C.err.print(C.safe(f"osig: {Path(run_dir) / CONFIG_FILE} runs code from outside osig: {line}"), soft_wrap=True)
