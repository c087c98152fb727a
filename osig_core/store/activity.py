"""What the engine is doing right now, for whoever watches a step that takes long.

The engine calls `say("sharpness estimate")` as it moves between phases and an instrument may
report finer progress through `ctx.report` ("sharpness estimate, HVP 5 of ≤ 20").
Saying is a few attribute writes, cheap enough for every HVP. An in-process listener (the
progress bar of `osig run`) hears each message at once; the run directory gets the latest one at
most twice a second, written by a small thread over its own database connection, so a wait of any
length is visible in `osig watch` without the loop itself ever writing more.

In the store: meta key `activity` = {"step": t, "text": "...", "since": unix time the phase began}
(None when nothing is running). A reader shows it only while the run is live and step t is not
yet committed: an older one is stale.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

from osig_core.store import layout as L

PUBLISH_EVERY_S = 0.5
# an instrument's `name` -> what the engine says while it runs
INSTRUMENT_ACTIVITY = {"sharpness": "sharpness estimate", "per_sample": "per-sample curvature", "probes": "probes"}


class Activity:
    def __init__(self, db_path: Path | None, listener: Callable[[int, str], None] | None = None):
        self.step = 0
        self.text = ""
        self._phase = ""
        self._since = time.time()
        self._listener = listener
        self._version = 0
        self._stop = threading.Event()
        self._thread = None
        if db_path is not None:
            self._thread = threading.Thread(target=self._publish_loop, args=(Path(db_path),), daemon=True,
                                            name="osig-activity")
            self._thread.start()

    def say(self, step: int, text: str) -> None:
        """The engine enters a phase of step `step`."""
        self.step = step
        if text != self._phase:
            self._phase, self._since = text, time.time()
        self._set(text)

    def detail(self, text: str) -> None:
        """Finer progress within the current phase (an instrument's own words); what ctx.report calls."""
        self._set(f"{self._phase}, {text}" if self._phase and not text.startswith(self._phase) else text)

    def _set(self, text: str) -> None:
        self.text = text
        self._version += 1
        if self._listener is not None:
            try:
                self._listener(self.step, self.message())
            except Exception:  # a display problem must never stop training
                pass

    def message(self) -> str:
        return f"step {self.step}: {self.text}" if self.text else ""

    def close(self) -> None:
        """Stop publishing and clear the stored activity (the run is no longer doing anything)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _publish_loop(self, db_path: Path) -> None:
        con = None
        published = -1
        try:
            while not self._stop.wait(PUBLISH_EVERY_S):
                version = self._version
                if version == published:
                    continue
                doc = {"step": self.step, "text": self.text, "since": self._since}
                try:
                    if con is None:
                        con = L.connect(db_path, timeout=1.0)
                    with con:
                        con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('activity', ?)", (json.dumps(doc),))
                    published = version
                except (sqlite3.Error, OSError):  # best effort: a busy or failing disk is the engine's to report
                    pass
            if con is not None and published >= 0:
                with con:
                    con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('activity', 'null')")
        except (sqlite3.Error, OSError):
            pass
        finally:
            if con is not None:
                con.close()


def current_activity(meta: dict, last_step: int | None, live: bool) -> tuple[str, float] | None:
    """(message, seconds it has been running) from a run's meta, if it is about a step not yet
    committed and the run is live; None otherwise (stale, finished, or never said)."""
    a = meta.get("activity")
    if not live or not isinstance(a, dict) or not a.get("text"):
        return None
    try:
        step = int(a["step"])
        since = float(a.get("since") or time.time())
    except (KeyError, TypeError, ValueError):
        return None
    if last_step is not None and step <= last_step:
        return None
    return f"step {step}: {a['text']}", max(0.0, time.time() - since)
