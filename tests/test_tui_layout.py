"""80×24 is a first-class size: every dashboard panel fits or takes its turn (named in the footer),
`?` and `q` are always on screen, pair class names are whole, the footer offers only keys that do
something, and the charts draw 2/η on the row its label names with evenly spaced ticks."""
from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest

from fixtures.synthetic_run import write_run
from fixtures.tui_pilot import ready, wait_for
from osig_tui.app import WatchApp
from osig_tui.screens.group import GroupScreen
from osig_tui.screens.help import HelpScreen
from osig_tui.terminal_caps import TerminalCaps
from osig_tui.widgets.axis import row_scale, tick_labels
from osig_tui.widgets.charts import SharpnessChart
from osig_tui.widgets.footer import OsigFooter
from osig_tui.widgets.pairs import PairsTable, classes_text
from textual.widgets._footer import FooterKey


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("layout") / "fx", n=240, steps=40)


def drive(run_dir, script, size=(80, 24), **kw):
    app = WatchApp(run_dir, image_mode=kw.pop("image_mode", "halfcell"), **kw)

    async def main():
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            await pilot.pause()
            await script(pilot)
    asyncio.run(main())
    return app


def screen_text(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def footer_keys(app) -> dict[str, FooterKey]:
    """Footer keys fully on screen, by action."""
    footer = app.screen.query_one(OsigFooter)
    width = app.size.width
    return {k.action: k for k in footer.query(FooterKey)
            if k.region.width > 0 and k.region.x >= 0 and k.region.right <= width and k.region in footer.region}


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_help_and_quit_are_always_in_the_footer(finished, size):
    async def script(pilot):
        app = pilot.app
        assert {"help", "quit_watch"} <= set(footer_keys(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen) and app.screen.detail is not None)
        await pilot.pause()
        keys = app.screen.query(FooterKey)
        assert {"help", "quit_watch"} <= {k.action for k in keys if k.region.right <= app.size.width and k.region.width}
        descriptions = [k.description for k in keys if k.region.width]
        assert descriptions.count("Back") == 1  # Esc; [ is "Prev step", not a second "Back"
    drive(finished, script, size=size)


def test_small_dashboard_shows_one_panel_below_the_charts_and_names_the_key(finished):
    async def script(pilot):
        app, s = pilot.app, pilot.app.screen
        assert s.compact and "next_panel" in footer_keys(app)
        seen = []
        for _ in range(3):
            visible = [p for p in ("#pairs-box", "#outliers", "#side") if s.query_one(p).region.height > 0]
            assert len(visible) == 1
            seen.append(visible[0])
            widget = s.query_one(visible[0])
            assert widget.region.bottom <= app.size.height - 1 and widget.region.width == app.size.width  # whole, full width
            tabs = " ".join(screen_text(app))
            assert "pairs" in tabs and "outliers" in tabs and "curvature" in tabs and "v: next panel" in tabs
            await pilot.press("v")
            await pilot.pause()
        assert seen == ["#pairs-box", "#outliers", "#side"]
        for chart in ("#loss-chart", "#sharpness-chart"):
            assert s.query_one(chart).region.height >= 7
    drive(finished, script)


def test_large_dashboard_shows_every_panel_and_no_panel_key(finished):
    async def script(pilot):
        app, s = pilot.app, pilot.app.screen
        assert not s.compact and "next_panel" not in footer_keys(app)
        for p in ("#pairs-box", "#outliers", "#side", "#loss-chart", "#sharpness-chart"):
            assert s.query_one(p).region.height > 0, p
    drive(finished, script, size=(120, 36))


def test_pair_class_names_are_never_cut(finished):
    async def script(pilot):
        app = pilot.app
        table = app.screen.query_one(PairsTable)
        lines = screen_text(app)
        for p in table.pairs:
            for side in p.classes:
                name = side[0][0]  # each side's most common class, whole, on screen
                assert any(re.search(rf"\b{re.escape(name)} \d+", line) for line in lines), name
        assert table.virtual_size.width <= table.size.width  # nothing hidden to the right
    drive(finished, script)


def test_class_lists_shrink_by_whole_names():
    hist = (("airplane", 9), ("automobile", 7), ("bird", 3), ("cat", 1))
    assert classes_text(hist, 60) == "airplane 9, automobile 7, bird 3, +1"
    assert classes_text(hist, 24) == "airplane 9, +3"
    assert classes_text(hist, 3) == "airplane 9, +3"  # at least one name, whole


def test_finished_runs_offer_no_pause_checkpoint_or_stop(finished):
    async def script(pilot):
        app = pilot.app
        assert not app.live
        keys = footer_keys(app)
        assert not {"pause", "checkpoint", "stop"} & set(keys)
        assert {"help", "quit_watch", "step(-1)"} <= set(keys)
        assert app.check_action("pause", ()) is False
    drive(finished, script, size=(120, 36))


def test_pause_checkpoint_and_stop_come_and_go_with_the_engine(tmp_path):
    from fixtures.synthetic_run import start_run
    w = start_run(tmp_path / "live", steps=40, n=60)
    w.write(3)

    async def script(pilot):
        app = pilot.app
        await wait_for(pilot, lambda: app.live, what="a live run")
        await pilot.pause()
        assert {"pause", "checkpoint", "stop", "help", "quit_watch"} <= set(footer_keys(app))
        w.finish()
        await wait_for(pilot, lambda: not app.live, what="the run to finish")
        gone = lambda: {"help", "quit_watch"} <= set(footer_keys(app)) and not {"pause", "checkpoint", "stop"} & set(footer_keys(app))  # noqa: E731
        await wait_for(pilot, gone, what="p/c/s gone from the footer (it is recomposed)")
    drive(tmp_path / "live", script, size=(120, 36))


def test_help_names_the_picture_protocol_and_fits_80x24(finished):
    caps = TerminalCaps(sixel=True, colors="truecolor", answered=True, how="asked")

    async def script(pilot):
        app = pilot.app
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        text = "\n".join(screen_text(app))
        assert "pictures: sixel graphics" in text and "terminal answered: sixel, 24-bit" in text
        box = app.screen.query_one("#help-box")
        assert box.max_scroll_y == 0  # every key listed without scrolling
    drive(finished, script, image_mode="sixel", terminal=caps)


# ---------------------------------------------------------------- charts

@pytest.mark.parametrize("lo, hi, rows, mark", [(23.0, 45.0, 6, 40.0), (23.0, 45.0, 4, 40.0), (30.0, 70.0, 5, 2 / 0.03),
                                                (30.0, 70.0, 12, 2 / 0.03), (0.01, 2.4, 7, None), (5.0, 5.0, 4, 5.0)])
def test_row_scale_puts_ticks_and_the_threshold_on_rows(lo, hi, rows, mark):
    a, b, ticks = row_scale(lo, hi, rows, mark)
    step = (b - a) / (rows - 1)
    assert a <= lo + 1e-9 and b >= hi - 1e-9  # the data stays in range
    k = (np.array(ticks) - a) / step
    np.testing.assert_allclose(k, np.round(k), atol=1e-6)  # every tick on a row
    assert len(set(np.round(np.diff(k), 6))) <= 1  # evenly spaced
    if mark is not None:
        km = (mark - a) / step
        assert abs(km - round(km)) < 1e-6 and any(abs(t - mark) < 1e-9 * max(1, mark) for t in ticks)


def test_tick_labels_name_the_threshold_exactly():
    lo, hi, ticks = row_scale(30.0, 70.0, 5, 2 / 0.03)
    labels = tick_labels(ticks, (hi - lo) / 4, 2 / 0.03)
    assert "66.67" in labels  # the issue saw 62.4 on the row of 2/η = 66.7
    lo, hi, ticks = row_scale(23.0, 45.0, 6, 40.0)
    assert tick_labels(ticks, (hi - lo) / 5, 40.0) == ["20", "25", "30", "35", "40", "45"]


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_the_threshold_line_is_drawn_on_the_row_its_label_names(finished, size):
    async def script(pilot):
        app = pilot.app
        chart = app.screen.query_one(SharpnessChart)
        lines = chart.render().plain.splitlines()
        labelled = [(i, m.group(1)) for i, line in enumerate(lines) if (m := re.match(r"\s*([0-9.]+)[┤├]", line))]
        line_rows = [i for i, line in enumerate(lines) if "├" in line and "─" * 4 in line.split("├", 1)[1]]
        assert line_rows, "\n".join(lines)
        row = line_rows[0]
        assert dict(labelled)[row] == "40"  # 2/η = 40 on the row labelled 40
        gaps = np.diff([i for i, _ in labelled])
        values = np.array([float(v) for _, v in labelled])
        assert len(set(gaps)) == 1 and len(set(np.round(np.diff(values), 9))) == 1  # evenly spaced ticks
    drive(finished, script, size=size)


def test_a_pair_whose_classes_grow_keeps_both_sides_on_their_lines():
    """Seen live: the classes cell of a pair whose classes changed wrapped ('horse' / '8') and hid side B."""
    from textual.app import App
    from osig_tui.store_views import PairRow

    def row(a, b):
        spark = (np.linspace(1, 2, 8), np.linspace(2, 1, 8))
        return PairRow(0, 0.3, 2.0, 0, 9, (a, b), (sum(c for _, c in a), sum(c for _, c in b)), spark)

    class Host(App):
        def compose(self):
            yield PairsTable()

    async def main():
        app = Host()
        async with app.run_test(size=(120, 20)) as pilot:
            table = app.query_one(PairsTable)
            table.show((row((("deer", 56),), (("automobile", 9),)),))
            await pilot.pause()
            table.show((row((("deer", 56), ("horse", 8)), (("automobile", 9), ("truck", 2))),))
            await pilot.pause()
            lines = [strip.text for strip in app.screen._compositor.render_strips()]
            assert any("A  64: deer 56, horse 8" in line for line in lines), lines
            assert any("B  11: automobile 9, truck 2" in line for line in lines), lines
    asyncio.run(main())
