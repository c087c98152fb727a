"""The sweep's process pool: at most `jobs` members at once, progress read from their run directories,
Ctrl-C forwarded so every member stops after its step with a final checkpoint (resumable).

Members are ordinary `osig run` processes; this loop only starts them, polls their stores (a couple
of SQLite reads a member per poll) and keeps sweep.json's statuses true. The caller decides each
member's action first (manifest.next_action), so a bad member directory stops the sweep before any
member starts.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from osig_core.store import layout as L
from osig_core.sweeps.grid import Member, run_argv
from osig_core.sweeps.launch import ENGINE_LOG, slot_env
from osig_core.sweeps.manifest import Sweep, wait_quiet

POLL_S = 0.5


@dataclass
class MemberState:
    member: Member
    action: str  # skip, resume, restart, fresh
    status: str = "pending"  # pending, running, finished, diverged, stopped, failed
    step: int = 0  # steps done
    total: int = 0
    loss: float | None = None
    message: str | None = None
    handle: Any = None
    reader: Any = None
    slot: int = -1
    seconds: float = 0.0
    _t0: float = field(default=0.0, repr=False)


def _open(st: MemberState, sweep: Sweep):
    if st.reader is None:
        d = sweep.run_dir(st.member)
        if (d / L.CONFIG_FILE).is_file() and (d / L.DB_FILE).is_file():
            from osig_core.store.reader import RunReader
            try:
                st.reader = RunReader(d)
            except L.RunStoreError:  # still being created: try again next poll
                return None
    return st.reader


def read_progress(st: MemberState, sweep: Sweep) -> None:
    """Steps done, total and the latest train loss, from the member's store (nothing if not readable yet)."""
    r = _open(st, sweep)
    if r is None:
        return
    try:
        last = r.last_step()
        st.total = int(r.config.steps)
        if last is not None:
            st.step = last + 1
            loss = r.metrics(since=last - 1).get("train_loss")
            if loss is not None and len(loss) and math.isfinite(loss[-1]):
                st.loss = float(loss[-1])
    except (L.RunStoreError, OSError):
        pass


def _log_sentence(sweep: Sweep, m: Member) -> str | None:
    try:
        lines = (sweep.run_dir(m) / ENGINE_LOG).read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith("osig: error: "):
            return line[len("osig: error: "):].strip()
    return lines[-1].strip()[:200] if lines else None


def _finish(st: MemberState, sweep: Sweep, code: int, stopping: bool) -> None:
    wait_quiet(sweep.run_dir(st.member))  # a cancelled submitit job's member may still be writing its checkpoint
    read_progress(st, sweep)
    r = _open(st, sweep)
    status, reason = (None, None)
    if r is not None:
        try:
            status, reason = r.status()
        except L.RunStoreError as e:
            status, reason = "failed", str(e)
    if status is None:
        status = "stopped" if stopping and code in (130, -2, -1) else "failed"
        reason = None if status == "stopped" else (_log_sentence(sweep, st.member) or f"exit code {code}")
    elif status == "failed":
        reason = _log_sentence(sweep, st.member) or reason
    st.status, st.message = status, reason if status != "finished" else None
    st.seconds = time.monotonic() - st._t0
    if st.reader is not None:
        st.reader.close()
        st.reader = None


def _record(sweep: Sweep, st: MemberState) -> None:
    sweep.set(st.member, st.status, steps_done=st.step, message=st.message)


def run_pool(sweep: Sweep, states: list[MemberState], launcher, jobs: int, threads: int | None, gpus: list[str],
             on_change: Callable[[str, MemberState], None] | None = None, poll_s: float = POLL_S) -> bool:
    """Run every state whose action is not 'skip'; returns False if a signal stopped the sweep."""
    notify = on_change or (lambda kind, st: None)
    todo = [s for s in states if s.action != "skip"]
    running: list[MemberState] = []
    free = list(range(jobs))
    signals: list[int] = []
    forwarded = [0]
    restore = _catch_signals(signals)
    try:
        while todo or running:
            while todo and free and not signals:
                st = todo.pop(0)
                st.slot = free.pop(0)
                d = sweep.run_dir(st.member)
                argv = ["--resume", str(d)] if st.action == "resume" else \
                    [*run_argv(st.member.flags, sweep.grid.config), "--run-dir", str(d)] + (["--force"] if st.action == "restart" else [])
                st.status, st._t0 = "running", time.monotonic()
                st.handle = launcher.start(argv, d / ENGINE_LOG, slot_env(st.slot, threads, gpus))
                running.append(st)
                _record(sweep, st)
                sweep.save()
                notify("start", st)
            while forwarded[0] < len(signals):  # each Ctrl-C once to every running member
                for st in running:
                    st.handle.interrupt(signals[forwarded[0]])
                forwarded[0] += 1
            time.sleep(poll_s)
            for st in list(running):
                code = st.handle.poll()
                if code is None:
                    read_progress(st, sweep)
                    notify("progress", st)
                    continue
                running.remove(st)
                free.append(st.slot)
                _finish(st, sweep, code, bool(signals))
                _record(sweep, st)
                sweep.save()
                notify("end", st)
            if signals and not running:
                break
    finally:
        restore()
    sweep.save()
    return not signals


def _catch_signals(received: list[int]) -> Callable[[], None]:
    """SIGINT / SIGTERM / SIGHUP are noted (the loop forwards them); the sweep never dies mid-bookkeeping."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    caught = [signal.SIGINT, signal.SIGTERM]
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # a lost terminal: members stop as `osig run` would
        caught.append(signal.SIGHUP)
    old = {s: signal.signal(s, lambda signum, _f: received.append(signum)) for s in caught}
    return lambda: [signal.signal(s, h) for s, h in old.items()]
