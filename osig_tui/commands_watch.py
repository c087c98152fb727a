"""`osig watch`: start a run in the background and watch it, attach to a running run, or replay one.

    osig watch --model mlp --steps 2000   start `osig run` detached (same flags), then open the monitor
    osig watch runs/RUN                   attach to a live run, or replay a finished one
    osig watch                            attach to the most recent run under --root (default runs/)
    osig watch runs/SWEEP                 compare a sweep's members (osig sweep), live while they train
    osig watch runs/A runs/B ...          compare several runs
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, List, Optional

import typer

from osig_tui import console as C
from osig_tui.config_flags import RUN_PARAMETERS, _kw, with_config_flags

WATCH_PARAMETERS = [
    inspect.Parameter("runs", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[List[Path]],
                      default=typer.Argument(None, help="Run directory to attach to or replay (default: the newest under "
                                             "--root); a sweep directory or several runs open the comparison.",
                                             show_default=False, metavar="RUN")),
    _kw("images", str, typer.Option("auto", "--images", help="Pictures: auto, sixel, kitty, halfcell or none.",
                                    rich_help_panel="Monitor")),
    _kw("root", Path, typer.Option(Path("runs"), "--root", help="Where runs live (new runs go there too).",
                                   rich_help_panel="Monitor")),
]


def _name_parts(flags: dict[str, Any], config: Path | None) -> tuple[str, str]:
    """(model, optim) for the new run's directory name, as `osig run` will resolve them."""
    try:
        from osig_core.config.run_config import read_toml
        toml = read_toml(config) if config is not None else {}
        preset = flags.get("preset") or toml.get("preset")
        base: dict[str, Any] = {}
        if preset:
            from osig_core.presets.paper import preset_config
            base = preset_config(preset)
        merged = {**base, **toml, **{k: v for k, v in flags.items() if v is not None}}
        return str(merged.get("model") or "mlp"), str(merged.get("optim") or "gd")
    except Exception:  # the engine reports bad settings itself, with its own sentence
        return str(flags.get("model") or "mlp"), str(flags.get("optim") or "gd")


def _start(flags: dict[str, Any], config: Path | None, run_dir: Path | None, resume: Path | None,
           force: bool, root: Path) -> Path:
    """Start the engine detached and wait until its run directory is readable; returns it."""
    from osig_tui import lifecycle as LC
    argv = LC.flags_to_argv({"config": config, "force": force or None, **flags})
    if resume is not None:
        target = resume
        proc = LC.start_detached(["--resume", str(resume), *argv], target, resume=True)
    else:
        target = run_dir if run_dir is not None else LC.new_run_dir(*_name_parts(flags, config), root)
        proc = LC.start_detached(argv, target)
    shown = [False]

    def waiting(seconds: float) -> None:
        if seconds > 1.0 and not shown[0]:
            C.err.print(C.safe(f"starting the engine in {target} (log: {target / LC.ENGINE_LOG})…"), style="dim")
            shown[0] = True
    try:
        LC.wait_until_ready(target, proc, on_wait=waiting)
    except LC.EngineStartError as e:
        if e.log_tail:
            C.err.print(C.safe(f"--- end of {target / LC.ENGINE_LOG} ---"), style="dim")
            for line in e.log_tail.splitlines():
                C.err.print(C.safe(line))
        C.error(str(e))
        raise typer.Exit(e.exit_code)
    except KeyboardInterrupt:
        C.error(f"interrupted while the engine started; it keeps running in {target}")
        raise typer.Exit(130)
    return target


def _ask_terminal():
    """Ask the terminal what it draws before Textual is imported, and tell Textual the colour depth
    found (TEXTUAL_COLOR_SYSTEM, unless the user set it): over SSH, TERM=xterm without COLORTERM
    would otherwise make Textual draw everything in 16 colours."""
    import os
    import sys
    from osig_tui.terminal_caps import probe_terminal
    caps = probe_terminal()
    if caps.colors != "standard" and "TEXTUAL_COLOR_SYSTEM" not in os.environ and "textual" not in sys.modules:
        os.environ["TEXTUAL_COLOR_SYSTEM"] = caps.colors
    return caps


def watch_impl(runs: Optional[list[Path]] = None, images: str = "auto", root: Path = Path("runs"),
               config: Optional[Path] = None, run_dir: Optional[Path] = None, resume: Optional[Path] = None,
               force: bool = False, quiet: bool = False, **flags) -> None:
    from osig_core.store.layout import RunStoreError
    from osig_tui import lifecycle as LC
    from osig_tui.terminal_caps import IMAGE_MODES

    if images not in IMAGE_MODES:
        C.error(f"--images must be one of {', '.join(IMAGE_MODES)}, got '{images}'")
        raise typer.Exit(2)
    given = {k: v for k, v in flags.items() if v is not None}
    starting = bool(given) or config is not None or run_dir is not None or resume is not None or force
    runs = list(runs or [])
    if runs and starting:
        C.error("give either a run directory to watch or flags for a new run, not both")
        raise typer.Exit(2)
    if starting:
        target = _start(given, config, run_dir, resume, force, root)
    else:
        target = runs[0] if runs else LC.latest_run(root)
    from osig_core.sweeps.manifest import is_sweep
    compare = len(runs) > 1 or is_sweep(target)
    caps = _ask_terminal()
    from osig_tui.widgets.images import resolve_image_mode
    mode = resolve_image_mode(images, caps)
    try:
        if compare:
            from osig_core.errors import ConfigError
            from osig_tui.compare_app import CompareApp
            try:
                app = CompareApp(runs, image_mode=mode, terminal=caps)
            except ConfigError as e:
                raise RunStoreError(str(e)) from None
        else:
            from osig_tui.app import WatchApp
            app = WatchApp(target, image_mode=mode, terminal=caps)
    except RunStoreError as e:
        C.error(str(e))
        raise typer.Exit(2)
    message = app.run()
    if app.return_code not in (0, None):
        raise typer.Exit(app.return_code)
    if message:
        C.info(message)


def register(app: typer.Typer) -> None:
    @app.command("watch")
    @with_config_flags(WATCH_PARAMETERS + [p for p in RUN_PARAMETERS if p.name != "quiet"])
    def watch_command(**kwargs) -> None:
        """Live monitor: start a run in the background and watch it, or attach to / replay a run directory;
        a sweep directory (osig sweep) or several runs open a live comparison."""
        watch_impl(**kwargs)
