"""`osig watch SWEEP` / `osig watch RUN RUN ...`: the live comparison of several runs (Textual).

The monitor of one run (WatchApp) with a comparison screen below its dashboard: a thread worker
polls every run through ComparePoller and posts CompareUpdated messages; Enter attaches the app to
one member (its own poll worker, as for a single run) and pushes that run's dashboard; Esc detaches
and returns. Members are separate processes (`osig sweep`): quitting leaves them training.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from osig_core.store.layout import RunStoreError
from osig_tui.app import WatchApp
from osig_tui.compare_poller import ComparePoller, CompareState
from osig_tui.store_poller import StorePoller


@dataclass
class CompareUpdated(Message):
    state: CompareState


@dataclass
class CompareFailed(Message):
    message: str


class CompareApp(WatchApp):
    TITLE = "osig watch (compare)"
    compares = True  # the help screen lists the comparison's keys

    def __init__(self, targets: list[str | Path], *, image_mode: str = "halfcell", poll_interval: float = 0.25,
                 compare_interval: float = 0.5, terminal=None):
        """Reads sweep.json / the run directories now, so a bad argument fails before the screen changes.
        `poll_interval`: an opened run's polls; `compare_interval`: every run's, while any trains."""
        super().__init__(None, image_mode=image_mode, poll_interval=poll_interval, terminal=terminal)
        self.runs = ComparePoller(targets)
        self.compare_interval = compare_interval
        self.compare_state: CompareState | None = None
        self.compare_updates = 0  # tests wait on it
        self.hidden: set[int] = set()

    def on_mount(self, event) -> None:
        from osig_tui.screens.compare import CompareScreen
        event.prevent_default()  # not WatchApp's on_mount: no run's dashboard yet
        self.push_screen(CompareScreen())
        self._poll_runs()
        self.call_after_refresh(self._settle_garbage_collector)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _poll_runs(self) -> None:
        """Every run, a couple of times a second while any trains (every 2 s once all are done)."""
        worker = get_current_worker()
        last_error = None
        try:
            while not (worker.is_cancelled or self._stopping.is_set()):
                try:
                    state = self.runs.poll()
                    last_error = None
                    if state is not None:
                        self.post_message(CompareUpdated(state))
                except (RunStoreError, OSError, ValueError) as e:
                    if str(e) != last_error:
                        last_error = str(e)
                        self.post_message(CompareFailed(last_error))
                wait = self.compare_interval if self.runs.live else 4 * self.compare_interval
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and not (worker.is_cancelled or self._stopping.is_set()):
                    time.sleep(0.05)
        finally:
            if self._stopping.is_set():
                self.runs.close()

    def on_compare_updated(self, message: CompareUpdated) -> None:
        self.compare_state = message.state
        self.compare_updates += 1
        from osig_tui.screens.compare import CompareScreen
        for screen in self.screen_stack:
            if isinstance(screen, CompareScreen):
                screen.apply_state()

    def on_compare_failed(self, message: CompareFailed) -> None:
        self.notify(message.message, title="could not read a run", severity="error", markup=False)

    # ------------------------------------------------------------------ one member
    def open_run(self, index: int) -> None:
        """Attach to member `index` and show its dashboard."""
        state = self.compare_state
        if state is None or not 0 <= index < len(state.members):
            return
        member = state.members[index]
        if not member.readable:
            self.notify(f"{member.name} has not started yet ({member.status})", severity="warning", markup=False)
            return
        try:
            poller = StorePoller(member.path)
        except RunStoreError as e:
            self.notify(str(e), title="could not open the run", severity="error", markup=False)
            return
        from osig_tui.screens.compare import MemberDashboard
        self._use(poller)
        self._poll()
        self.push_screen(MemberDashboard())
        self.refresh_bindings()

    def close_run(self) -> None:
        """Back to the comparison; the member's poll worker ends and closes its reader."""
        from osig_tui.screens.compare import CompareScreen
        while len(self.screen_stack) > 1 and not isinstance(self.screen, CompareScreen):
            self.pop_screen()
        self._use(None)
        self._wake.set()
        self.refresh_bindings()

    # ------------------------------------------------------------------ keys
    def check_action(self, action: str, parameters) -> bool | None:
        """Stepping through history needs a run: only on a member's dashboard."""
        if self.poller is None and action in ("step", "latest"):
            return False
        return super().check_action(action, parameters)

    def action_quit_watch(self) -> None:
        """Quit at once: members are their own processes (stop one from its dashboard with s)."""
        live = self.compare_state is not None and any(m.live for m in self.compare_state.members)
        self.exit("runs still training continue in the background" if live else None)
