"""`?`: every key binding of the monitor, grouped by where it works."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

EXTRA = {  # keys handled by widgets rather than bindings
    "Dashboard": [("↑ ↓ / j k", "move between pairs"), ("mouse", "click a pair, scroll panels")],
    "Group screen": [("↑ ↓ PgUp PgDn", "scroll the members")],
}


def _key(b: Binding) -> str:
    return b.key_display or {"enter": "Enter", "escape": "Esc", "backspace": "Backspace"}.get(b.key, b.key)


def bindings_table() -> Table:
    from osig_tui.app import WatchApp
    from osig_tui.screens.dashboard import DashboardScreen
    from osig_tui.screens.group import GroupScreen
    t = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column()
    for title, bindings in (("Everywhere", WatchApp.BINDINGS), ("Dashboard", DashboardScreen.BINDINGS),
                            ("Group screen", GroupScreen.BINDINGS)):
        t.add_row(Text(title, style="bold underline"), "")
        seen = set()
        for b in bindings:
            if b.action in seen or b.key == "ctrl+c":
                continue
            seen.add(b.action)
            keys = [_key(x) for x in bindings if x.action == b.action and x.key != "ctrl+c"]
            t.add_row(" ".join(keys), b.description)
        for keys, what in EXTRA.get(title, []):
            t.add_row(keys, what)
        t.add_row("", "")
    return t


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss", "Close", key_display="?"),
                Binding("q", "dismiss", "Close", show=False)]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("osig watch — keys", style="bold"))
            yield Static(bindings_table())
            yield Static(Text("[ ] and { } step through history while the run is paused or finished; "
                              "the dashboard then shows that step's pairs, outliers and values. "
                              "Esc or ? closes this.", style="dim"))

    def action_dismiss(self) -> None:
        self.dismiss(None)
