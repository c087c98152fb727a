"""Pictures that survive SSH: osig asks the terminal what it draws (sixel, kitty graphics, 24-bit
colour) instead of trusting TERM / COLORTERM, and draws 256-colour half-blocks that stay close to the
picture. The terminal here is a pseudo-terminal whose other end answers like xterm, tmux, or not at all."""
from __future__ import annotations

import io
import os
import sys
import termios
import threading
from pathlib import Path

import numpy as np
import pytest
from rich.color import ColorType
from rich.console import Console
from rich.text import Text

from osig_tui.halfblock import _resize, halfblock_segments
from osig_tui.terminal_caps import ALL_QUERIES, TerminalCaps, colors_from_env, parse_answers, query_terminal
from osig_tui.widgets.images import resolve_image_mode
from osig_tui.xterm256 import delta_e, index_rgb, nearest_index, palette

# what real terminals answered to ALL_QUERIES (recorded on this machine: xterm -ti vt340, tmux 3.3a)
XTERM_ANSWER = b"\x1bP1$r0;48:2::1:2:3m\x1b\\\x1b[?63;1;2;4;6;9;15;16;22;28c"
TMUX_ANSWER = b"\x1b[?1;2c"
KITTY_ANSWER = b"\x1b_Gi=31;OK\x1b\\\x1bP1$r48:2:1:2:3m\x1b\\\x1b[?62;c"


def test_answers_are_read_as_the_terminal_meant_them():
    xterm = parse_answers(XTERM_ANSWER, env={"TERM": "xterm"})  # over SSH: TERM=xterm, no COLORTERM
    assert (xterm.sixel, xterm.kitty, xterm.colors, xterm.how) == (True, False, "truecolor", "asked")
    assert xterm.image_mode() == "sixel"
    tmux = parse_answers(TMUX_ANSWER, env={"TERM": "tmux-256color"})
    assert (tmux.sixel, tmux.kitty, tmux.colors, tmux.image_mode()) == (False, False, "256", "halfcell")
    kitty = parse_answers(KITTY_ANSWER, env={"TERM": "xterm-kitty"})
    assert (kitty.kitty, kitty.colors, kitty.image_mode()) == (True, "truecolor", "kitty")
    # answered the device attributes but not DECRQSS, TERM=xterm: a modern emulator, 256 colours
    assert parse_answers(b"\x1b[?62;22c", env={"TERM": "xterm"}).colors == "256"
    # a terminal that downgrades 24-bit colour reports the palette colour it kept: not truecolor
    assert parse_answers(b"\x1bP1$r0;48;5;16m\x1b\\\x1b[?62c", env={"TERM": "xterm"}).colors == "256"
    # the size of a cell in pixels (ESC [ 16 t), for scaling sixel pictures
    assert parse_answers(b"\x1b[6;20;10t\x1b[?62;4c", env={}).cell == (10, 20)
    silent = parse_answers(b"", env={"TERM": "xterm"})
    assert (silent.answered, silent.sixel, silent.colors) == (False, False, "standard")


def test_no_kitty_query_inside_tmux_or_screen():
    """tmux and screen take the kitty query's APC string for a window title (seen in tmux's status line)."""
    from osig_tui.terminal_caps import KITTY_QUERY, queries_for
    assert KITTY_QUERY in queries_for({"TERM": "xterm"})
    for env in ({"TERM": "tmux-256color", "TMUX": "/tmp/t,1,0"}, {"TERM": "screen"}, {"TERM": "xterm", "STY": "1.pts"}):
        assert KITTY_QUERY not in queries_for(env) and queries_for(env).endswith("\x1b[c")


def test_environment_is_only_the_fallback():
    assert colors_from_env({"COLORTERM": "truecolor", "TERM": "xterm"}) == "truecolor"
    assert colors_from_env({"TERM": "xterm-256color"}) == "256"
    assert colors_from_env({"TERM": "screen", "TMUX": "/tmp/tmux-0/default,1,0"}) == "256"
    assert colors_from_env({"TERM": "linux"}, answered=True) == "standard"


class FakeTerminal:
    """The far end of a pseudo-terminal: records what osig sends and answers `reply` (or nothing)
    once the device-attributes query has arrived."""

    def __init__(self, reply: bytes | None):
        self.master, self.slave = os.openpty()
        self.reply, self.got = reply, b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while b"\x1b[c" not in self.got:
            try:
                chunk = os.read(self.master, 1024)
            except OSError:
                return
            if not chunk:
                return
            self.got += chunk
        if self.reply is not None:
            os.write(self.master, self.reply)

    def close(self) -> None:
        os.close(self.slave)
        os.close(self.master)
        self.thread.join(timeout=5)


@pytest.mark.parametrize("reply", [XTERM_ANSWER, TMUX_ANSWER])
def test_the_terminal_is_asked_and_its_mode_restored(reply):
    term = FakeTerminal(reply)
    try:
        before = termios.tcgetattr(term.slave)
        data = query_terminal(term.slave, term.slave, timeout=30.0)  # returns on the answer, not the limit
        assert termios.tcgetattr(term.slave) == before
        assert term.got.startswith(ALL_QUERIES.encode())
        assert data == reply
    finally:
        term.close()


def test_a_terminal_that_never_answers_costs_the_timeout_only():
    term = FakeTerminal(None)
    try:
        before = termios.tcgetattr(term.slave)
        data = query_terminal(term.slave, term.slave, timeout=0.2)
        assert data == b""
        assert termios.tcgetattr(term.slave) == before
        caps = parse_answers(data, env={"TERM": "xterm-256color"})
        assert caps.image_mode() == "halfcell" and caps.colors == "256"
    finally:
        term.close()


def test_images_flag_overrides_what_the_terminal_answered(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "__stdout__", out)
    sixel = TerminalCaps(sixel=True, colors="truecolor", answered=True, how="asked")
    assert resolve_image_mode("auto", sixel) == "sixel"
    assert sys.__stdout__ is out and out.getvalue() == ""  # the graphics library asked the terminal nothing
    assert resolve_image_mode("auto", TerminalCaps(kitty=True, colors="truecolor")) == "kitty"
    assert resolve_image_mode("halfcell", sixel) == "halfcell"
    assert resolve_image_mode("none", sixel) == "none"
    assert resolve_image_mode("auto", TerminalCaps(colors="256")) == "halfcell"


# ---------------------------------------------------------------- 256 colours

def _photo() -> np.ndarray:
    """A known natural image: the portrait shipped with textual-image."""
    import textual_image
    from PIL import Image
    path = Path(textual_image.__file__).parent / "gracehopper.jpg"
    return np.asarray(Image.open(path).convert("RGB"))


def _rich_256(px: np.ndarray) -> np.ndarray:
    """What Rich itself makes of 24-bit colours in a 256-colour terminal (the old behaviour)."""
    from rich.color import Color, ColorSystem
    flat = px.reshape(-1, 3)
    return np.array([Color.from_rgb(*map(int, p)).downgrade(ColorSystem.EIGHT_BIT).get_truecolor() for p in flat],
                    np.uint8).reshape(px.shape)


def test_palette_is_xterms():
    p = palette()
    assert p.shape == (240, 3)
    assert tuple(p[0]) == (0, 0, 0) and tuple(p[215]) == (255, 255, 255)  # colours 16 and 231
    assert tuple(p[16 * 0 + 196 - 16]) == (255, 0, 0) and tuple(p[232 - 16]) == (8, 8, 8)
    assert list(nearest_index(np.array([[255, 0, 0], [128, 128, 128], [0, 0, 0]], np.uint8))) == [196, 244, 16]


@pytest.mark.parametrize("size", [12, 48])
def test_256_colour_pictures_stay_close_to_the_truecolor_ones(size):
    """Mean CIE76 colour error of the 256-colour thumbnail against the 24-bit one: at most 11
    (measured 10.5 at 12×12, 9.9 at 48×48); Rich's own downgrade gives 15.0 / 12.6, and the 16
    colours Rich uses for TERM=xterm give 33."""
    px = _resize(_photo(), size, size)
    ours = delta_e(px, index_rgb(nearest_index(px))).mean()
    assert ours <= 11.0
    assert ours < delta_e(px, _rich_256(px)).mean() - 1.5


def test_256_colour_half_blocks_are_written_as_xterm_colour_numbers():
    img = _resize(_photo(), 8, 8)
    lines = halfblock_segments(img, 8, 4, colors="256")
    styles = [seg.style for line in lines for seg in line]
    assert all(s.color.type == ColorType.EIGHT_BIT and s.bgcolor.type == ColorType.EIGHT_BIT for s in styles)
    text = Text.assemble(*((seg.text, seg.style) for line in lines for seg in line))
    for system in ("256", "truecolor"):  # a 256-colour code is never turned into something else
        con = Console(file=io.StringIO(), color_system=system, force_terminal=True, width=40)
        con.print(text)
        out = con.file.getvalue()
        assert "38;5;" in out and "48;5;" in out and "38;2;" not in out


# ---------------------------------------------------------------- in the monitor

@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from fixtures.synthetic_run import write_run
    return write_run(tmp_path_factory.mktemp("term") / "fx", n=240, steps=40)


def _drive(run_dir, script, **kw):
    import asyncio
    from fixtures.tui_pilot import ready
    from osig_tui.app import WatchApp
    app = WatchApp(run_dir, **kw)

    async def main():
        async with app.run_test(size=(120, 36)) as pilot:
            await ready(pilot)
            await pilot.pause()
            await script(pilot)
    asyncio.run(main())


def test_dashboard_thumbnails_use_xterm_colours_in_a_256_colour_terminal(finished):
    from osig_tui.widgets.outliers import OutlierStrip

    async def script(pilot):
        strip = pilot.app.screen.query_one(OutlierStrip)
        cells = [seg.style for line in strip.lines() for seg in line if seg.text == "▀"]
        assert cells and all(s.color.type == ColorType.EIGHT_BIT for s in cells)
    _drive(finished, script, image_mode="halfcell", terminal=TerminalCaps(colors="256", answered=True))


def test_dashboard_thumbnails_are_sixel_pictures_where_the_terminal_draws_sixel(finished):
    from textual_image.widget import SixelImage
    from osig_tui.widgets.outlier_cards import OutlierCards

    async def script(pilot):
        cards = pilot.app.screen.query_one("#outliers")
        assert isinstance(cards, OutlierCards)
        from fixtures.tui_pilot import wait_for
        await wait_for(pilot, lambda: len(cards.query(SixelImage)) > 0, what="sixel thumbnails")
        view = pilot.app.view
        shown = len(cards.query(SixelImage))
        assert shown == min(cards.per_side, len(view.up)) + min(cards.per_side, len(view.down))
        assert f"{view.up[0].delta:+.2f}" in cards.plain() and "rose most" in cards.plain()
    caps = TerminalCaps(sixel=True, colors="truecolor", answered=True, how="asked")
    _drive(finished, script, image_mode="sixel", terminal=caps)
