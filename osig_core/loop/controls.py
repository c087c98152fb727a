"""`osig watch`'s controls, obeyed the same way by both drivers between steps.

pause blocks here (a heartbeat keeps the run alive for watchers) until resume; checkpoint saves one
now; stop ends the wait and is returned to the driver, which stops as it can: the engine leaves its
loop, osig.Monitor raises StopTraining into the user's loop.
"""
from __future__ import annotations

import time
from typing import Callable

POLL_S = 0.2


def handle_controls(poll: Callable[[], list[str]], writer, step: int, checkpoint: Callable[[], object], *,
                    interrupted: Callable[[], bool] = lambda: False,
                    paused_for: Callable[[float], None] | None = None, poll_s: float = POLL_S) -> bool:
    """Apply the pending commands; True when asked to stop. `poll` returns the commands pending now,
    `interrupted` ends a pause early (a signal), `paused_for` hears how long a pause lasted."""
    paused, paused_at = False, 0.0
    while True:
        for cmd in poll():
            if cmd == "stop":
                return True
            if cmd == "checkpoint":
                checkpoint()
            elif cmd == "pause" and not paused:
                paused, paused_at = True, time.perf_counter()
                writer.set_meta(status="paused")
                writer.event(step, "pause", f"paused at step {step}")
            elif cmd == "resume" and paused:
                paused = False
                if paused_for is not None:
                    paused_for(time.perf_counter() - paused_at)  # time paused is no step's time
                writer.set_meta(status="running")
                writer.event(step, "resume", f"resumed at step {step}")
        if not paused or interrupted():
            return False
        writer.set_meta(heartbeat=time.time())
        time.sleep(poll_s)
