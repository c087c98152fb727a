"""Ctrl-C, SIGTERM and a lost terminal (SIGHUP) stop a run after its step, with a final checkpoint;
a second Ctrl-C quits at once. Handlers are installed only on the main thread and restored after."""
from __future__ import annotations

import signal
import threading
from typing import Callable


class StopSignals:
    def __init__(self):
        self.name: str | None = None  # the signal that asked for a stop ("SIGINT", ...), or None

    def install(self) -> Callable[[], None]:
        """Install the handlers; returns the function that puts the old ones back."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum, _frame):
            if signum == signal.SIGINT and self.name is not None:
                raise KeyboardInterrupt  # Ctrl-C twice: quit now rather than after the step and its checkpoint
            self.name = signal.Signals(signum).name

        signals = [signal.SIGINT, signal.SIGTERM]
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # a lost terminal or SSH session (not under nohup)
            signals.append(signal.SIGHUP)
        old = {s: signal.signal(s, handler) for s in signals}
        return lambda: [signal.signal(s, h) for s, h in old.items()]
