"""The dashboard: header, loss and sharpness charts, the opposing pairs, the share of rising losses,
curvature by layer and the viewed step's outliers. Enter opens a pair; / filters pairs by class."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from osig_tui.widgets.charts import LossChart, SharpnessChart
from osig_tui.widgets.header import RunHeader
from osig_tui.widgets.outliers import OutlierStrip
from osig_tui.widgets.pairs import PairsTable
from osig_tui.widgets.panels import FracUpPanel, LayerBars


class DashboardScreen(Screen):
    BINDINGS = [
        Binding("enter", "open_pair", "Open pair"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        with VerticalScroll(id="body"):
            with Horizontal(id="charts"):
                yield LossChart(id="loss-chart", classes="panel")
                yield SharpnessChart(id="sharpness-chart", classes="panel")
            with Horizontal(id="middle"):
                with Vertical(id="pairs-box", classes="panel"):
                    yield PairsTable(id="pairs")
                    yield Static("", id="pairs-empty")
                    yield Input(placeholder="filter pairs by class name (Enter keeps it, Esc clears)", id="filter")
                with Vertical(id="side"):
                    yield FracUpPanel(id="frac-up", classes="panel")
                    yield LayerBars(id="layers", classes="panel")
            yield OutlierStrip(self.app.image_mode, id="outliers", classes="panel")
        yield Footer()

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
        """Small terminals get shorter charts and a narrower side column; the rest scrolls."""
        self.set_class(height < 32, "-short")
        self.set_class(width < 100, "-narrow")

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
            self.query_one(OutlierStrip).show(view, info)

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
        from rich.text import Text
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
