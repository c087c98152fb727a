"""`?`: every key binding of the monitor, grouped by where it works, and how pictures are drawn."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from osig_tui.app_bindings import APP_BINDINGS

EXTRA = {  # keys handled by widgets rather than bindings
    "Dashboard": [("↑ ↓ / j k", "move between pairs"), ("mouse", "click a pair, scroll panels")],
    "Group screen": [("↑ ↓ PgUp PgDn", "scroll the members")],
    "Comparison": [("↑ ↓ / j k", "move between runs")],
}


def _key(b: Binding) -> str:
    return b.key_display or {"enter": "Enter", "escape": "Esc", "backspace": "Backspace"}.get(b.key, b.key)


def _section(title: str, bindings) -> list[tuple]:
    rows: list[tuple] = [(Text(title, style="bold underline"), "")]
    seen, said = set(), set()
    for b in bindings:
        if b.action in seen or b.key == "ctrl+c" or (not b.show and b.description in said):
            continue  # 2-9 after "1-9 Show/hide run"
        seen.add(b.action)
        said.add(b.description)
        keys = [_key(x) for x in bindings if x.action == b.action and x.key != "ctrl+c"]
        rows.append((" ".join(keys), b.description))
    rows += EXTRA.get(title, [])
    return rows


def bindings_table(compare: bool = False) -> Table:
    """Two columns of sections (keys everywhere | the dashboard's and the group screen's), so the
    whole list fits an 80×24 terminal; `compare` (osig watch SWEEP) adds the comparison's keys."""
    from osig_tui.screens.dashboard import DashboardScreen
    from osig_tui.screens.group import GroupScreen
    left = _section("Everywhere", APP_BINDINGS)
    group = _section("Group screen", GroupScreen.BINDINGS)
    right = _section("Dashboard", DashboardScreen.BINDINGS)
    if compare:
        from osig_tui.screens.compare import CompareScreen, MemberDashboard
        left += group
        right = _section("Comparison", CompareScreen.BINDINGS + MemberDashboard.BINDINGS) + [("", "")] + right
    else:
        right += [("", "")] + group
    t = Table(show_header=False, box=None, padding=(0, 1, 0, 0))
    for _ in range(2):
        t.add_column(style="bold cyan", no_wrap=True)
        t.add_column()
    for k in range(max(len(left), len(right))):
        a = left[k] if k < len(left) else ("", "")
        b = right[k] if k < len(right) else ("", "")
        t.add_row(a[0], a[1], b[0], b[1])
    return t


PROTOCOLS = {"sixel": "sixel graphics", "kitty": "kitty graphics", "halfcell": "half-blocks",
             "none": "none (text only)"}
COLOURS = {"truecolor": "24-bit colour", "256": "256 colours", "standard": "16 colours"}


def pictures_line(image_mode: str, terminal) -> Text:
    """Which image protocol is in use and why: what the terminal answered, or --images."""
    t = Text()
    t.append("pictures: ", style="bold")
    t.append(PROTOCOLS.get(image_mode, image_mode))
    if image_mode == "halfcell":
        t.append(f" in {COLOURS.get(terminal.colors, terminal.colors)}")
    if terminal.answered:
        found = [n for n, ok in (("sixel", terminal.sixel), ("kitty", terminal.kitty),
                                 ("24-bit", terminal.how == "asked")) if ok]
        t.append(f" (terminal answered: {', '.join(found) or 'no graphics'})", style="dim")
    return t


def chart_lines() -> Text:
    """What the sharpness chart draws besides its line."""
    from osig_tui.widgets.sharpness_plot import BAND, BAND_CHAR, ROUGH, ROUGH_CHAR
    t = Text()
    t.append(BAND_CHAR, style=BAND)
    t.append(" band: [value, upper] holds the top eigenvalue with probability ≥ 99.9% (docs/curvature.md)  ")
    t.append(ROUGH_CHAR, style=ROUGH)
    t.append(" estimate short of its tolerance")
    return t


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss", "Close", key_display="?"),
                Binding("q", "dismiss", "Close", show=False)]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("osig watch — keys", style="bold"))
            yield Static(pictures_line(self.app.image_mode, self.app.terminal), id="help-pictures")
            compare = getattr(self.app, "compares", False)
            self.set_class(compare, "-dense")  # the comparison's keys too: fewer blank lines, still 80×24
            yield Static(bindings_table(compare))
            yield Static(chart_lines(), id="help-chart")
            yield Static(Text("[ ] { } step through history while the run is paused or finished. "
                              "--images sixel|kitty|halfcell|none overrides pictures. Esc or ? closes this.",
                              style="dim"), id="help-note")

    def action_dismiss(self) -> None:
        self.dismiss(None)
