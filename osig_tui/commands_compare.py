"""`osig compare RUN|SWEEP ...`: one row per run, the settings that differ first; --json; --png FILE.

The numbers come from osig_core/sweeps/compare.py (numpy, the store reader; never torch), so the
command answers at once even on many finished runs.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import typer

from osig_tui import console as C


def _num(v: float | None, digits: int = 4) -> str:
    return C.fmt(v, digits)


def _wall(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "-"
    return f"{s:.1f} s" if s < 120 else f"{int(s) // 60} min {int(s) % 60:02d} s"


def print_table(summaries, keys: list[str]) -> None:
    """Each differing setting in its own column when they fit, else under the run's id in the first."""
    from rich import box
    from rich.table import Table
    from rich.text import Text
    from osig_core.sweeps.compare import _short
    split = len(keys) <= 3 and C.out.width >= 110 + 10 * len(keys)
    t = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, padding=(0, 1))
    t.add_column("run" if split or not keys else "run / settings that differ", overflow="fold", min_width=16)
    for k in keys if split else []:
        t.add_column(k.replace("_", "-"), no_wrap=True)
    for col in ("steps", "loss", "acc", "edge", "λ/thr", "up", "strongest pair", "wall"):
        t.add_column(col, justify="left" if col in ("steps", "strongest pair") else "right",
                     no_wrap=col not in ("strongest pair", "steps"), overflow="fold")
    for s in summaries:
        steps = str(s.steps_done) if s.status == "finished" else f"{s.steps_done}/{s.total_steps} {s.status}"
        run = C.safe(s.run_id)
        if keys and not split:
            run.append_text(Text("\n") + Text(C.safe(" ".join(f"{k.replace('_', '-')}={_short(s.settings.get(k))}"
                                                                for k in keys)).plain, style="dim"))
        pair = "-" if s.top_pair is None else f"{s.top_pair} ({_num(s.top_pair_score, 2)})"
        t.add_row(run, *(C.safe(_short(s.settings.get(k))) for k in (keys if split else [])), C.safe(steps),
                  _num(s.final_loss, 3), _num(s.final_acc, 3), "-" if s.edge_step is None else str(s.edge_step),
                  _num(s.edge_ratio, 3), _num(s.frac_up, 2), C.safe(pair), _wall(s.wall_s))
    C.out.print(t)
    C.out.print(C.safe("edge: first step whose sharpness λ reached its stability threshold (2/η for GD); λ/thr: "
                       "its median from then on; up: mean share of samples whose loss rose per step; strongest "
                       "pair (its score); wall: active time."), style="dim")


def draw_png(summaries, keys: list[str], out: Path) -> None:
    """Sharpness / threshold (every run's edge at 1) and train loss, one colour per run."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from osig_core.sweeps.compare import label
    colours = plt.get_cmap("tab10" if len(summaries) <= 10 else "tab20")
    names = [label(s, keys) for s in summaries]
    longest = max(map(len, names), default=1)
    ncol = min(len(names), 1 if longest > 60 else 2 if longest > 36 else 3 if longest > 22 else 5) or 1
    rows = math.ceil(len(names) / ncol)
    height = 4.0 + 0.22 * rows
    fig, (ax_s, ax_l) = plt.subplots(1, 2, figsize=(11, height))
    for i, (s, name) in enumerate(zip(summaries, names)):
        c = colours(i % colours.N)
        if s.sharp_steps.size:
            ax_s.plot(s.sharp_steps, s.sharp_norm, ".-", ms=2, lw=1, color=c, label=name)
        if s.loss_steps.size:
            ax_l.plot(s.loss_steps, s.train_loss, lw=1, color=c, label=name)
    ax_s.axhline(1.0, ls="--", color="k", lw=1)
    ax_s.set(xlabel="step", ylabel="sharpness / threshold  (λ·η/2 for GD)", title="sharpness, each run's edge at 1")
    ax_l.set(xlabel="step", ylabel="train loss", title="train loss")
    if any(s.train_loss.size and (s.train_loss > 0).all() for s in summaries):
        ax_l.set_yscale("log")
    for ax in (ax_s, ax_l):
        ax.grid(alpha=0.3)
    if not any(s.sharp_steps.size for s in summaries):
        ax_s.text(0.5, 0.5, "no sharpness recorded\n(osig run --sharpness-every K)", ha="center", va="center",
                  transform=ax_s.transAxes, color="0.4")
    handles = [plt.Line2D([], [], color=colours(i % colours.N), lw=2) for i in range(len(names))]
    fig.legend(handles, names, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, (0.22 * rows + 0.15) / height, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def compare_command(runs: list[Path] = typer.Argument(..., help="Run directories and sweep directories."),
                    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
                    png: Optional[Path] = typer.Option(None, "--png", metavar="FILE", help="Also draw sharpness / threshold and the train losses into FILE (PNG).")) -> None:
    """Compare runs side by side: what differs, final loss and accuracy, when the sharpness reached its
    threshold and where it stayed, the rising fraction, the strongest pair, wall time."""
    from osig_core.sweeps.compare import differing_settings, summarize_runs
    if png is not None and png.suffix.lower() != ".png":
        C.error(f"'{png}' must end in .png")
        raise typer.Exit(2)
    summaries = summarize_runs(runs)
    keys = differing_settings(summaries)
    if as_json:
        typer.echo(json.dumps({"differing": keys, "runs": [s.to_json() for s in summaries]}, default=str))
    else:
        print_table(summaries, keys)
    if png is not None:
        draw_png(summaries, keys, png)
        if not as_json:
            C.info(f"wrote {png}")


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
