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



def _colors() -> str:
    """24-bit pictures where the console draws them, else the nearest xterm colours (osig_tui/xterm256.py)."""
    return "truecolor" if C.out.color_system == "truecolor" else "256"

def _open(run_path: Path):
    from osig_core import open_run
    return open_run(run_path)


def _side_text(run, side: dict, texts, xs) -> Text:
    classes = ", ".join(f"{k}×{v}" for k, v in sorted(side["classes"].items(), key=lambda kv: -kv[1]))
    t = C.safe(f"{len(side['members'])} samples: {classes}")
    if texts is not None and xs is None:
        from osig_core.groups.render import render_text_group
        for line in render_text_group(side["members"], lambda i: texts[i], limit=6):
            t.append("\n  ")
            t.append_text(C.safe(line))
    if xs is not None:
        from osig_core.groups.render import render_intervals
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
    summaries = _summaries(r, pairs, None if all_ else (last if step is None else step))
    if as_json:
        keep = ("id", "score", "first_step", "last_step", "period")
        doc = {"pairs": [{**{k: p.get(k) for k in keep},
                          "sides": [{"members": s["members"], "classes": s["classes"],
                                     **({} if summ is None else _side_json(summ.sides[k]))}
                                    for k, s in enumerate(p["sides"])],
                          **({} if summ is None else {"mean_image_diff_max": round(summ.diff_max, 4)})}
                         for p, summ in zip(pairs, summaries)]}
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
    means = images is not None and any(s is not None for s in summaries)
    if any(s is not None for s in summaries):
        from osig_core.groups.pair_summary import describe_side
    t = Table("pair", "score", "period", "steps", "side A", "side B", title=C.safe(f"opposing pairs — {r.run_id}"))
    if means:
        t.add_column("A − B")
    for p, summ in zip(pairs, summaries):
        cells = []
        for k, side in enumerate(p["sides"][:2]):
            body = _side_text(r, side, texts, xs)
            if summ is not None:
                for line in describe_side(summ.sides[k])[1:]:  # the classes are in the first line already
                    body.append("\n  ")
                    body.append_text(C.safe(line))
            if images is not None:
                row = Table.grid(padding=(0, 1))
                shown = side["members"][:thumbs]
                pics = [halfblock_text(np.asarray(images[i]), THUMB_COLS, _colors()) for i in shown]
                if summ is not None and summ.sides[k].mean_image is not None:
                    pics.append(Text("mean\n", style="bold") + halfblock_text(summ.sides[k].mean_image, THUMB_COLS, _colors()))
                for _ in pics:
                    row.add_column(min_width=THUMB_COLS, max_width=THUMB_COLS, no_wrap=True)
                row.add_row(*pics)
                cells.append(Group(body, row))
            else:
                cells.append(body)
        if means:
            cells.append(_diff_cell(summ, halfblock_text))
        t.add_row(str(p["id"]), f"{p['score']:.2f}", C.fmt(p.get("period")), f"{p['first_step']}–{p['last_step']}", *cells)
    C.out.print(t)


def _summaries(r, pairs: list[dict], step: int | None) -> list:
    """What each pair's sides share beyond the label (image runs only; None elsewhere): predictions over
    `step` (each pair's last step with --all) and mean images."""
    if r.images() is None:
        return [None] * len(pairs)
    from osig_core.groups.pair_summary import summarize_stored_pair
    return [summarize_stored_pair(r, p, step if step is not None else int(p.get("last_step") or 0)) for p in pairs]


def _side_json(s) -> dict:
    return {"predicted": [[b, a, c] for b, a, c in s.transitions], "changed": s.changed,
            "right_before": s.correct_before, "right_after": s.correct_after,
            "mean_brightness": None if s.brightness is None else round(s.brightness, 4)}


def _diff_cell(summ, halfblock_text) -> Text:
    """The pixel-wise difference of the two sides' mean images, drawn like the members."""
    if summ is None or summ.diff_image is None:
        return Text("")
    t = Text()
    t.append("A", style="#ff8700")
    t.append("/")
    t.append("B", style="#00afff")
    t.append(" brighter\n")
    t.append_text(halfblock_text(summ.diff_image, THUMB_COLS, _colors()))
    t.append(f"\nfull = {summ.diff_max:.2f}", style="dim")
    return t


def eval_groups_command(run: Path = typer.Argument(..., help="Run directory (synthetic data)."),
                        as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Score detected pairs against the planted features: purity, recall, first step found."""
    from osig_core.groups.evaluate import evaluate_groups, snapshots
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
