"""`osig list`: every model, dataset, optimizer and preset `osig run` accepts, plugins included.

Read-only and torch-free: built-in names are parsed from osig's modules, plugins are listed from
installed packages' entry points without loading them (osig_core.components.catalog).
"""
from __future__ import annotations

import typer
from rich.table import Table

from osig_tui import console as C

KINDS = ("models", "datasets", "optimizers")


def print_catalog(kind: str | None = None) -> None:
    from osig_core.components.catalog import PATTERNS, builtin, plugins
    for k in KINDS if kind is None else (kind,):
        t = Table(box=None, pad_edge=False, show_header=True, header_style="bold", title=f"[bold]{k}[/]",
                  title_justify="left")
        t.add_column("name", style="bold", no_wrap=True)
        t.add_column("from", no_wrap=True)
        t.add_column("what", overflow="fold")
        for e in builtin(k):
            t.add_row(C.safe(e.name), "built-in", C.safe(e.summary))
        for e in plugins(k):
            t.add_row(C.safe(e.name), "plugin", C.safe(e.source))
        for pattern in PATTERNS[k]:
            name, _, what = pattern.partition("  ")
            t.add_row(C.safe(name), "pattern", C.safe(what.strip(" ()")))
        C.out.print(t)
        C.out.print()
    if kind in (None, "presets"):
        from osig_tui.commands_presets import print_presets
        C.out.print("[bold]presets[/]")
        print_presets()


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_command(kind: str = typer.Argument(None, help="models, datasets, optimizers or presets (default: all).")) -> None:
        """List what `osig run` accepts: models, datasets, optimizers (built-in and installed plugins) and presets."""
        if kind is not None and kind not in KINDS + ("presets",):
            from osig_core.config.run_config import ConfigError
            raise ConfigError(f"unknown kind '{kind}'; choose models, datasets, optimizers or presets")
        print_catalog(kind)
