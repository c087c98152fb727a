"""Inspecting one opposing pair: both sides' loss curves, class histograms and members (pictures with
true label and prediction before → after the viewed step, or texts / 1-D input intervals).

Enter answers at once: the screen shows what the dashboard already holds (score, sizes, classes) and
a thread worker reads the rest, posting `GroupLoaded`; widgets are filled only on the UI thread."""
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
from textual.widgets import Static

from osig_tui.store_views import GroupDetail, PairRow
from osig_tui.widgets.pair_chart import PairLossChart
from osig_tui.widgets.footer import OsigFooter
from osig_tui.widgets.header import RunHeader
from osig_tui.widgets.members import SideView
from osig_tui.widgets.pair_summary import PairSummaryPanel

LIVE_RELOAD_S = 2.0  # while following a live run, reload the pair at most this often


@dataclass
class GroupLoaded(Message):
    """A pair's detail, read on a worker thread."""
    detail: GroupDetail


class GroupScreen(Screen):
    """Installed once and reused for every pair (composing a screen costs more than refilling it)."""

    BINDINGS = [Binding("escape", "back", "Back"), Binding("backspace", "back", "Back", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.pair_id: int | None = None
        self.step: int | None = None
        self.summary: PairRow | None = None  # the dashboard's row of the pair, shown until `detail` arrives
        self.detail: GroupDetail | None = None  # everything about the pair at `step`, once read
        self._loaded_at = 0.0
        self._loading = False  # a detail is being read or drawn
        self._filling: GroupDetail | None = None  # the detail being drawn, a part a frame

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield Static("", id="group-title")
        with VerticalScroll(id="group-body"):
            yield PairLossChart(id="group-chart", classes="panel")
            yield PairSummaryPanel(id="pair-summary")
            with Horizontal(id="group-sides"):
                yield SideView(0)
                yield SideView(1)
        yield OsigFooter()

    def show_pair(self, pair_id: int, summary: PairRow | None = None) -> None:
        """Switch to another pair (before the screen is pushed); `summary` is shown until the rest is read."""
        self.pair_id, self.step, self.detail, self._loading, self._filling = pair_id, None, None, False, None
        self.summary = summary if summary is not None and summary.id == pair_id else None
        if self.is_mounted:
            self._start()

    def on_mount(self) -> None:
        self.query_one("#group-chart").border_title = "mean loss of [#ff8700]side A[/] and [#00afff]side B[/] (recent steps)"
        self._start()

    def _start(self) -> None:
        """Show the summary now (cheap widgets only) and start reading the detail."""
        s = self.summary
        title = self.query_one("#group-title", Static)
        if s is None:
            title.update(Text(f"pair #{self.pair_id}: reading…", style="italic"))
        else:
            title.update(self._title(s.id, s.score, s.period, s.first_step, s.last_step, None, None))
        self.query_one(PairLossChart).show(None, None)
        self.query_one(PairSummaryPanel).show(None)
        self.query_one("#group-sides").display = True
        for k, view in enumerate(self.query(SideView)):
            view.show_summary(s.classes[k] if s else (), s.sizes[k] if s else 0)
        self.apply_update(True, True)

    def action_back(self) -> None:
        self._stop_drawing()  # now, not when the suspend event comes: parts queued before it would still run
        self.app.pop_screen()

    def on_screen_suspend(self) -> None:
        self._stop_drawing()

    def on_screen_resume(self) -> None:
        """Back from a screen on top (help, a dialog) before the pair was drawn: draw it now."""
        if self.pair_id is not None and not self._loading and (self.detail is None or self.detail.step != self.step):
            self.step = None
            self.apply_update(False, True)

    def _stop_drawing(self) -> None:
        """Left before the pair was drawn: draw no more of it (Enter starts over)."""
        self._filling, self._loading = None, False

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
            if cached is not None:  # read ahead while the pair was highlighted
                self._loading = True
                self.call_after_refresh(self._loaded, cached)  # the summary reaches the screen first
                return
            self._loading = True
            self._load(self.pair_id, step)

    @work(thread=True, exclusive=True, group="group-load", exit_on_error=False)
    def _load(self, pair_id: int, step: int) -> None:
        self.post_message(GroupLoaded(self.app.load_group(pair_id, step)))

    def on_group_loaded(self, message: GroupLoaded) -> None:
        self.call_after_refresh(self._loaded, message.detail)

    def _loaded(self, detail: GroupDetail) -> None:
        if (not self._loading or self._filling is not None or detail.pair_id != self.pair_id
                or detail.step != self.step):
            return  # an older request (another pair, a step since left, or drawn already)
        self._filling = detail
        self._show(detail, 0)

    def _show(self, d: GroupDetail, part: int) -> None:
        """Draw part `part` of the detail (0: title and chart, 1: side A, 2: side B), one part a frame,
        so a key pressed meanwhile waits for one part at most; `detail` is set once all are drawn."""
        if self._filling is not d:
            return  # another pair or step since
        if part == 0:
            title = self.query_one("#group-title", Static)
            self.query_one("#group-sides").display = d.found
            if not d.found:
                title.update(Text(f"pair #{self.pair_id} is not in this run", style="bold red"))
                self.query_one(PairLossChart).show([], None)
            else:
                title.update(self._title(d.pair_id, d.score, d.period, d.first_step, d.last_step, d.prev_step, d.step))
                following = self.app.view is None or self.app.view.following
                self.query_one(PairLossChart).show([s.curve for s in d.sides], None if following else d.step, d.step)
                self.query_one(PairSummaryPanel).show(d.summary, self.app.image_mode != "none")
        elif part - 1 < len(d.sides):
            view = self.query(SideView)[part - 1]
            view.show(d.sides[part - 1], d.classes, self.app.image_mode, self.app.info.data_kind, d.x_gap)
        if d.found and part < len(d.sides):
            self.call_after_refresh(self._show, d, part + 1)
            return
        self._filling, self._loading = None, False
        self.detail, self._loaded_at = d, time.monotonic()
        if self.app.view is not None and self.app.view.step != self.step:
            self.apply_update(False, True)  # the step moved while we were drawing

    @staticmethod
    def _title(pair_id: int, score: float, period: float | None, first: int, last: int,
               prev_step: int | None, step: int | None) -> Text:
        t = Text()
        t.append(f"pair #{pair_id}", style="bold")
        t.append(f"  score {score:.2f}")
        if period is not None:
            t.append(f"  period {period:.3g}")
        t.append(f"  detected steps {first}–{last}")
        if prev_step is not None:
            t.append(f"  change {prev_step} → {step}", style="bold")
        return t
