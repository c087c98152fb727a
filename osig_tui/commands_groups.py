"""`osig groups` and `osig eval-groups`: the detected opposing pairs, as tables, thumbnails or JSON."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from osig_tui import console as C


THUMB_COLS = 8


def _open(run_path: Path):
    from osig_core import open_run
    return open_run(run_path)


def _side_text(run, side: dict, texts, xs) -> Text:
    classes = ", ".join(f"{k}×{v}" for k, v in sorted(side["classes"].items(), key=lambda kv: -kv[1]))
    t = C.safe(f"{len(side['members'])} samples: {classes}")
    if texts is not None and xs is None:
        from osig_core.instruments.group_render import render_text_group
        for line in render_text_group(side["members"], lambda i: texts[i], limit=6):
            t.append("\n  ")
            t.append_text(C.safe(line))
    if xs is not None:
        from osig_core.instruments.group_render import render_intervals
        t.append("\n  x ∈ ")
        t.append_text(C.safe(" ∪ ".join(render_intervals(side["members"], xs[:, 0]))))
    return t


def groups_command(run: Path = typer.Argument(..., help="Run directory."),
                   step: Optional[int] = typer.Option(None, "--step", help="Pairs active at this step (default: the latest)."),
                   all_: bool = typer.Option(False, "--all", help="Every pair seen during the run."),
                   as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
                   thumbs: int = typer.Option(4, "--thumbs", help="Thumbnails per side when the terminal shows colour (0: none).")) -> None:
    """Print the opposing pairs: id, score, sizes, classes, and thumbnails for image data."""
    r = _open(run)
    last = r.last_step()
    if last is None:
        C.error(f"run '{run}' has not recorded any step yet")
        raise typer.Exit(2)
    if step is not None and not 0 <= step <= last:
        C.error(f"--step {step} is out of range: the run has steps 0 to {last}")
        raise typer.Exit(2)
    pairs = r.pairs_all() if all_ else r.pairs_at(last if step is None else step)
    if as_json:
        keep = ("id", "score", "first_step", "last_step", "period")
        doc = {"pairs": [{**{k: p.get(k) for k in keep},
                          "sides": [{"members": s["members"], "classes": s["classes"]} for s in p["sides"]]}
                         for p in pairs]}
        typer.echo(json.dumps(doc))
        return
    if not pairs:
        C.info(f"no opposing pairs {'in this run' if all_ else f'at step {last if step is None else step}'}")
        return
    images = r.images() if thumbs > 0 and C.out.color_system is not None and C.out.is_terminal else None
    if images is not None:
        import numpy as np  # here, not at the top: `osig --help` loads this module and needs no numpy

        from osig_tui.halfblock import halfblock_text
    texts, xs = r.texts(), r.sample_x()
    t = Table("pair", "score", "period", "steps", "side A", "side B", title=C.safe(f"opposing pairs — {r.run_id}"))
    for p in pairs:
        cells = []
        for side in p["sides"][:2]:
            body = _side_text(r, side, texts, xs)
            if images is not None:
                row = Table.grid(padding=(0, 1))
                shown = side["members"][:thumbs]
                for _ in shown:
                    row.add_column(min_width=THUMB_COLS, max_width=THUMB_COLS, no_wrap=True)
                row.add_row(*[halfblock_text(np.asarray(images[i]), THUMB_COLS) for i in shown])
                cells.append(Group(body, row))
            else:
                cells.append(body)
        t.add_row(str(p["id"]), f"{p['score']:.2f}", C.fmt(p.get("period")), f"{p['first_step']}–{p['last_step']}", *cells)
    C.out.print(t)


def eval_groups_command(run: Path = typer.Argument(..., help="Run directory (synthetic data)."),
                        as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Score detected pairs against the planted features: purity, recall, first step found."""
    from osig_core.instruments.groups_eval import evaluate_groups, snapshots
    r = _open(run)
    features = r.features()
    if not features:
        C.error(f"run '{run}' has no ground truth: only synthetic-style data with planted features can be evaluated")
        raise typer.Exit(2)
    rows = evaluate_groups(snapshots(r.records("pairs")), features, r.n)
    if as_json:
        typer.echo(json.dumps({"features": [{k: row.get(k) for k in ("feature", "purity", "recall", "first_step", "pair_id")}
                                            for row in rows]}))
        return
    t = Table("feature", "carriers", "best pair", "purity", "recall", "first step", title=C.safe(f"planted features — {r.run_id}"))
    for row in rows:
        t.add_row(C.safe(row["feature"]), str(int(features[row["feature"]].sum())), C.fmt(row.get("pair_id")),
                  C.fmt(row.get("purity"), 3), C.fmt(row.get("recall"), 3), C.fmt(row.get("first_step")))
    C.out.print(t)


def register(app: typer.Typer) -> None:
    app.command("groups")(groups_command)
    app.command("eval-groups")(eval_groups_command)
