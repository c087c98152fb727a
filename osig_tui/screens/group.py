"""Inspecting one opposing pair: both sides' loss curves, class histograms and members (pictures with
true label and prediction before → after the viewed step, or texts / 1-D input intervals)."""
from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from osig_tui.store_views import GroupDetail
from osig_tui.widgets.charts import PairLossChart
from osig_tui.widgets.header import RunHeader
from osig_tui.widgets.members import SideView

LIVE_RELOAD_S = 2.0  # while following a live run, reload the pair at most this often


@dataclass
class GroupLoaded(Message):
    detail: GroupDetail


class GroupScreen(Screen):
    """Installed once and reused for every pair (composing a screen costs more than refilling it)."""

    BINDINGS = [Binding("escape", "back", "Back"), Binding("backspace", "back", "Back", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.pair_id: int | None = None
        self.step: int | None = None
        self.detail: GroupDetail | None = None
        self._loaded_at = 0.0
        self._loading = False

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield Static("", id="group-title")
        with VerticalScroll(id="group-body"):
            yield PairLossChart(id="group-chart", classes="panel")
            with Horizontal(id="group-sides"):
                yield SideView(0)
                yield SideView(1)
        yield Footer()

    def show_pair(self, pair_id: int) -> None:
        """Switch to another pair (before the screen is pushed)."""
        self.pair_id, self.step, self.detail, self._loading = pair_id, None, None, False
        if self.is_mounted:
            self._start()

    def on_mount(self) -> None:
        self.query_one("#group-chart").border_title = "mean loss of [#ff8700]side A[/] and [#00afff]side B[/] (recent steps)"
        self._start()

    def _start(self) -> None:
        self.query_one("#group-title", Static).update(Text(f"pair #{self.pair_id}: loading…", style="italic"))
        self.apply_update(True, True)

    def action_back(self) -> None:
        self.app.pop_screen()

    # ------------------------------------------------------------------ data
    def apply_update(self, progress_changed: bool, view_changed: bool) -> None:
        app = self.app
        view = app.view
        following = view is None or view.following
        step = None if view is None else view.step
        self.query_one(RunHeader).show(app.info, app.progress, step, following)
        if step is None or self._loading or self.pair_id is None:
            return
        stale = step != self.step
        if stale and (not following or self.detail is None or time.monotonic() - self._loaded_at > LIVE_RELOAD_S):
            self.step = step
            cached = app.cached_group(self.pair_id, step)
            if cached is not None:
                self._show(cached)
                return
            self._loading = True
            self._load(self.pair_id, step)

    @work(thread=True, exclusive=True, group="group-load", exit_on_error=False)
    def _load(self, pair_id: int, step: int) -> None:
        self.post_message(GroupLoaded(self.app.load_group(pair_id, step)))

    def on_group_loaded(self, message: GroupLoaded) -> None:
        self._loading = False
        if message.detail.pair_id == self.pair_id:
            self._show(message.detail)
        if self.app.view is not None and self.app.view.step != self.step:
            self.apply_update(False, True)  # the step moved while we were loading

    def _show(self, d: GroupDetail) -> None:
        self._loaded_at = time.monotonic()
        self.detail = d
        title = self.query_one("#group-title", Static)
        if not d.found:
            title.update(Text(f"pair #{self.pair_id} is not in this run", style="bold red"))
            return
        title.update(self._title(d))
        following = self.app.view is None or self.app.view.following
        self.query_one(PairLossChart).show([s.curve for s in d.sides], None if following else d.step, d.step)
        for view, side in zip(self.query(SideView), d.sides):
            view.show(side, d.classes, self.app.image_mode, self.app.info.data_kind, d.x_gap)

    def _title(self, d: GroupDetail) -> Text:
        t = Text()
        t.append(f"pair #{d.pair_id}", style="bold")
        t.append(f"  score {d.score:.2f}")
        if d.period is not None:
            t.append(f"  period {d.period:.3g}")
        t.append(f"  detected steps {d.first_step}–{d.last_step}")
        if d.prev_step is not None:
            t.append(f"  change {d.prev_step} → {d.step}", style="bold")
        return t
