"""Hostile text from a run (class names, file names, text samples, run names) is shown literally by
the CLI: terminal escape sequences are made visible and Rich markup is printed, never interpreted."""
from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from osig_tui import console as C

HOSTILE = [
    "\x1b[31mred\x1b[0m",  # colour (CSI)
    "\x1b]52;c;aGFja2Vk\x07",  # OSC 52: write the user's clipboard
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "[bold red]x[/]",  # Rich markup
    "[link=file:///etc/passwd]y[/link]",
    "\x9b2J",  # 8-bit CSI: clear the screen
    "a\rb\x08c",  # carriage return, backspace
    "\u202eevil",  # right-to-left override
    "tab\there\nnewline",
    ":smiley: plain",
]
CONTROL = [chr(c) for c in range(32) if c not in (10,)] + ["\x7f", "\x9b", "\u202e"]


def _literal(out: str) -> None:
    """No control character from the input reached the terminal (the only newlines are layout)."""
    for ch in CONTROL:
        assert ch not in out, f"{ch!r} reached the terminal: {out!r}"


@pytest.fixture
def wide(monkeypatch):
    """Wide consoles, so a literal is never wrapped across table lines."""
    for console in (C.out, C.err):
        monkeypatch.setattr(console, "_width", 4000)


@pytest.mark.parametrize("text", HOSTILE)
def test_safe_shows_text_literally_on_a_colour_terminal(text):
    buf = io.StringIO()
    con = Console(file=buf, force_terminal=True, color_system="truecolor", width=4000)
    con.print(C.safe(text))
    raw = buf.getvalue()
    assert raw == C.safe(text).plain + "\n"  # exactly the visible text: Rich added and interpreted nothing
    _literal(raw[:-1])
    if not any(ch in text for ch in CONTROL + ["\n"]):
        assert raw[:-1] == text  # markup is printed as written


def test_safe_renders_control_characters_as_escapes():
    assert C.safe("\x1b[31mred").plain == "\\x1b[31mred"
    assert C.safe("a\nb").plain == "a\\nb"
    assert C.safe("[bold]x[/]").plain == "[bold]x[/]" and C.safe("[bold]x[/]").spans == []
    assert C.safe("café ✓ 日本").plain == "café ✓ 日本"  # printable unicode is kept


def _hostile_npz(tmp_path) -> tuple:
    """Synthetic pictures saved as an npz whose class names (and file name) are hostile."""
    import osig_core as osig
    from osig_core.components.build import build_data
    d = build_data(osig.RunConfig(n=100, n_test=50))
    path = tmp_path / "data\x1b[31m[bold]red.npz"
    np.savez(path, x=d.display_images(), y=d.y.numpy(), classes=np.array(HOSTILE))
    return path


def test_cli_shows_hostile_names_literally(cli, tmp_path, wide):
    npz = _hostile_npz(tmp_path)
    root = tmp_path / "runs"
    run_dir = root / "run\x1b]52;c;aGk=\x07[red]r"
    code, _, err = cli("run", "--model", "mlp", "--width", "0.05", "--n", "100", "--n-test", "50", "--steps", "30",
                       "--eval-every", "0", "--data", f"npz:{npz}", "--run-dir", run_dir, "--quiet")
    assert code == 0, err
    outputs = []
    for args in (("ls", root), ("show", run_dir), ("groups", run_dir, "--all"), ("groups", run_dir, "--json")):
        code, out, err = cli(*args)
        assert code == 0, (args, err)
        _literal(out.replace("\n", ""))
        outputs.append(out)
    ls_out, show_out, groups_out, _ = outputs
    assert "run\\x1b]52;c;aGk=\\x07[red]r" in ls_out
    assert "run\\x1b]52;c;aGk=\\x07[red]r" in show_out
    assert "data\\x1b[31m[bold]red.npz" in show_out
    import osig_core as osig
    assert osig.open_run(run_dir).pairs_all(), "the run should have found pairs to show"
    shown = [name for name in HOSTILE if C.safe(name).plain in groups_out]
    assert shown, groups_out  # the pairs' class names are printed, literally


def test_errors_show_hostile_paths_literally(cli, tmp_path, wide):
    cases = [  # (arguments, the hostile part as the error must show it)
        (("show", tmp_path / "no\x1b[2J[bold]such"), "no\\x1b[2J[bold]such"),
        (("run", "--data", "npz:/none/\x1b]52;c;aGk=\x07[red]x[/].npz", "--run-dir", tmp_path / "r", "--quiet"),
         "\\x1b]52;c;aGk=\\x07[red]x[/].npz"),
        (("run", "--model", "\x1b[31m[blink]m[/]", "--run-dir", tmp_path / "r", "--quiet"), "\\x1b[31m[blink]m[/]"),
        (("export", tmp_path / "\x9b2J", tmp_path / "o.npz"), "\\x9b2J"),
    ]
    for args, shown in cases:
        code, out, err = cli(*args)
        assert code == 2
        lines = [l for l in err.splitlines() if l.strip()]
        assert len(lines) == 1 and lines[0].startswith("osig: error: ") and "Traceback" not in err, err
        _literal(err.rstrip("\n"))
        assert shown in lines[0], (shown, lines[0])


def test_group_text_samples_are_literal(tmp_path):
    """Text samples (text data) in `osig groups` go through safe()."""
    from osig_tui.commands_groups import _side_text
    side = {"members": [0, 1], "classes": {"\x1b[31m": 1, "[b]x[/b]": 1}}
    texts = ["ctx\x1b]52;c;aGk=\x07[target]", "[bold]hi[/bold]\x1b[2J"]
    t = _side_text(None, side, texts, None)
    con = Console(force_terminal=True, width=4000, record=True)
    con.print(t)
    plain = con.export_text()
    _literal(plain.replace("\n", ""))
    assert "[b]x[/b]" in plain and "\\x1b[31m" in plain
