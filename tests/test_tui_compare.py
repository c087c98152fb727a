"""`osig watch SWEEP` / `osig watch RUN RUN ...`: the comparison screen shows every run (named by what
differs, one colour each), sharpness over each run's own threshold with every edge at 1, keys show
and hide runs and open one run's dashboard (Esc returns), and members that start or grow while it
is open appear. Waits are on conditions, never on the clock."""
from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest

from fixtures.scalar_run import add_steps, write_scalar_run
from fixtures.sweep_run import gd_scalars, write_sweep
from fixtures.tui_pilot import wait_for
from osig_core.errors import ConfigError
from osig_core.store.layout import RunStoreError
from osig_core.sweeps import manifest as M
from osig_tui.compare_app import CompareApp
from osig_tui.compare_poller import ComparePoller
from osig_tui.screens.compare import CompareScreen, MemberDashboard
from osig_tui.screens.help import HelpScreen
from osig_tui.widgets.compare_charts import RunsChart, run_color
from osig_tui.widgets.footer import OsigFooter
from osig_tui.widgets.runs_table import RunsTable
from textual.widgets._footer import FooterKey


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return write_sweep(tmp_path_factory.mktemp("cmp") / "demo-sweep")


def drive(targets, script, size=(80, 24)):
    app = CompareApp(targets, compare_interval=0.1)

    async def main():
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: app.compare_state is not None and isinstance(app.screen, CompareScreen),
                           what="the first comparison")
            await pilot.pause()
            await script(pilot)
    asyncio.run(main())
    return app


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_every_run_is_named_by_what_differs_and_every_edge_is_at_1(sweep, size):
    async def script(pilot):
        app = pilot.app
        text = screen_text(app)
        for lr in ("0.01", "0.02", "0.04"):
            assert f"lr={lr}" in text
        assert "3 finished" in text and "differ in: lr" in text
        chart = app.screen.query_one("#compare-sharpness", RunsChart)
        lines = chart.render().plain.splitlines()
        edge = [line for line in lines if "├" in line]
        assert len(edge) == 1 and re.match(r"\s*1├", edge[0]), "\n".join(lines)
        assert [c for _, _, c in chart.series] == [run_color(i) for i in range(3)]
        # every run's own threshold is 1: λ·η/2 for GD
        for m in app.compare_state.members:
            lr = m.settings["lr"]
            lam = [gd_scalars(lr)(int(t))["sharpness"] for t in m.sharp[0]]
            np.testing.assert_allclose(m.sharp[1], np.array(lam) * lr / 2, rtol=1e-12)
    drive([sweep], script, size)


def test_digits_and_space_show_and_hide_runs(sweep):
    async def script(pilot):
        app = pilot.app
        chart = app.screen.query_one("#compare-sharpness", RunsChart)
        await pilot.press("2")
        assert app.hidden == {1} and [c for *_, c in chart.series] == [run_color(0), run_color(2)]
        assert re.search(r"○ +finished .* lr=0\.02", screen_text(app))
        await pilot.press("down", "down", "space")  # the highlighted run: the third
        assert app.hidden == {1, 2}
        await pilot.press("2", "a")
        assert app.hidden == set() and len(chart.series) == 3
        await pilot.press("7")  # there is no run 7: said, nothing changes
        assert app.hidden == set()
    drive([sweep], script)


def test_enter_opens_a_runs_dashboard_and_escape_comes_back(sweep):
    async def script(pilot):
        app = pilot.app
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MemberDashboard) and app.progress is not None)
        assert app.info.lr == 0.02 and "lr 0.02" in screen_text(app)
        assert app.progress.history.last_step == 59
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.poller is None)
        await pilot.press("down", "enter")  # another run: its own data, none of the last one's
        await wait_for(pilot, lambda: isinstance(app.screen, MemberDashboard) and app.progress is not None)
        assert app.info.lr == 0.04
        await pilot.pause(0.3)
        assert app.info.lr == 0.04 and app.progress.history.latest("threshold") == pytest.approx(50.0)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
    drive([sweep], script)


def test_members_appear_and_grow_while_the_comparison_is_open(tmp_path):
    d = write_sweep(tmp_path / "live-sweep", started=1)
    s = M.load(d)
    second = s.members[1]

    async def script(pilot):
        app = pilot.app
        state = app.compare_state
        assert [m.status for m in state.members] == ["finished", "pending", "pending"]
        assert "lr=0.02" in screen_text(app)  # a pending member is named by its sweep flags
        await pilot.press("down", "enter")  # not started yet: said, no dashboard
        assert isinstance(app.screen, CompareScreen)
        w = write_scalar_run(s.run_dir(second), gd_scalars(0.02), steps=60, lr=0.02, finish=False, written=30,
                             sharpness_every=5)
        member = lambda: app.compare_state.members[1]  # noqa: E731
        await wait_for(pilot, lambda: member().status == "running" and member().steps_done == 30, what="member 2 at 30")
        assert len(member().sharp[0]) == 6  # estimates at 0, 5, ..., 25
        add_steps(w, gd_scalars(0.02), 30, 60)
        await wait_for(pilot, lambda: member().steps_done == 60, what="member 2 at 60")
        w.set_meta(status="finished")
        w.close()
        await wait_for(pilot, lambda: member().status == "finished", what="member 2 finished")
        assert "1 finished" not in screen_text(app) and "2 finished" in screen_text(app)
    drive([d], script)


def test_several_run_directories(tmp_path):
    runs = [write_scalar_run(tmp_path / f"r{k}", gd_scalars(lr), steps=20, lr=lr, optim=optim)
            for k, (lr, optim) in enumerate([(0.01, "gd"), (0.02, "gd"), (0.02, "sgd")])]

    async def script(pilot):
        app = pilot.app
        assert app.compare_state.keys == ("optim", "lr")  # RunConfig's order
        text = screen_text(app)
        assert "3 runs" in text and "optim=sgd" in text
    drive(runs, script)


def test_bad_arguments_are_one_sentence(tmp_path, sweep):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunStoreError, match="not an osig run"):
        ComparePoller([tmp_path / "empty", tmp_path / "empty"])
    run = write_scalar_run(tmp_path / "r", gd_scalars(0.01), steps=5)
    with pytest.raises(ConfigError, match="is a sweep"):
        ComparePoller([run, sweep])


def test_the_poller_reads_only_what_changed(sweep):
    p = ComparePoller([sweep])
    try:
        assert p.poll() is not None and p.poll() is None
    finally:
        p.close()


def test_every_key_is_in_the_footer_and_in_help_at_80x24(sweep):
    async def script(pilot):
        app = pilot.app
        footer = app.screen.query_one(OsigFooter)
        required = {"toggle_current", "toggle(0)", "show_all", "help", "quit_watch"}

        def visible():  # the footer fills in once the table has focus: wait for it, never for a time
            return {k.action for k in footer.query(FooterKey) if k.region.width > 0 and k.region.right <= 80}
        await wait_for(pilot, lambda: required <= visible(), what="the footer's keys")
        shown = visible()
        assert required <= shown, shown
        assert {"open_run", "select_cursor"} & shown, shown  # Enter: the table's binding, "Open run"
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        text = screen_text(app)
        for b in [*CompareScreen.BINDINGS, *MemberDashboard.BINDINGS]:
            assert b.description in text, b
        assert "band: [value, upper] holds the top eigenvalue with probability ≥ 99.9%" in text
        assert app.screen.query_one("#help-box").max_scroll_y == 0  # every key without scrolling
        await pilot.press("escape", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MemberDashboard))
        await pilot.pause()
        footer = app.screen.query_one(OsigFooter)
        assert "back" in {k.action for k in footer.query(FooterKey)}
    drive([sweep], script)
