"""`osig watch`: the live monitor of one run directory (Textual).

App → screens (dashboard, group, help, modals) → widgets. A thread worker polls the store a few
times a second and posts dataclass messages; the app keeps the latest state and hands it to the
screens, which update only the widgets whose data changed. Controls (pause, checkpoint, stop) go
to the engine through the run's control table.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from threading import Event, Lock

from textual import work
from textual.app import App
from textual.css.query import NoMatches
from textual.message import Message
from textual.worker import get_current_worker

from osig_tui.app_bindings import APP_BINDINGS
from osig_tui.terminal_caps import TerminalCaps
from osig_tui.widgets.images import ThumbCache
from osig_tui.widgets.members import warm_thumbs
from osig_tui.store_poller import GroupDetail, PollResult, Progress, StepView, StorePoller, run_poll_loop


@dataclass
class StoreUpdated(Message):
    """New data from the poller (either part may be None: unchanged). `poller`: which run it came
    from, so a result of a run the app has since left (a comparison's member) is dropped."""
    result: PollResult
    poller: StorePoller | None = None


@dataclass
class StoreFailed(Message):
    message: str


NOTIFY_EVENTS = {"checkpoint": "information", "pause": "information", "resume": "information",
                 "stopped": "warning", "diverged": "error", "failed": "error", "finished": "information"}


class WatchApp(App[str | None]):
    CSS_PATH = "watch.tcss"
    TITLE = "osig watch"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = APP_BINDINGS

    def __init__(self, run_dir: str | Path | None, *, image_mode: str = "halfcell", poll_interval: float = 0.25,
                 terminal: TerminalCaps | None = None):
        """Opens the run now, so a directory that is not a run fails before the screen changes
        (None: no run yet; a comparison attaches to its members in turn).
        `terminal`: what the terminal answered before the app started (default: 24-bit colour)."""
        super().__init__()
        self.image_mode = image_mode
        self.terminal = terminal if terminal is not None else TerminalCaps(colors="truecolor")
        self.poll_interval = poll_interval
        self._wake = Event()
        self._stopping = Event()
        self._groups_lock = Lock()
        self._use(None if run_dir is None else StorePoller(run_dir))

    def _use(self, poller: StorePoller | None) -> None:
        """Show this run from now on (its poll worker is started by the caller)."""
        self.poller = poller
        self.info = None if poller is None else poller.info
        self.progress: Progress | None = None
        self.view: StepView | None = None
        self.updates = 0  # poll results received (tests wait on it)
        self._target: int | None = None  # the step last asked for with [ ] (None: follow the latest)
        self._seen_events = False
        with self._groups_lock:
            self._groups: dict[tuple[int, int], GroupDetail] = {}  # (pair id, step) -> detail, newest last
        # half-block pictures by sample id, shared by every screen, in the colours the terminal draws
        self.thumbs = ThumbCache(size=1024, colors=self.terminal.colors)

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        from osig_tui.screens.dashboard import DashboardScreen
        self.push_screen(DashboardScreen())
        self._poll()
        self.call_after_refresh(self._settle_garbage_collector)

    def on_resize(self, event) -> None:
        """Size classes for the stylesheet (WatchApp.-short ...): screens lay out for 80×24 with them."""
        self.set_class(event.size.height < 30, "-short")
        self.set_class(event.size.width < 100, "-narrow")

    def _settle_garbage_collector(self) -> None:
        """Move everything alive after start-up (Textual, store views, numpy) out of the collector's
        sight and make full passes rarer: a full pass over those objects is what made occasional keys
        take 50-200 ms (benchmarks/bench_tui.py). Cycles created later are still collected; unmount
        puts the collector back as it was."""
        gc.collect()
        gc.freeze()
        self._gc_threshold = gc.get_threshold()
        gen0, gen1, _ = self._gc_threshold
        gc.set_threshold(max(gen0, 5000), gen1, 50)

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll(self) -> None:
        """Poll the current run until the app ends or moves to another run, then close its reader."""
        worker = get_current_worker()
        poller = self.poller
        if poller is None:
            return
        left = lambda: worker.is_cancelled or self._stopping.is_set() or poller is not self.poller  # noqa: E731
        try:
            run_poll_loop(poller, lambda r: self.post_message(StoreUpdated(r, poller)),
                          lambda m: self.post_message(StoreFailed(m)), left, self._wake, self.poll_interval)
        finally:
            if left():
                poller.close()

    def on_unmount(self) -> None:
        self._stopping.set()
        self._wake.set()
        if getattr(self, "_gc_threshold", None) is not None:
            gc.set_threshold(*self._gc_threshold)
            gc.unfreeze()

    def exit(self, *args, **kwargs) -> None:
        self._stopping.set()
        self._wake.set()
        super().exit(*args, **kwargs)

    # ------------------------------------------------------------------ pairs
    def group_screen(self):
        from osig_tui.screens.group import GroupScreen
        if not self.is_screen_installed("group"):
            self.install_screen(GroupScreen(), "group")
        return self.get_screen("group")

    def load_group(self, pair_id: int, step: int) -> GroupDetail:
        """Read a pair's detail (call on a worker thread); kept for a few recent (pair, step)s."""
        detail = self.cached_group(pair_id, step)
        if detail is None:
            detail = self.poller.group(pair_id, step)
            if self.image_mode == "halfcell" and detail.found:
                warm_thumbs(self.thumbs, detail.sides)
            with self._groups_lock:
                self._groups[(pair_id, step)] = detail
                while len(self._groups) > 8:
                    self._groups.pop(next(iter(self._groups)))
        return detail

    def cached_group(self, pair_id: int, step: int) -> GroupDetail | None:
        with self._groups_lock:
            return self._groups.get((pair_id, step))

    @work(thread=True, exclusive=True, group="prefetch", exit_on_error=False)
    def prefetch_group(self, pair_id: int, step: int) -> None:
        self.load_group(pair_id, step)

    # ------------------------------------------------------------------ data in
    def on_store_updated(self, message: StoreUpdated) -> None:
        if message.poller is not None and message.poller is not self.poller:
            return  # from a run the app has left
        r = message.result
        if r.progress is not None:
            was_live = self.live
            self.progress = r.progress
            if self.live != was_live:
                self.refresh_bindings()  # p, c and s come and go with the engine
            if self._seen_events:
                for e in r.progress.events:
                    severity = NOTIFY_EVENTS.get(e.get("kind"))
                    if severity:
                        self.notify(str(e.get("message")), title=str(e.get("kind")), severity=severity, markup=False)
            self._seen_events = True
        if r.view is not None:
            self.view = r.view
        self.updates += 1
        for screen in self.screen_stack:
            apply = getattr(screen, "apply_update", None)
            if apply is None:
                continue
            try:
                apply(r.progress is not None, r.view is not None)
            except NoMatches:  # mounting or closing; a screen reads the latest state when it mounts
                pass

    def on_store_failed(self, message: StoreFailed) -> None:
        self.notify(message.message, title="could not read the run", severity="error", markup=False)

    @property
    def live(self) -> bool:
        return self.progress is not None and self.progress.live

    @property
    def status(self) -> str:
        return "starting" if self.progress is None else self.progress.status

    # ------------------------------------------------------------------ controls
    def check_action(self, action: str, parameters) -> bool | None:
        """Pause, checkpoint and stop exist (in the footer too) only while an engine runs."""
        if action in ("pause", "checkpoint", "stop"):
            return self.live
        return True

    def _send(self, command: str, note: str) -> None:
        try:
            self.poller.send(command)
        except Exception as e:  # a read-only disk or a vanished run: say so, keep the monitor up
            self.notify(f"could not send '{command}': {e}", severity="error", markup=False)
            return
        self.notify(note, markup=False)
        self._wake.set()

    def _need_live(self, what: str) -> bool:
        if self.live:
            return True
        self.notify(f"the run is {self.status}; there is nothing to {what}", severity="warning", markup=False)
        return False

    def action_pause(self) -> None:
        if not self._need_live("pause"):
            return
        if self.status == "paused":
            self._send("resume", "asked the engine to resume")
        else:
            self._send("pause", "asked the engine to pause (it pauses between steps)")

    def action_checkpoint(self) -> None:
        if self._need_live("checkpoint"):
            self._send("checkpoint", "asked the engine to checkpoint after this step")

    def action_stop(self) -> None:
        if not self._need_live("stop"):
            return
        from osig_tui.screens.modals import ConfirmScreen

        def done(yes: bool | None) -> None:
            if yes:
                self._send("stop", "asked the engine to stop (it checkpoints first)")
        self.push_screen(ConfirmScreen("Stop training? The engine checkpoints and ends the run "
                                       "(continue it later with `osig run --resume RUN_DIR`).",
                                       "Stop training", "Keep training"), done)

    def action_step(self, delta: int) -> None:
        if self.status in ("running", "starting"):
            self.notify("pause training (p) to step through its history", severity="warning")
            return
        h = None if self.progress is None else self.progress.history
        if h is None or h.last_step is None:
            return
        current = h.last_step if self.view is None or self.view.step is None else self.view.step
        base = current if self._target is None else self._target  # keys pressed faster than answers add up
        target = min(max(base + delta, int(h.steps[0])), h.last_step)
        self._target = None if target >= h.last_step else target
        self.poller.request_step(self._target)
        self._wake.set()

    def action_latest(self) -> None:
        self._target = None
        self.poller.request_step(None)
        self._wake.set()

    def action_help(self) -> None:
        from osig_tui.screens.help import HelpScreen
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_quit_watch(self) -> None:
        if not self.live:
            self.exit(None)
            return
        from osig_tui.screens.modals import QuitScreen

        def done(choice: str | None) -> None:
            if choice == "stop":
                try:
                    self.poller.send("stop")
                except Exception as e:
                    self.exit(f"could not ask the engine to stop: {e}")
                    return
                self.exit(f"asked the engine to stop; the run stays in {self.info.path}")
            elif choice == "leave":
                self.exit(f"training continues in the background; re-attach with: osig watch {self.info.path}")
        self.push_screen(QuitScreen(), done)
