"""`osig watch` driven headlessly (App.run_test + Pilot) against run directories written with RunWriter:
what the dashboard and group screen show, and that every key does what the footer says."""
from __future__ import annotations

import asyncio
import json
import re
import threading

import pytest

from fixtures.synthetic_run import start_run, write_run
from fixtures.tui_pilot import ready, rendered, wait_for
from fixtures.waiting import HANG_S
from osig_core.store.layout import RunStoreError
from osig_core.store.reader import RunReader
from osig_tui.app import WatchApp
from osig_tui.screens.dashboard import DashboardScreen
from osig_tui.screens.group import GroupScreen
from osig_tui.screens.help import HelpScreen
from osig_tui.screens.modals import ConfirmScreen, QuitScreen
from osig_tui.widgets.charts import LossChart, SharpnessChart
from osig_tui.widgets.pair_chart import PairLossChart
from osig_tui.widgets.header import RunHeader
from osig_tui.widgets.members import MemberGrid, SideView
from osig_tui.widgets.outliers import OutlierStrip
from osig_tui.widgets.pairs import PairsTable
from osig_tui.widgets.panels import FracUpPanel, LayerBars


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("tui") / "fx", n=240, steps=40)


def drive(run_dir, script, size=(100, 30), image_mode="halfcell"):
    """Run `script(pilot)` against a fresh app; returns the app (its return value in app.return_value)."""
    app = WatchApp(run_dir, image_mode=image_mode)

    async def main():
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            await script(pilot)
    asyncio.run(main())
    return app


def header(app) -> str:
    return app.screen.query_one(RunHeader)._last.plain


def test_dashboard_shows_the_stored_run(finished):
    async def script(pilot):
        app, s = pilot.app, pilot.app.screen
        assert isinstance(s, DashboardScreen)
        h = header(app)
        assert "fx" in h and "✔ finished" in h and "step 40/40" in h and "50 steps/s" in h and "cpu" in h
        table = s.query_one(PairsTable)
        assert table.row_count == 2 and table.shown_ids == [0, 1]
        row = table.get_row("0")
        assert row[0].plain == "#0" and row[1].plain == "0.7" and "A  12:" in row[4].plain
        assert "rising now" in rendered(s.query_one(FracUpPanel))
        assert "net.0" in rendered(s.query_one(LayerBars)) and "at step 35" in rendered(s.query_one(LayerBars))
        strip = rendered(s.query_one(OutlierStrip))
        assert "rose most at step 39" in strip and "fell most" in strip
        assert s.query_one(SharpnessChart).empty_message() is None
        assert "2/η = 40" in str(s.query_one(SharpnessChart).border_title)
        assert "train loss" in str(s.query_one(LossChart).border_title)
    drive(finished, script)


def test_enter_opens_the_pair_and_escape_goes_back(finished):
    async def script(pilot):
        app = pilot.app
        await pilot.press("j")  # second pair
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen) and app.screen.detail is not None)
        g = app.screen
        assert g.pair_id == 1 and g.detail.found and g.detail.step == 39
        title = rendered(g.query_one("#group-title"))
        assert "pair #1" in title and "change 38 → 39" in title
        grids = g.query(MemberGrid)
        assert len(grids) == 2 and all(grid.count == 12 for grid in grids)  # every member, as pictures
        text = rendered(grids.first())
        assert "▀" in text and "#" in text and "→" in text  # picture, id + Δloss, label, prediction before → after
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("k", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen))
        assert app.screen.pair_id == 0
    drive(finished, script)


def test_enter_shows_the_pair_at_once_while_its_members_are_read(finished):
    """A slow disk must not hold the key: the pair's score, sizes and classes show before its detail is read."""
    release = threading.Event()

    async def reading(pilot):
        app = pilot.app
        read = app.poller.group
        app.poller.group = lambda pair_id, step: (release.wait(HANG_S), read(pair_id, step))[1]
        row = app.screen.query_one(PairsTable).pairs[1]  # not read ahead yet: the first row is
        await pilot.press("j", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen))
        await pilot.pause()
        g = app.screen
        assert g.detail is None  # still being read
        assert f"pair #{row.id}  score {row.score:.2f}" in rendered(g.query_one("#group-title"))
        assert "reading loss curves" in str(rendered(g.query_one(PairLossChart)))
        sides = g.query(SideView)
        assert f"side A · {row.sizes[0]} samples" in rendered(sides[0].query_one(".side-title"))
        assert row.classes[1][0][0] in rendered(sides[1].query_one(".side-hist"))
        await pilot.press("question_mark")  # a screen on top while it reads: drawing resumes after it
        assert isinstance(app.screen, HelpScreen)
        release.set()
        await pilot.pause(0.2)
        await pilot.press("escape")
        assert app.screen is g
        await wait_for(pilot, lambda: g.detail is not None, what="the pair's detail")
        assert len(g.query(MemberGrid)) == 2 and "change 38 → 39" in rendered(g.query_one("#group-title"))

    async def script(pilot):
        try:
            await reading(pilot)
        finally:  # a failed check must not leave the reader blocked
            release.set()

    drive(finished, script)


def test_brackets_step_through_a_finished_run(finished):
    async def script(pilot):
        app = pilot.app
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: app.view.step == 38)
        assert not app.view.following and "viewing step 38" in header(app)
        loss_38 = app.progress.history.values["train_loss"][38]
        assert f"loss {loss_38:.4g}" in header(app)  # that step's values, not the latest
        assert "rose most at step 38" in rendered(app.screen.query_one(OutlierStrip))
        await wait_for(pilot, lambda: app.screen.query_one(LossChart).mark == 38)  # charts follow after a beat
        await pilot.press("left_curly_bracket")
        await wait_for(pilot, lambda: app.view.step == 28)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: app.view.step == 29)
        assert app.screen.query_one(LayerBars).shares_step == 25
        for _ in range(5):
            await pilot.press("left_curly_bracket")
        await wait_for(pilot, lambda: app.view.step == 0)
        assert app.view.pairs == () and "no opposing pairs at step 0" in rendered(app.screen.query_one("#pairs-empty"))
        await pilot.press("g")
        await wait_for(pilot, lambda: app.view.following and app.view.step == 39)
        # the group screen follows the viewed step too
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen) and app.screen.detail is not None)
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: app.screen.detail is not None and app.screen.detail.step == 38)
    drive(finished, script)


def test_slash_filters_pairs_by_class_name(finished):
    async def script(pilot):
        s = pilot.app.screen
        table = s.query_one(PairsTable)
        await pilot.press("slash", "z", "z", "z")
        assert table.row_count == 0
        assert "no pair has a class matching 'zzz'" in rendered(s.query_one("#pairs-empty"))
        await pilot.press("escape")
        assert table.row_count == 2 and not s.query_one("#filter").display
        some_class = table.pairs[1].classes[0][0][0]
        await pilot.press("slash", *some_class, "enter")
        assert 1 in table.shown_ids and all(p.matches(some_class) for p in table.pairs if p.id in table.shown_ids)
        assert table.has_focus
    drive(finished, script)


def test_question_mark_lists_every_binding(finished):
    async def script(pilot):
        app = pilot.app
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        from osig_tui.screens.help import bindings_table
        from rich.console import Console
        con = Console(width=100, record=True)
        con.print(bindings_table())
        text = con.export_text()
        for b in [*WatchApp.BINDINGS, *DashboardScreen.BINDINGS, *GroupScreen.BINDINGS]:
            if b.key != "ctrl+c":
                assert b.description in text, b
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        # footer lists the main keys; pause, checkpoint and stop only while an engine runs (this run is finished)
        keys = {b.key for b in app.screen.active_bindings and [x.binding for x in app.screen.active_bindings.values()]}
        assert {"q", "question_mark", "left_square_bracket", "slash", "enter"} <= keys
        assert not {"p", "c", "s"} & keys
    drive(finished, script)


def test_q_quits_a_finished_run_at_once(finished):
    async def script(pilot):
        await pilot.press("q")
        await pilot.pause()
    app = drive(finished, script)
    assert app.return_value is None


def test_panels_without_data_say_what_to_do(tmp_path):
    d = write_run(tmp_path / "bare", n=60, steps=5, sharpness=False, groups=False)

    async def script(pilot):
        s = pilot.app.screen
        assert s.query_one(SharpnessChart).empty_message() == "no sharpness recorded: run with --sharpness-every K"
        assert "run with --sharpness-every K" in rendered(s.query_one(LayerBars))
        assert "group detection is off" in rendered(s.query_one("#pairs-empty"))
        assert "rose most at step 4" in rendered(s.query_one(OutlierStrip))  # computed from the loss rows
    drive(d, script)


def test_text_from_the_run_is_shown_literally(tmp_path):
    classes = ["[bold]x[/bold]", "\x1b[31mred", "[link=http://e]l[/link]"] + [f"c{i}" for i in range(7)]
    d = write_run(tmp_path / "markup", n=120, steps=8, classes=classes)

    async def script(pilot):
        app = pilot.app
        table = app.screen.query_one(PairsTable)
        cells = " ".join(table.get_row(str(pid))[4].plain for pid in table.shown_ids)
        assert "[bold]x[/bold]" in cells or "\\x1b[31mred" in cells or "[link=http://e]l[/link]" in cells
        assert "\x1b" not in cells
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen) and app.screen.detail is not None)
        shown = " ".join(rendered(w) for w in app.screen.query(".side-hist, MemberGrid"))
        assert "\x1b" not in shown and ("[bold]x[/bold]" in shown or "\\x1b[31mred" in shown)
    drive(d, script)


def test_attaching_to_a_run_being_written_shows_new_steps(tmp_path):
    w = start_run(tmp_path / "live", steps=40, n=80)
    w.write(5)

    async def script(pilot):
        app = pilot.app
        await ready(pilot, step=4)
        assert "● running" in header(app) and "step 5/40" in header(app)
        w.write(15)
        await wait_for(pilot, lambda: app.view.step == 14, what="step 14 to appear")
        assert "step 15/40" in header(app) and len(app.progress.history.steps) == 15
        await pilot.press("left_square_bracket")  # history stepping needs a paused or finished run
        await pilot.pause(0.2)
        assert app.view.following
        w.finish()
        await wait_for(pilot, lambda: app.status == "finished")
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: app.view.step == 13)
    drive(tmp_path / "live", script)


def test_controls_reach_the_store_and_quitting_a_live_run_asks(tmp_path):
    w = start_run(tmp_path / "ctl", steps=40, n=60)
    w.write(3)

    def commands():
        return [c for _, c in w.w.db.execute("SELECT id, command FROM control ORDER BY id").fetchall()]

    async def script(pilot):
        app = pilot.app
        await pilot.press("p")
        await pilot.press("c")
        assert commands() == ["pause", "checkpoint"]
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert commands() == ["pause", "checkpoint"]
        await pilot.press("s", "y")
        assert commands() == ["pause", "checkpoint", "stop"]
        w.w.set_meta(status="paused")
        await wait_for(pilot, lambda: app.status == "paused")
        assert "‖ paused" in header(app)
        await pilot.press("p")
        assert commands()[-1] == "resume"
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("q", "l")
        await pilot.pause()
    app = drive(tmp_path / "ctl", script)
    assert "re-attach with: osig watch" in app.return_value
    w.finish()


@pytest.mark.parametrize("kind", ["text", "regression"])
def test_group_screen_for_text_and_1d_runs(tmp_path, kind):
    classes = list("abcdefgh") if kind == "text" else []
    d = write_run(tmp_path / kind, n=120, steps=6, kind=kind, classes=classes, sharpness=False)

    async def script(pilot):
        app = pilot.app
        assert "ctx" in rendered(app.screen.query_one(OutlierStrip)) or "x=" in rendered(app.screen.query_one(OutlierStrip))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen) and app.screen.detail is not None)
        await pilot.pause()
        tables = app.screen.query(".members-table")
        assert len(tables) == 2 and tables.first().row_count == 6
        if kind == "text":
            assert "ctx" in str(tables.first().get_row_at(0)[-1])
        else:
            assert "x in [" in rendered(app.screen.query(".intervals").first())
    drive(d, script)


def test_no_images_mode_lists_members_as_text(finished):
    async def script(pilot):
        app = pilot.app
        assert "#" in rendered(app.screen.query_one(OutlierStrip)) and "▀" not in rendered(app.screen.query_one(OutlierStrip))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen) and app.screen.detail is not None)
        await pilot.pause()
        assert len(app.screen.query(MemberGrid)) == 0 and len(app.screen.query(".members-table")) == 2
    drive(finished, script, image_mode="none")


def test_small_terminal_keeps_every_panel_reachable(finished):
    async def script(pilot):
        s = pilot.app.screen
        assert s.query_one(PairsTable).region.height > 0
        for panel in ("#outliers", "#layers", "#pairs"):  # v shows the panels below the charts in turn
            await pilot.press("v")
            await pilot.pause()
            assert s.query_one(panel).region.height > 0, panel
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, GroupScreen))
    drive(finished, script, size=(80, 24))


def test_bad_directories_are_one_sentence(tmp_path):
    with pytest.raises(RunStoreError, match="not an osig run"):
        WatchApp(tmp_path)
    d = write_run(tmp_path / "new", n=20, steps=2)
    doc = json.loads((d / "config.json").read_text())
    doc["format_version"] = 99
    (d / "config.json").write_text(json.dumps(doc))
    with pytest.raises(RunStoreError, match="newer osig"):
        WatchApp(d)
    assert RunReader  # the same errors the CLI turns into one line (see test_tui_lifecycle)


def _colours(svg: str) -> set[tuple[int, int, int]]:
    """Every colour a screenshot paints, except the window buttons its frame draws (circles)."""
    svg = re.sub(r"<circle[^>]*>", "", svg)
    return {tuple(int(h[i:i + 2], 16) for i in (0, 2, 4)) for h in re.findall(r"#([0-9a-fA-F]{6})\b", svg)}


@pytest.mark.parametrize("no_color", [False, True])
def test_no_color_in_the_environment_draws_in_greys_only(finished, monkeypatch, no_color):
    """https://no-color.org: with NO_COLOR set (to anything) no screen of the monitor uses a colour."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    shots = []

    async def script(pilot):
        app = pilot.app
        shots.append(app.export_screenshot())
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen) and app.screen.detail is not None)
        await pilot.pause()
        shots.append(app.export_screenshot())
    app = drive(finished, script)
    assert app.no_color is no_color
    spread = max(max(c) - min(c) for shot in shots for c in _colours(shot))
    if no_color:
        assert spread <= 8  # greys (the frame's default text colour is #c5c8c6)
    else:
        assert spread > 100  # the check can fail: side A orange, side B blue, pictures



def test_the_monitor_settles_the_garbage_collector_and_restores_it_on_exit(finished):
    """Start-up objects are frozen (no full-GC pauses on keys while watching); an embedding process
    gets its collector back unchanged when the app exits."""
    import gc
    before = gc.get_threshold()
    seen = {}

    async def script(pilot):
        seen["frozen"], seen["threshold"] = gc.get_freeze_count(), gc.get_threshold()
    drive(finished, script)
    assert seen["frozen"] > 0 and seen["threshold"][0] >= 5000
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
