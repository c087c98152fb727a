"""The `osig` command line (Typer). Every user-facing error is one sentence on stderr, exit 2."""
from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperCommand

from osig_tui import console as C
from osig_tui.config_flags import RUN_PARAMETERS, build_config, with_config_flags
from osig_tui.help_format import FastHelpCommand, FastHelpGroup

app = typer.Typer(
    name="osig",
    help="See how a network is being optimized: per-sample losses, opposing-signal groups, sharpness vs 2/eta.",
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    cls=FastHelpGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# ---------------------------------------------------------------------- run
def _run_impl(config: Optional[Path] = None, run_dir: Optional[Path] = None, resume: Optional[Path] = None,
              force: bool = False, quiet: bool = False, **flags) -> None:
    import osig_core as osig
    from osig_tui.progress import TrainingProgress

    if resume is not None:
        steps = flags.get("steps")
        others = [k for k, v in flags.items() if v is not None and k != "steps"]
        if others or config is not None:
            raise osig.ConfigError(f"--resume continues a run with its own config; only --steps may change it (got --{others[0].replace('_', '-') if others else 'config'})")
        from osig_tui.resume_notice import announce_outside_code
        announce_outside_code(resume)  # before osig.resume imports it
        with TrainingProgress(quiet) as prog:
            run = osig.resume(resume, steps, progress=prog)
    else:
        cfg = build_config(flags, config)
        if cfg.nproc > 1 and "WORLD_SIZE" not in os.environ:
            from osig_tui.distributed_launch import launch_distributed
            raise typer.Exit(launch_distributed(cfg, run_dir, force, quiet))
        quiet = quiet or os.environ.get("RANK", "0") != "0"
        with TrainingProgress(quiet) as prog:
            run = osig.train(cfg, run_dir, force=force, progress=prog)
    if run is None:  # a non-writer rank of a distributed run
        return
    status, reason = run.status()
    if not quiet:
        C.print_summary(run)
    if status == "diverged":
        C.error(reason or "the run diverged")
        raise typer.Exit(1)
    if status == "stopped" and reason and "by SIG" in reason:
        raise typer.Exit(130)


@app.command("run")
@with_config_flags(RUN_PARAMETERS)
def run_command(**kwargs) -> None:
    """Train headless, recording every sample's loss; ends with the run directory and a summary."""
    _run_impl(**kwargs)


# ---------------------------------------------------------------------- ls / show / export
@app.command("ls")
def ls_command(root: Path = typer.Argument(Path("runs"), help="Folder holding run directories."),
               plain: bool = typer.Option(False, "--plain", help="One run id a line, nothing else (for scripts).")) -> None:
    """List runs: id, model, optimizer, lr, steps done/total, status, last loss (ids are never cut)."""
    from osig_tui.listing import print_run_list
    print_run_list(root, plain=plain)


@app.command("show")
def show_command(run: Path = typer.Argument(..., help="Run directory.")) -> None:
    """Print a run's config and summary."""
    from osig_core import open_run
    r = open_run(run)
    C.print_config(r)
    C.print_summary(r)


@app.command("export")
def export_command(run: Path = typer.Argument(..., help="Run directory."),
                   out: Optional[Path] = typer.Argument(None, help="OUT.npz (arrays) or OUT.csv (per-step scalars)."),
                   losses: bool = typer.Option(False, "--losses", help="Include every sample's loss at every step (npz: the [T, N] matrix; csv: columns loss_0..loss_N-1)."),
                   tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", metavar="DIR", help="Write TensorBoard event files into DIR/<run id> (pip install \"osig[tensorboard]\")."),
                   tb_outliers: int = typer.Option(8, "--tb-outliers", metavar="K", help="Outlier pictures per direction and recorded step in the TensorBoard export (0: none).")) -> None:
    """Export per-step scalars (and optionally every sample's losses) to npz or csv, or to TensorBoard."""
    from osig_core import open_run
    from osig_core.export.tables import export_csv, export_npz
    if out is None and tensorboard is None:
        C.error("say where to export: OUT.npz, OUT.csv or --tensorboard DIR")
        raise typer.Exit(2)
    if out is not None and out.suffix not in (".csv", ".npz"):
        C.error(f"'{out}' must end in .npz or .csv")
        raise typer.Exit(2)
    if losses and out is None:
        C.error("--losses goes into OUT.npz or OUT.csv; TensorBoard gets the outliers' pictures instead")
        raise typer.Exit(2)
    r = open_run(run)
    if tensorboard is not None:
        from osig_core.export.tensorboard import export_tensorboard
        written = export_tensorboard(r, tensorboard, tb_outliers)
        C.info(f"wrote {written} (view: tensorboard --logdir {tensorboard})")
    if out is not None:
        (export_csv if out.suffix == ".csv" else export_npz)(r, out, with_losses=losses)
        C.info(f"wrote {out}")


def _register_optional_commands() -> None:
    """Commands that live in their own modules (groups, watch, presets...)."""
    import importlib
    for mod in ("osig_tui.commands_groups", "osig_tui.commands_watch", "osig_tui.commands_presets",
                "osig_tui.commands_list", "osig_tui.commands_sweep", "osig_tui.commands_compare"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name == mod:
                continue
            raise
        m.register(app)
    for info in app.registered_commands:  # every command's --help: the light renderer (osig_tui.help_format)
        if info.cls in (None, TyperCommand):
            info.cls = FastHelpCommand


_register_optional_commands()


def _KnownErrors() -> tuple[type[Exception], ...]:  # noqa: N802 - used as an except clause
    """The errors that are one sentence for the user. DataError is included only once its module is
    loaded (it imports torch, and a command that never loaded it cannot raise it), so `--help` stays light."""
    from osig_core.config.run_config import ConfigError
    from osig_core.store.layout import RunStoreError
    data = sys.modules.get("osig_core.data.base")
    return (ConfigError, RunStoreError) + ((data.DataError,) if data is not None else ())


def main() -> None:
    """Entry point: known errors become one sentence on stderr and exit code 2."""
    try:
        import signal
        import osig_tui
        if signal.getsignal(signal.SIGINT) is osig_tui._interrupted_while_starting:  # start-up is over
            signal.signal(signal.SIGINT, signal.default_int_handler)
        app()
    except _KnownErrors() as e:
        C.error(str(e))
        sys.exit(2)
    except KeyboardInterrupt:
        C.error("interrupted")
        sys.exit(130)
    except OSError as e:
        C.error(f"{e.strerror or e}{f': {e.filename}' if e.filename else ''}")
        sys.exit(2)
    except sqlite3.Error as e:  # e.g. a run on a read-only or vanished disk
        C.error(f"a run database could not be used ({e})")
        sys.exit(2)


if __name__ == "__main__":
    main()
