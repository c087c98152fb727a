"""The comparison screen of `osig watch SWEEP` / `osig watch RUN RUN ...`: every run's sharpness over
its own threshold (each run's edge at 1) and train loss, one colour per run, live while members
train; below, the runs named by what differs between them, which is the charts' legend.

1-9 show or hide a run (space the highlighted one); Enter opens a run's dashboard (MemberDashboard,
Esc comes back)."""
from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from osig_tui.compare_poller import CompareState
from osig_tui.console import safe
from osig_tui.screens.dashboard import DashboardScreen
from osig_tui.widgets.compare_charts import RunsChart, run_color
from osig_tui.widgets.footer import OsigFooter
from osig_tui.widgets.runs_table import RunsTable

TOGGLES = [Binding(str(k), f"toggle({k - 1})", "Show/hide run", key_display="1-9", show=k == 1) for k in range(1, 10)]


def header_text(state: CompareState | None, width: int) -> Text:
    t = Text()
    t.append("osig watch ", style="bold")
    if state is None:
        t.append("reading the runs…", style="dim")
        return t
    t.append_text(safe(state.title))
    counts = Counter(m.status for m in state.members)
    t.append("\n" + f"{len(state.members)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.most_common()))
    if state.keys:
        said = "  differ in: " + ", ".join(state.keys)
        room = width - 2 - len(t.plain.split("\n")[-1])
        t.append(said if len(said) <= room else said[:max(0, room - 1)] + "…", style="dim")
    return t


class CompareScreen(Screen):
    BINDINGS = [Binding("enter", "open_run", "Open run"), Binding("space", "toggle_current", "Show/hide", key_display="Space"),
                *TOGGLES, Binding("a", "show_all", "Show all")]

    def compose(self) -> ComposeResult:
        yield Static(header_text(None, 80), id="compare-header")
        with Horizontal(id="compare-charts"):
            yield RunsChart("no sharpness recorded yet (runs need --sharpness-every K)", mark=1.0,
                            id="compare-sharpness", classes="panel")
            yield RunsChart("no steps recorded yet", id="compare-loss", classes="panel")
        with Vertical(id="runs-box", classes="panel"):
            yield RunsTable(id="runs")
        yield OsigFooter()

    def on_mount(self) -> None:
        self.query_one("#compare-sharpness").border_title = "[bold]sharpness / threshold[/] ([red]edge = 1[/])"
        self.query_one("#compare-loss").border_title = "[bold]train loss[/]"
        self.query_one("#runs-box").border_title = "runs (colour: ● shown ○ hidden; Enter: open)"
        self.query_one(RunsTable).focus()
        self.apply_state()

    def on_resize(self, event) -> None:
        self.apply_state()  # the header's list of what differs, cut to the new width

    def apply_state(self) -> None:
        state, hidden = self.app.compare_state, self.app.hidden
        self.query_one("#compare-header", Static).update(header_text(state, self.size.width))
        if state is None:
            return
        shown = [m for m in state.members if m.index not in hidden]
        steps = [m.loss[0] for m in shown if len(m.loss[0])] + [m.sharp[0] for m in shown if len(m.sharp[0])]
        span = (min(int(s[0]) for s in steps), max(int(s[-1]) for s in steps)) if steps else None
        self.query_one("#compare-sharpness", RunsChart).show([(*m.sharp, run_color(m.index)) for m in shown], span)
        self.query_one("#compare-loss", RunsChart).show([(*m.loss, run_color(m.index)) for m in shown], span)
        self.query_one(RunsTable).show(state, hidden)

    # ------------------------------------------------------------------ keys
    def action_toggle(self, index: int) -> None:
        state = self.app.compare_state
        if state is None or index >= len(state.members):
            self.notify(f"there is no run {index + 1}", severity="warning")
            return
        self.app.hidden ^= {index}
        self.apply_state()

    def action_toggle_current(self) -> None:
        current = self.query_one(RunsTable).current()
        if current is not None:
            self.action_toggle(current)

    def action_show_all(self) -> None:
        self.app.hidden = set()
        self.apply_state()

    def action_open_run(self) -> None:
        current = self.query_one(RunsTable).current()
        if current is not None:
            self.app.open_run(current)

    def on_runs_table_chosen(self, message: RunsTable.Chosen) -> None:
        self.app.open_run(message.index)


class MemberDashboard(DashboardScreen):
    """One run's dashboard opened from the comparison; Esc (with no filter open) goes back to it."""

    BINDINGS = [Binding("escape", "back", "Back to runs", key_display="Esc")]

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            self.action_clear_filter()
        else:
            self.app.close_run()
