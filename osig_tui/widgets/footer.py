"""The footer, with Help and Quit pinned to its right end: on a narrow terminal the other keys are
cut from the right, never `?` and `q` (every other key is listed under `?`)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import HorizontalGroup
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

ESSENTIAL_ACTIONS = ("app.help", "app.quit_watch", "help", "quit_watch")


class OsigFooter(Footer):
    DEFAULT_CSS = """
    OsigFooter .essential-keys {
        dock: right;
        width: auto;
        height: 1;
        background: $footer-background;
    }
    OsigFooter .essential-keys FooterKey {
        margin: 0 0 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        essential = [k for k in keys if isinstance(k, FooterKey) and k.action in ESSENTIAL_ACTIONS]
        yield from (k for k in keys if k not in essential)
        if essential:
            yield HorizontalGroup(*essential, classes="essential-keys")

    def on_resize(self, event) -> None:
        self.compact = event.size.width < 100  # less padding between keys on a small terminal
