"""`osig ls`: run ids are what every other command takes, so they are never cut: narrow terminals
lose the less important columns first, an id wider than the terminal wraps, `--plain` is one id a line."""
from __future__ import annotations

import io
import shutil

import pytest
from rich.console import Console

from fixtures.synthetic_run import write_run

LONG = "20261130-140107-vgg11-gd-with-a-much-longer-name"
IDS = ["20261130-140107-mlp-gd", "20261130-140108-resnet20-sgd", LONG]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ls")
    first = write_run(root / IDS[0], n=40, steps=3)
    for name in IDS[1:]:
        shutil.copytree(first, root / name)
    return root


def listing(cli, monkeypatch, root, width, *extra):
    import osig_tui.listing as L
    con = Console(file=io.StringIO(), width=width, highlight=False, color_system=None)
    monkeypatch.setattr(L, "out", con)
    code, stdout, err = cli("ls", str(root), *extra)
    assert code == 0, err
    return con.file.getvalue() + stdout


@pytest.mark.parametrize("width", [120, 80, 60])
def test_ids_are_whole_at_any_width(cli, monkeypatch, runs, width):
    text = listing(cli, monkeypatch, runs, width)
    assert "…" not in text
    assert all(len(line) <= width for line in text.splitlines())
    for run_id in IDS[:2]:
        assert run_id in text  # on one line
    assert LONG in text or width < len(LONG) + 20
    assert "status" in text and "finished" in text


def test_columns_go_in_order_of_importance(cli, monkeypatch, runs):
    wide = listing(cli, monkeypatch, runs, 140)
    assert all(c in wide for c in ("model", "optim", "lr", "steps", "status", "last loss"))
    narrow = listing(cli, monkeypatch, runs, 80)
    assert "lr" not in narrow.split("\n")[1] and "status" in narrow  # lr is the first to go


def test_an_id_wider_than_the_terminal_wraps_instead_of_being_cut(cli, monkeypatch, runs):
    text = listing(cli, monkeypatch, runs, 40)
    assert "…" not in text
    pieces = "".join(line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│"))
    assert LONG in pieces  # the id's parts, read in order, spell it whole


def test_plain_prints_one_id_a_line(cli, monkeypatch, runs):
    text = listing(cli, monkeypatch, runs, 40, "--plain")
    assert sorted(text.splitlines()) == sorted(IDS)  # nothing but the ids (oldest first)
