"""`--help` pages drawn with the few Rich parts the CLI loads anyway (panels and tables).

Typer's own Rich help module also loads Rich's Markdown and traceback renderers (markdown-it,
Pygments): about half of what `osig --help` cost once torch was gone. These pages look the same
(usage, the command's text, one panel per `rich_help_panel`), take help texts literally, and fall
back to Typer's renderer should a future Typer lack a method they use.
"""
from __future__ import annotations

import inspect
from collections import defaultdict

from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


def _param_row(param, ctx) -> list[Text]:
    """[name, short / negative names, type, help + default + required] of one option or argument."""
    if isinstance(param, TyperArgument):
        name = Text(param.display_name_raw.upper() + ("..." if param.metavar is None and param.nargs != 1 else ""), style="bold cyan")
        short = Text("")
    else:
        longs = [o for o in param.opts if o.startswith("--")]
        shorts = [o for o in param.opts if not o.startswith("--")]
        name = Text(",".join(longs), style="bold cyan")
        name.append("/" + ",".join(param.secondary_opts) if param.secondary_opts else "", style="bold magenta")
        short = Text(",".join(shorts), style="bold green")
    kind = Text(_value_name(param, ctx), style="bold yellow")
    body = Text(" ".join((getattr(param, "help", None) or "").split()))
    default = param._extract_default_help_str(ctx=ctx)
    if isinstance(param.show_default, str):  # a default described in words (config_flags)
        body.append(f" [default: {param.show_default}]", style="dim")
    elif default is not None and (param.show_default or ctx.show_default) and not getattr(param, "is_flag", False):
        text = param._get_default_string(ctx=ctx, show_default_is_str=False, default_value=default)
        if text:
            body.append(f" [default: {text}]", style="dim")
    if param.required:
        body.append(" [required]", style="dim red")
    return [name, short, kind, body]


_VALUE_NAMES = {"str": "TEXT", "int": "INT", "float": "FLOAT", "path": "PATH", "list[str]": "TEXT"}


def _value_name(param, ctx) -> str:
    """What an option takes, as `--lr FLOAT` would say it; nothing for an on/off flag (Typer's own
    `<bool>` reads as if the flag took a value)."""
    if getattr(param, "is_flag", False):
        return ""
    if param.metavar is not None:
        return param.metavar
    raw = (param.display_type_rich(ctx=ctx) or "").strip("<>")
    return _VALUE_NAMES.get(raw, raw.upper())


def _usage(obj, ctx) -> str:
    """The usage line with arguments as RUN / [RUN] (Typer writes a required one as `{run}`)."""
    usage = obj.get_usage(ctx)
    for param in obj.get_params(ctx):
        if isinstance(param, TyperArgument):
            name = param.display_name_raw
            usage = usage.replace("{" + name + "}", name.upper()).replace("[" + name + "]", f"[{name.upper()}]")
    return usage


def _panel(title: str, rows: list[list[Text]]) -> Panel:
    table = Table(show_header=False, box=None, expand=True, pad_edge=False, padding=(0, 1))
    for row in rows:
        table.add_row(*row)
    return Panel(table, title=title, title_align="left", border_style="dim")


def render_help(obj, ctx) -> list:
    """The help page of a command or group as Rich renderables."""
    parts: list = [Padding(Text(_usage(obj, ctx), style="bold"), 1)]
    text = inspect.cleandoc(obj.help or "").partition("\f")[0]
    if text:
        first, *rest = text.split("\n\n")
        body = Text(" ".join(first.split()))
        for para in rest:
            body.append("\n\n" + para, style="dim")
        parts.append(Padding(body, (0, 1, 1, 1)))
    panels: dict[str, list[list[Text]]] = defaultdict(list)
    panels["Arguments"], panels["Options"] = [], []  # these two first, as Typer orders them
    for param in obj.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        default_panel = "Arguments" if isinstance(param, TyperArgument) else "Options"
        panels[getattr(param, "rich_help_panel", None) or default_panel].append(_param_row(param, ctx))
    for title, rows in panels.items():
        if rows:
            parts.append(_panel(title, rows))
    if isinstance(obj, TyperGroup):
        rows = []
        for name in obj.list_commands(ctx):
            cmd = obj.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                summary = inspect.cleandoc(cmd.short_help or cmd.help or "").split("\n\n")[0]
                rows.append([Text(name, style="bold cyan"), Text(" ".join(summary.split()))])
        if rows:
            table = Table(show_header=False, box=None, expand=True, pad_edge=False, padding=(0, 1))
            table.add_column(no_wrap=True)
            table.add_column(ratio=10)
            for row in rows:
                table.add_row(*row)
            parts.append(Panel(table, title="Commands", title_align="left", border_style="dim"))
    return parts


def _format_help(self, base, ctx, formatter) -> None:
    from osig_tui.console import out
    try:
        parts = render_help(self, ctx)
    except AttributeError:  # a Typer without the methods used above: its own (slower) renderer
        return base.format_help(self, ctx, formatter)
    for part in parts:
        out.print(part)


class FastHelpGroup(TyperGroup):
    def format_help(self, ctx, formatter) -> None:
        _format_help(self, TyperGroup, ctx, formatter)


class FastHelpCommand(TyperCommand):
    def format_help(self, ctx, formatter) -> None:
        _format_help(self, TyperCommand, ctx, formatter)
