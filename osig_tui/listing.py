"""`osig ls`: a table of the runs under a folder.

Run ids are what every other command takes, so they are never cut: on a narrow terminal the less
important columns go first (lr, optimizer, model, last loss, steps), and an id wider than the whole
terminal wraps rather than ending in '…'. `--plain` prints one id per line, for scripts."""
from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from osig_tui.console import fmt, last_finite, out, safe

COLUMNS = ("id", "model", "optim", "lr", "steps", "status", "last loss")
DROP_ORDER = ("lr", "optim", "model", "last loss", "steps")  # first dropped first; id and status stay


def find_runs(root: Path) -> list[Path]:
    if (root / "config.json").is_file():
        return [root]
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if (p / "config.json").is_file()), key=lambda p: p.stat().st_mtime)


def run_rows(runs: list[Path]) -> list[dict[str, Text]]:
    """One row (column name -> cell) a run; a run that cannot be read says why."""
    from osig_core import open_run
    from osig_core.store.layout import RunStoreError
    rows = []
    for p in runs:
        try:
            r = open_run(p)
            try:
                m = r.metrics()
                status, _ = r.status()
                rows.append({"id": safe(p.name), "model": safe(r.config.model), "optim": safe(r.config.optim),
                             "lr": Text(fmt(r.config.lr)), "steps": Text(f"{r.steps_done()}/{r.config.steps}"),
                             "status": safe(status), "last loss": Text(fmt(last_finite(m.get("train_loss", []))))})
            finally:
                r.close()
        except RunStoreError as e:
            rows.append({"id": safe(p.name), "status": Text("unreadable"), "last loss": safe(str(e)[:40])})
    return rows


def _width(rows: list[dict[str, Text]], name: str) -> int:
    return max([len(name)] + [r.get(name, Text()).cell_len for r in rows])


def fit_columns(rows: list[dict[str, Text]], width: int) -> list[str]:
    """The columns that fit `width` cells with every id whole (a boxed table: 3 cells a column + 1)."""
    cols = list(COLUMNS)
    for name in DROP_ORDER:
        if 1 + sum(3 + _width(rows, c) for c in cols) <= width:
            break
        cols.remove(name)
    return cols


def run_table(rows: list[dict[str, Text]], width: int) -> Table:
    cols = fit_columns(rows, width)
    others = sum(3 + _width(rows, c) for c in cols if c != "id")
    t = Table()
    for c in cols:
        if c == "id":  # wraps (never '…') only when it cannot fit whole
            t.add_column(c, overflow="fold", min_width=max(8, min(_width(rows, "id"), width - others - 4)))
        else:
            t.add_column(c, no_wrap=True, min_width=_width(rows, c))
    for r in rows:
        t.add_row(*(r.get(c, Text("")) for c in cols))
    return t


def print_run_list(root: Path, plain: bool = False) -> None:
    runs = find_runs(root)
    if plain:
        for p in runs:
            print(safe(p.name).plain)
        return
    if not runs:
        out.print(safe(f"no runs in {root}"))
        return
    out.print(run_table(run_rows(runs), out.width))
