"""`osig ls`: a table of the runs under a folder."""
from __future__ import annotations

from pathlib import Path

from rich.table import Table

from osig_tui.console import error, fmt, last_finite, out, safe


def find_runs(root: Path) -> list[Path]:
    if (root / "config.json").is_file():
        return [root]
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if (p / "config.json").is_file()), key=lambda p: p.stat().st_mtime)


def print_run_list(root: Path) -> None:
    from osig_core import open_run
    from osig_core.store.layout import RunStoreError
    runs = find_runs(root)
    if not runs:
        out.print(safe(f"no runs in {root}"))
        return
    t = Table("id", "model", "optim", "lr", "steps", "status", "last loss")
    for p in runs:
        try:
            r = open_run(p)
            m = r.metrics()
            status, _ = r.status()
            t.add_row(safe(p.name), safe(r.config.model), safe(r.config.optim), fmt(r.config.lr),
                      f"{r.steps_done()}/{r.config.steps}", safe(status), fmt(last_finite(m.get("train_loss", []))))
            r.close()
        except RunStoreError as e:
            t.add_row(safe(p.name), "", "", "", "", "unreadable", safe(str(e)[:40]))
    out.print(t)
