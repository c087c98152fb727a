"""The keys of `osig watch` that work on every screen: WatchApp binds them and the help screen lists
them, both from here, so the help screen does not import the app that opens it."""
from __future__ import annotations

from textual.binding import Binding

APP_BINDINGS = [
    Binding("p", "pause", "Pause/resume"),
    Binding("c", "checkpoint", "Checkpoint"),
    Binding("s", "stop", "Stop"),
    Binding("left_square_bracket", "step(-1)", "Prev step", key_display="["),
    Binding("right_square_bracket", "step(1)", "Next step", key_display="]"),
    Binding("left_curly_bracket", "step(-10)", "Prev 10 steps", key_display="{", show=False),
    Binding("right_curly_bracket", "step(10)", "Next 10 steps", key_display="}", show=False),
    Binding("g", "latest", "Latest step", show=False),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("q", "quit_watch", "Quit"),
    Binding("ctrl+c", "quit_watch", "Quit", show=False, priority=True),
]
