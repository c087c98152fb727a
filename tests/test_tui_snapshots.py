"""Snapshots of the monitor's key screens on a deterministic stored run (pytest-textual-snapshot).

Update after an intended visual change with `pytest tests/test_tui_snapshots.py --snapshot-update`
and look at the SVGs in the report before committing them."""
from __future__ import annotations

import pytest

from fixtures.sweep_run import write_sweep
from fixtures.synthetic_run import write_run
from fixtures.tui_pilot import ready, wait_for
from osig_tui.app import WatchApp
from osig_tui.compare_app import CompareApp
from osig_tui.screens.compare import CompareScreen
from osig_tui.screens.group import GroupScreen
from osig_tui.screens.help import HelpScreen
from osig_tui.widgets.charts import LossChart, SharpnessChart


@pytest.fixture(scope="module")
def snap_run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("snap") / "demo-run", n=240, steps=40)


@pytest.fixture(scope="module")
def snap_sweep(tmp_path_factory):
    """GD at three step sizes (osig watch SWEEP): each run's sharpness rising to its own 2/η."""
    return write_sweep(tmp_path_factory.mktemp("snap") / "demo-sweep")


async def _compare(pilot):
    app = pilot.app
    await wait_for(pilot, lambda: app.compare_state is not None and isinstance(app.screen, CompareScreen)
                   and app.screen.query_one("#compare-sharpness").series)
    await pilot.press("3")  # one run hidden: its dot hollow, its line gone
    await pilot.pause()


async def _dashboard(pilot):
    await ready(pilot, step=39)


async def _group(pilot):
    await ready(pilot, step=39)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, GroupScreen) and pilot.app.screen.detail is not None)
    await pilot.pause()


async def _outliers_panel(pilot):
    await ready(pilot, step=39)
    await pilot.press("v")  # a small terminal shows the panels below the charts in turn
    await pilot.pause()


async def _help(pilot):
    await ready(pilot, step=39)
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
    await pilot.pause()


async def _history(pilot):
    await ready(pilot, step=39)
    await pilot.press("left_curly_bracket", "left_square_bracket")
    await ready(pilot, step=28)
    charts = [pilot.app.screen.query_one(c) for c in (LossChart, SharpnessChart)]
    await wait_for(pilot, lambda: all(c.mark == 28 for c in charts))  # the step marker follows after a beat
    await pilot.pause()


def test_dashboard(snap_compare, snap_run):
    assert snap_compare(WatchApp(snap_run), terminal_size=(120, 36), run_before=_dashboard)


def test_dashboard_80x24(snap_compare, snap_run):
    assert snap_compare(WatchApp(snap_run), terminal_size=(80, 24), run_before=_dashboard)


def test_dashboard_at_an_earlier_step(snap_compare, snap_run):
    assert snap_compare(WatchApp(snap_run), terminal_size=(120, 36), run_before=_history)


def test_dashboard_80x24_outliers_panel(snap_compare, snap_run):
    assert snap_compare(WatchApp(snap_run), terminal_size=(80, 24), run_before=_outliers_panel)


def test_group_screen(snap_compare, snap_run):
    assert snap_compare(WatchApp(snap_run), terminal_size=(120, 36), run_before=_group)


def test_group_screen_80x24(snap_compare, snap_run):
    assert snap_compare(WatchApp(snap_run), terminal_size=(80, 24), run_before=_group)


def test_help(snap_compare, snap_run):
    assert snap_compare(WatchApp(snap_run), terminal_size=(120, 36), run_before=_help)


def test_help_80x24(snap_compare, snap_run):
    assert snap_compare(WatchApp(snap_run), terminal_size=(80, 24), run_before=_help)


def test_compare(snap_compare, snap_sweep):
    assert snap_compare(CompareApp([snap_sweep]), terminal_size=(120, 36), run_before=_compare)


def test_compare_80x24(snap_compare, snap_sweep):
    assert snap_compare(CompareApp([snap_sweep]), terminal_size=(80, 24), run_before=_compare)
