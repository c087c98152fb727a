"""The dashboard: header, loss and sharpness charts, the opposing pairs, the share of rising losses,
curvature by layer and the viewed step's outliers. Enter opens a pair; / filters pairs by class.

On a small terminal (under 100×30, e.g. 80×24) the charts stay and the panels below them take turns
in the space left, full width, so nothing is cut: `v` shows the next one (pairs → outliers →
curvature), named in the footer and on the tab line above them."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static

from osig_tui.widgets.charts import LossChart, SharpnessChart
from osig_tui.widgets.footer import OsigFooter
from osig_tui.widgets.header import RunHeader
from osig_tui.widgets.outlier_cards import OutlierCards
from osig_tui.widgets.outliers import OutlierStrip
from osig_tui.widgets.pairs import PairsTable
from osig_tui.widgets.panels import FracUpPanel, LayerBars


PANELS = ("pairs", "outliers", "curvature")  # what takes turns below the charts on a small terminal
COMPACT_BELOW = (100, 30)  # a terminal narrower or shorter than this (columns, rows) is small


def panel_tabs(current: str) -> Text:
    t = Text()
    for name in PANELS:
        t.append(f" {name} ", style="bold reverse" if name == current else "dim")
        t.append(" ")
    t.append("v: next panel", style="dim italic")
    return t


class DashboardScreen(Screen):
    BINDINGS = [
        Binding("enter", "open_pair", "Open pair"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("v", "next_panel", "Next panel"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.panel = PANELS[0]
        self.compact = False

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        with VerticalScroll(id="body"):
            with Horizontal(id="charts"):
                yield LossChart(id="loss-chart", classes="panel")
                yield SharpnessChart(id="sharpness-chart", classes="panel")
            yield Static("", id="panel-tabs")
            with Horizontal(id="middle"):
                with Vertical(id="pairs-box", classes="panel"):
                    yield PairsTable(id="pairs")
                    yield Static("", id="pairs-empty")
                    yield Input(placeholder="filter pairs by class name (Enter keeps it, Esc clears)", id="filter")
                with Vertical(id="side"):
                    yield FracUpPanel(id="frac-up", classes="panel")
                    yield LayerBars(id="layers", classes="panel")
            graphics = self.app.image_mode in ("sixel", "kitty")
            yield (OutlierCards if graphics else OutlierStrip)(self.app.image_mode, id="outliers", classes="panel")
        yield OsigFooter()

    def on_mount(self) -> None:
        titles = {"#loss-chart": "train loss", "#sharpness-chart": "sharpness",
                  "#pairs-box": "opposing pairs (Enter: inspect)", "#frac-up": "losses rising",
                  "#layers": "curvature by layer", "#outliers": "outliers: largest loss changes in one step"}
        for sel, title in titles.items():
            self.query_one(sel).border_title = title
        self.query_one("#filter").display = False
        self.query_one(PairsTable).focus(scroll_visible=False)
        self._fit(self.app.size.width, self.app.size.height)
        self.apply_update(True, True)

    def on_resize(self, event) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Small terminals show one panel at a time below the charts (see the module's docstring)."""
        compact = width < COMPACT_BELOW[0] or height < COMPACT_BELOW[1]
        self.set_class(height < 32, "-short")
        self.set_class(compact, "-compact")
        if compact != self.compact:
            self.compact = compact
            self._show_panel()
            self.refresh_bindings()

    def _show_panel(self) -> None:
        for name in PANELS:
            self.set_class(self.compact and self.panel == name, f"-show-{name}")
        self.query_one("#panel-tabs", Static).update(panel_tabs(self.panel) if self.compact else "")

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "next_panel":
            return self.compact  # the key (and its footer entry) exists only when panels take turns
        return True

    def action_next_panel(self) -> None:
        self.panel = PANELS[(PANELS.index(self.panel) + 1) % len(PANELS)]
        self._show_panel()
        if self.panel == "pairs":
            self.query_one(PairsTable).focus(scroll_visible=False)

    # ------------------------------------------------------------------ data
    def apply_update(self, progress_changed: bool, view_changed: bool) -> None:
        app = self.app
        info, progress, view = app.info, app.progress, app.view
        following = view is None or view.following
        step = None if view is None else view.step
        self.query_one(RunHeader).show(info, progress, step, following)
        if progress is None:
            return
        mark = None if following else step
        if progress_changed or view_changed:
            for chart in (self.query_one(LossChart), self.query_one(SharpnessChart)):
                chart.show(progress.history, info, mark)
            self.query_one(FracUpPanel).show(progress.history, step)
        if view_changed and view is not None:
            self.query_one(PairsTable).show(view.pairs)
            self._pairs_note()
            self.query_one(LayerBars).show(view.layers, view.layers_step, info)
            self.query_one("#outliers").show(view, info)

    def _pairs_note(self) -> None:
        table = self.query_one(PairsTable)
        note = self.query_one("#pairs-empty", Static)
        info = self.app.info
        if table.shown_ids:
            note.display = False
            return
        if not info.groups:
            text = "group detection is off: run with --groups"
        elif table.pairs and table.query_text:
            text = f"no pair has a class matching '{table.query_text}'"
        elif self.app.view is not None and self.app.view.step is not None:
            text = f"no opposing pairs at step {self.app.view.step}"
        else:
            text = "no steps recorded yet"
        note.update(Text(text, style="italic"))
        note.display = True

    # ------------------------------------------------------------------ keys
    def action_open_pair(self) -> None:
        pid = self.query_one(PairsTable).current_pair()
        if pid is not None:
            self._open(pid)

    def on_pairs_table_chosen(self, message: PairsTable.Chosen) -> None:
        self._open(message.pair_id)

    def _open(self, pair_id: int) -> None:
        """Push the group screen at once with the row already in memory; it reads the rest on a thread."""
        table = self.query_one(PairsTable)
        summary = next((p for p in table.pairs if p.id == pair_id), None)
        screen = self.app.group_screen()
        screen.show_pair(pair_id, summary)
        self.app.push_screen(screen)

    def on_data_table_row_highlighted(self, event) -> None:
        """Read the highlighted pair ahead, so Enter shows it at once (not while following a live run)."""
        app, view = self.app, self.app.view
        if event.row_key is None or event.row_key.value is None or view is None or view.step is None:
            return
        if not (app.live and view.following):
            app.prefetch_group(int(event.row_key.value), view.step)

    def action_filter(self) -> None:
        if self.compact and self.panel != "pairs":
            self.panel = "pairs"
            self._show_panel()
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.query_one(PairsTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_one(PairsTable).show(query=event.value)
            self._pairs_note()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            event.input.display = bool(event.value)
            self.query_one(PairsTable).focus()
