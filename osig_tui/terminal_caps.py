"""What the terminal can draw, asked of the terminal itself before the monitor starts.

Environment variables do not survive SSH (COLORTERM is not forwarded, TERM is often plain
`xterm`), so osig sends three queries at once and reads the answers:

* kitty graphics: `ESC _ G i=31,s=1,v=1,a=q,t=d,f=24;AAAA ESC \\` is answered `ESC _ G i=31;OK ESC \\`;
* truecolor: set an odd direct background colour and read it back with DECRQSS (`ESC P $ q m ESC \\`);
  a terminal that keeps 24-bit colours answers with `48;2;1;2;3` (or `48:2::1:2:3`);
* sixel: the primary device attributes (`ESC [ c`), whose answer `ESC [ ? 62;4;... c` lists 4 for sixel;
* the size of a cell in pixels (`ESC [ 16 t`, when the tty does not say), which sixel pictures need.

Inside tmux or screen the kitty query is not sent (they take an APC string for a window title, and
pass no kitty graphics through). Every terminal answers the device-attributes query and answers in
order, so its reply ends the wait; a terminal that answers nothing costs `timeout` seconds at most. The tty mode is restored
and any late answer discarded, so it never reaches the app as key presses. No Textual here.
"""
from __future__ import annotations

import dataclasses
import os
import re
import sys
import time
from dataclasses import dataclass

COLOR_SYSTEMS = ("truecolor", "256", "standard")
IMAGE_MODES = ("auto", "sixel", "kitty", "halfcell", "none")  # --images

KITTY_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
TRUECOLOR_QUERY = "\x1b[48;2;1;2;3m\x1bP$qm\x1b\\\x1b[m"  # set, ask back (DECRQSS), reset
CELL_QUERY = "\x1b[16t"
DA1_QUERY = "\x1b[c"
ALL_QUERIES = KITTY_QUERY + TRUECOLOR_QUERY + CELL_QUERY + DA1_QUERY

_DA1 = re.compile(rb"\x1b\[\?([0-9;]*)c")
_KITTY_OK = re.compile(rb"\x1b_Gi=31[^\x1b]*;OK\x1b\\")
_DECRQSS = re.compile(rb"\x1bP1\$r([^\x1b]*)\x1b\\")
_CELL = re.compile(rb"\x1b\[6;(\d+);(\d+)t")
_DIRECT_BG = re.compile(r"48[:;]2[:;]{1,2}1[:;]2[:;]3(?![0-9])")

_TRUECOLOR_TERMS = ("xterm-kitty", "alacritty", "foot", "wezterm", "xterm-ghostty", "contour")
_TRUECOLOR_PROGRAMS = ("iTerm.app", "WezTerm", "vscode", "ghostty", "Hyper", "tabby")


@dataclass(frozen=True)
class TerminalCaps:
    """What a terminal answered (or what its environment suggests, when it answered nothing)."""
    sixel: bool = False
    kitty: bool = False
    colors: str = "standard"  # one of COLOR_SYSTEMS
    answered: bool = False  # it answered the device-attributes query
    how: str = "environment"  # where `colors` came from: "asked" or "environment"
    cell: tuple[int, int] | None = None  # a cell's (width, height) in pixels, when known

    def image_mode(self) -> str:
        """Sixel first (terminals that announce kitty graphics but are not kitty draw sixel better)."""
        return "sixel" if self.sixel else "kitty" if self.kitty else "halfcell"


def parse_answers(data: bytes, env: dict[str, str] | None = None) -> TerminalCaps:
    """Read the terminal's answers to ALL_QUERIES (whatever arrived), falling back to `env`."""
    da1 = _DA1.search(data)
    sixel = da1 is not None and "4" in da1.group(1).decode("ascii", "replace").split(";")
    kitty = _KITTY_OK.search(data) is not None
    size = _CELL.search(data)
    cell = (int(size.group(2)), int(size.group(1))) if size is not None and int(size.group(1)) > 0 else None
    sgr = _DECRQSS.search(data)
    if sgr is not None and _DIRECT_BG.search(sgr.group(1).decode("ascii", "replace")):
        return TerminalCaps(sixel, kitty, "truecolor", da1 is not None, "asked", cell)
    colors = colors_from_env(os.environ if env is None else env, answered=da1 is not None)
    if kitty and colors != "truecolor":
        colors = "truecolor"  # every terminal with kitty graphics draws 24-bit colour
    return TerminalCaps(sixel, kitty, colors, da1 is not None, "environment", cell)


def colors_from_env(env, answered: bool = False) -> str:
    """The colour depth TERM / COLORTERM / TERM_PROGRAM suggest. A terminal that answered the
    device-attributes query is a modern emulator (or tmux/screen): 256 colours at least."""
    term = env.get("TERM", "").lower()
    if env.get("COLORTERM", "").lower() in ("truecolor", "24bit") or term.endswith("-direct"):
        return "truecolor"
    if term in _TRUECOLOR_TERMS or env.get("TERM_PROGRAM", "") in _TRUECOLOR_PROGRAMS:
        return "truecolor"
    if "256col" in term or env.get("TMUX") or env.get("STY"):
        return "256"
    if answered and term not in ("linux", "dumb", "vt100", "vt102", "vt220", "ansi"):
        return "256"
    return "standard"


def _answers_complete(data: bytes) -> bool:
    return _DA1.search(data) is not None


def queries_for(env) -> str:
    """ALL_QUERIES, less the kitty graphics query inside a multiplexer (tmux, screen)."""
    term = env.get("TERM", "")
    if env.get("TMUX") or env.get("STY") or term.startswith(("screen", "tmux")):
        return TRUECOLOR_QUERY + CELL_QUERY + DA1_QUERY
    return ALL_QUERIES


def query_terminal(fd_in: int, fd_out: int, timeout: float = 1.0, queries: str = ALL_QUERIES) -> bytes:
    """Send `queries` to the terminal on fd_out and read fd_in until the device-attributes answer
    (or `timeout` seconds). Echo and line buffering are off meanwhile; the mode is restored after."""
    import select
    import termios

    saved = termios.tcgetattr(fd_in)
    quiet = list(saved)
    quiet[3] = quiet[3] & ~(termios.ICANON | termios.ECHO)
    cc = list(quiet[6])
    cc[termios.VMIN], cc[termios.VTIME] = 1, 0
    quiet[6] = cc
    data = b""
    try:
        termios.tcsetattr(fd_in, termios.TCSANOW, quiet)
        if sys.__stdout__ is not None:
            sys.__stdout__.flush()
        os.write(fd_out, queries.encode())
        end = time.monotonic() + timeout
        while not _answers_complete(data):
            left = end - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([fd_in], [], [], left)
            if not ready:
                break
            chunk = os.read(fd_in, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        if not _answers_complete(data):
            time.sleep(min(0.1, timeout))  # an answer on its way must not become key presses
        termios.tcflush(fd_in, termios.TCIFLUSH)
        termios.tcsetattr(fd_in, termios.TCSANOW, saved)
    return data


def probe_terminal(timeout: float = 1.0, env=None) -> TerminalCaps:
    """Ask the terminal on stdin/stdout; without a terminal (a pipe, a test), read the environment."""
    env = os.environ if env is None else env
    stdin, stdout = sys.__stdin__, sys.__stdout__
    if not (stdin and stdout and stdin.isatty() and stdout.isatty()) or env.get("TERM", "") in ("dumb", "linux", ""):
        return TerminalCaps(colors=colors_from_env(env))
    try:
        data = query_terminal(stdin.fileno(), stdout.fileno(), timeout, queries_for(env))
    except (OSError, ValueError, ImportError):  # not a real tty after all, or no termios (Windows)
        return TerminalCaps(colors=colors_from_env(env))
    caps = parse_answers(data, env)
    cell = _tty_cell_size(stdout.fileno())
    return caps if cell is None else dataclasses.replace(caps, cell=cell)


def _tty_cell_size(fd: int) -> tuple[int, int] | None:
    """A cell's pixels from the tty's window size (xterm and SSH fill them in), if it has them."""
    try:
        import fcntl
        import struct
        import termios
        rows, cols, xpix, ypix = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except (OSError, ImportError):
        return None
    return (xpix // cols, ypix // rows) if rows and cols and xpix and ypix else None
