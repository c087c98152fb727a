"""`osig presets`, `osig report RUN`, `osig reproduce`: the paper's experiments and their claim checks.

    osig presets                          one line per preset (runs, scales)
    osig run --preset fig1-gd             run one (flags still override; NAME/MEMBER:SCALE also works)
    osig report RUN [--out DIR]           figures + report.md (default RUN/report/), checks printed here
    osig reproduce [--quick] [--jobs J]   every preset's runs in parallel, resumable, then one table
    osig reproduce --data fashion-mnist   the same for the real-image presets (cifar10: with --data-dir, a GPU)
    osig reproduce --quick --robust       each preset at 1 and 2 threads, two seeds: which claims hold in all four
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from osig_tui import console as C

VERDICT_STYLE = {"pass": "green", "FAIL": "bold red", "n/a": "yellow", "not enough events": "yellow"}


def _verdict(v: str) -> Text:
    return Text(v, style=VERDICT_STYLE.get(v, ""))


def print_presets() -> None:
    """List the presets: the paper's experiments, one line each."""
    from osig_core.presets.gpu_estimate import describe, gpu_seconds
    from osig_core.presets.paper import PRESET_LIST
    t = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    t.add_column("preset", style="bold", no_wrap=True, min_width=max(len(p.name) for p in PRESET_LIST))
    t.add_column("data", no_wrap=True)
    t.add_column("what it reproduces", overflow="fold")
    for p in PRESET_LIST:
        runs = f" [{len(p.members)} runs]" if p.multi else ""
        gpu = [gpu_seconds(p.config(m.name)) for m in p.members] if p.suite == "cifar10" else []
        when = f" GPU time {describe(sum(gpu))} (estimated from FLOPs)" if gpu and None not in gpu else ""
        t.add_row(C.safe(p.name), C.safe(p.suite), C.safe(f"{p.figure}: {p.description}{runs}{when}"))
    C.out.print(t)
    C.info("osig run --preset NAME[/RUN][:tiny|quick|full] runs one; osig reproduce [--data fashion-mnist|cifar10] "
           "runs a data set's presets")


def print_checks(rows: list[tuple[str, str, str, str, str]], title: str, with_preset: bool) -> None:
    t = Table(title=C.safe(title), show_lines=False)
    if with_preset:
        t.add_column("preset", style="bold", no_wrap=True)
    t.add_column("claim")
    t.add_column("observed")
    t.add_column("decided on")
    t.add_column("result")
    for preset, claim, observed, decided, verdict in rows:
        cells = [C.safe(claim), C.safe(observed), C.safe(decided), _verdict(verdict)]
        t.add_row(*([C.safe(preset)] if with_preset else []), *cells)
    C.out.print(t)


def report_command(run: Path = typer.Argument(..., help="Run directory, or a folder of a multi-run preset's runs."),
                   out: Optional[Path] = typer.Option(None, "--out", help="Report folder (default RUN/report/).")) -> None:
    """Check the paper's claim for a run's preset and write figures + report.md."""
    from osig_core.report import build_report
    rep = build_report(run, out)
    folder = out if out is not None else run / "report"
    rows = [(rep.preset or "", c.claim, c.observed, c.decided_on, c.verdict) for c in rep.checks]
    if rows:
        print_checks(rows, rep.title, with_preset=False)
    else:
        C.info("no claim checks for this run (it has no preset); figures only")
    for note in rep.notes:
        C.info(f"note: {note}")
    C.info(f"wrote {folder / 'report.md'} and {len(rep.figures)} figure(s)")
    if rows and not rep.passed:
        raise typer.Exit(1)


def reproduce_command(
    quick: bool = typer.Option(False, "--quick", help="Small sizes: about 15 minutes on 2 CPU cores."),
    full: bool = typer.Option(False, "--full", help="The paper's scale (GPU)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Runs in parallel (default: CPU cores)."),
    root: Optional[Path] = typer.Option(None, "--root", help="Where the runs go (default runs/reproduce[-quick|-full])."),
    only: Optional[list[str]] = typer.Option(None, "--only", help="Only this preset (repeatable)."),
    force: bool = typer.Option(False, "--force", help="Re-run members that already exist."),
    scale: Optional[str] = typer.Option(None, "--scale", hidden=True, help="tiny | quick | default | full."),
    data: str = typer.Option("synthetic", "--data", help="Which presets: synthetic (built-in data), fashion-mnist or "
                             "cifar10 (real images; cifar10 at the paper's size, for a GPU)."),
    real: bool = typer.Option(False, "--real", help="The real-image presets on Fashion-MNIST (same as --data fashion-mnist)."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Where the real data lives (cifar10: the folder "
                                           "holding cifar-10-batches-bin)."),
    robust: bool = typer.Option(False, "--robust", help="Each preset at 1 and 2 CPU threads and two seeds (four "
                                "times the work): one table of which claims hold in all four, with each figure's spread."),
) -> None:
    """Run every preset (resumably, in parallel), report each, and print one table of claim checks."""
    import os
    import time

    from osig_core.config.run_config import ConfigError
    from osig_core.report.reproduce import reproduce, summary_rows
    if quick and full:
        raise ConfigError("choose --quick or --full, not both")
    chosen = scale or ("quick" if quick else "full" if full else "default")
    if real and data not in ("synthetic", "fashion-mnist"):
        raise ConfigError(f"--real means --data fashion-mnist; it cannot be combined with --data {data}")
    suite = "fashion-mnist" if real else data
    from osig_core.presets.availability import require_suite_data
    require_suite_data(suite, data_dir)
    name = "reproduce" if chosen == "default" else f"reproduce-{chosen}"
    folder = root or Path("runs") / (name if suite == "synthetic" else f"{name}-{suite}")
    parallel = jobs or os.cpu_count() or 1
    if parallel < 1:
        raise ConfigError(f"--jobs must be at least 1, got {parallel}")

    def event(kind: str, job) -> None:
        if kind == "start":
            C.info(f"start  {job.label} ({'resume' if job.action == 'resume' else job.spec})")
        elif kind == "skip":
            C.info(f"done   {job.label} (already finished)")
        elif kind == "done":
            C.info(f"done   {job.label} in {job.seconds:.0f} s")
        else:
            C.error(f"{job.label} failed after {job.seconds:.0f} s: {job.message} (log: {job.log})")

    if robust:
        _reproduce_robust(folder / "robust", chosen, parallel, only, force, event, suite, data_dir)
        return
    C.info(f"reproducing the {suite} presets at the '{chosen}' scale into {folder} with {parallel} parallel run(s)")
    started = time.monotonic()
    outcome = reproduce(folder, chosen, parallel, only, force, on_event=event, suite=suite, data_dir=data_dir)
    rows = summary_rows(outcome)
    print_checks(rows, f"osig reproduce ({chosen})", with_preset=True)
    C.info(f"reports under {folder}/<preset>/report/, summary in {folder / 'summary.md'} "
           f"({time.monotonic() - started:.0f} s in all)")
    if any(v != "pass" for *_, v in rows):
        raise typer.Exit(1)


def _reproduce_robust(folder: Path, chosen: str, cores: int, only, force: bool, event, suite: str, data_dir) -> None:
    """`--robust`: the variants one after another, then which claims hold in all of them."""
    import time

    from osig_core.report.robust import VARIANTS, reproduce_robust
    C.info(f"reproducing the {suite} presets at the '{chosen}' scale {len(VARIANTS)} times into {folder} "
           f"({', '.join(v.label for v in VARIANTS)}), {cores} core(s)")
    started = time.monotonic()
    outcome = reproduce_robust(folder, chosen, cores, only, force, on_event=event, suite=suite, data_dir=data_dir)
    t = Table(title=f"osig reproduce --robust ({chosen})")
    for col in ("preset", "claim", "figure (min … max)", "outcome"):
        t.add_column(col, no_wrap=col == "preset")
    for r in outcome.rows:
        t.add_row(C.safe(r.preset), C.safe(r.claim), C.safe(r.spread),
                  Text(r.outcome, style="green" if r.holds_everywhere else "bold red"))
    C.out.print(t)
    held = sum(r.holds_everywhere for r in outcome.rows)
    C.info(f"{held} of {len(outcome.rows)} claims hold in all {len(VARIANTS)}; each variant's verdicts in "
           f"{folder / 'robust.md'} ({time.monotonic() - started:.0f} s in all)")
    if not outcome.all_hold:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("presets")(print_presets)
    app.command("report")(report_command)
    app.command("reproduce")(reproduce_command)
