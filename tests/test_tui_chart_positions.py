"""The sharpness chart tells the truth at 80×24: every estimate's mark sits in the row whose label is
nearest its value, in the column its step's ticks say; the band reaches the row of its upper end;
the y axis has no negative tick when no value is negative (issue 22: values of 8-10 were drawn on
a row labelled −20). Checked on the rendered screen, not on the chart's own arithmetic."""
from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest

from fixtures.scalar_run import write_scalar_run
from fixtures.tui_pilot import ready, wait_for
from osig_tui.app import WatchApp
from osig_tui.widgets.charts import LossChart, SharpnessChart

STEPS = 101
EVERY = 10
VALUES = [8.0, 9.5, 12.0, 30.0, 55.0, 70.0, 85.0, 96.0, 104.0, 99.0, 101.0]  # at steps 0, 10, ..., 100
BOUNDS = [1.0, 2.0, 30.0, 5.0, 40.0, 3.0, 10.0, 8.0, 2.0, 25.0, 1.0]


def _scalars(converged: float, bound_key: str):
    def at(t: int) -> dict:
        if t % EVERY:
            return {}
        i = t // EVERY
        out = {"sharpness": VALUES[i], "threshold": 100.0, "eig_converged": converged}
        out[bound_key] = BOUNDS[i] if bound_key == "eig_bound" else VALUES[i] + BOUNDS[i]
        return out
    return at


def chart_lines(app, widget) -> list[str]:
    """The text inside a chart's border, as drawn on the screen."""
    region = widget.content_region
    screen = [strip.text for strip in app.screen._compositor.render_strips()]
    return [line[region.x:region.right] for line in screen[region.y:region.bottom]]


def y_scale(lines: list[str]) -> tuple[dict[int, float], float]:
    """Each plot row's value from the tick labels (labelled rows, evenly spaced), and the row step."""
    labelled = [(i, float(m.group(1))) for i, line in enumerate(lines) if (m := re.match(r"\s*(-?[0-9.]+)[┤├]", line))]
    assert len(labelled) >= 2, "\n".join(lines)
    (i0, v0), (i1, v1) = labelled[0], labelled[1]
    step = (v0 - v1) / (i1 - i0)
    rows = [i for i, line in enumerate(lines) if re.match(r"\s*-?[0-9.]*[┤├│]", line) and "┌" not in line]
    return {i: v0 + (i0 - i) * step for i in rows}, step


def x_scale(lines: list[str]) -> np.ndarray:
    """(column, step) for every x tick: '┬' on the axis line, its number below it."""
    axis = next(i for i, line in enumerate(lines) if "└" in line)
    cols = [j for j, ch in enumerate(lines[axis]) if ch == "┬"]
    labels = [(m.start(), m.end(), int(m.group())) for m in re.finditer(r"\d+", lines[axis + 1])]
    out = []
    for c in cols:
        hit = [v for a, b, v in labels if a - 1 <= c <= b]
        if hit:
            out.append((c, hit[0]))
    return np.array(out, np.float64)


def render(run, size=(80, 24), last=STEPS - 1):
    seen = {}

    async def main():
        app = WatchApp(run)
        async with app.run_test(size=size) as pilot:
            await ready(pilot, step=last)
            chart = app.screen.query_one(SharpnessChart)
            await wait_for(pilot, lambda: chart.history is not None and chart.history.last_step == last)
            await pilot.pause()
            seen["sharpness"] = chart_lines(app, chart)
            seen["loss"] = chart_lines(app, app.screen.query_one(LossChart))
            seen["keys"] = str(chart.border_subtitle)
    asyncio.run(main())
    return seen


@pytest.fixture(scope="module")
def rough_run(tmp_path_factory):
    """Every estimate unconverged, so each one is drawn as its own mark (○)."""
    return write_scalar_run(tmp_path_factory.mktemp("pos") / "rough", _scalars(0.0, "eig_bound"), steps=STEPS,
                            model="vgg11", optim="gd", lr=0.02)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_each_estimate_sits_in_the_row_and_column_its_ticks_name(rough_run, size):
    seen = render(rough_run, size)
    lines = seen["sharpness"]
    rows, step = y_scale(lines)
    ticks = x_scale(lines)
    marks = sorted((j, i) for i, line in enumerate(lines) for j, ch in enumerate(line) if ch == "○")
    assert len(marks) == len(VALUES), "\n".join(lines)
    for k, (col, row) in enumerate(marks):
        value, at = VALUES[k], k * EVERY
        assert abs(value - rows[row]) <= step / 2 + 1e-9, (value, rows[row], "\n".join(lines))
        want = np.interp(at, ticks[:, 1], ticks[:, 0])
        assert abs(col - want) <= 1, (at, col, want, "\n".join(lines))
        # the band: shaded from the mark up to the row of value + bound (or, where the next estimate's
        # band is higher, at most the row of that one), cut at the top row
        above = [i for i in range(row) if lines[i][col] == "░"]
        top = rows[min(above)] if above else rows[row]
        cut = max(rows.values())
        upper = min(value + BOUNDS[k], cut)
        nxt = min(max(upper, VALUES[k + 1] + BOUNDS[k + 1]), cut) if k + 1 < len(VALUES) else upper
        assert top >= upper - step / 2 - 1e-9 and top <= nxt + step / 2 + 1e-9, (k, top, upper, "\n".join(lines))
    assert "band" in seen["keys"] and "not converged" in seen["keys"]


def test_no_negative_tick_when_no_value_is_negative(rough_run):
    seen = render(rough_run)
    for name in ("sharpness", "loss"):
        rows, _ = y_scale(seen[name])
        labels = [float(m.group(1)) for line in seen[name] if (m := re.match(r"\s*(-?[0-9.]+)[┤├]", line))]
        assert min(labels) >= 0 and min(rows.values()) >= -1e-9, "\n".join(seen[name])
    threshold_rows = [i for i, line in enumerate(seen["sharpness"]) if "├" in line]
    assert len(threshold_rows) == 1 and re.match(r"\s*100├", seen["sharpness"][threshold_rows[0]])


def test_the_first_estimates_alone_sit_on_their_rows(tmp_path):
    """The issue's case: only the first two estimates (8, 10) against 2/η = 100 so far."""
    def at(t):
        return {"sharpness": {0: 8.0, 10: 10.0}[t], "threshold": 100.0, "eig_bound": 0.5,
                "eig_converged": 0.0} if t in (0, 10) else {}
    run = write_scalar_run(tmp_path / "early", at, steps=11, model="vgg11", optim="gd", lr=0.02)
    lines = render(run, last=10)["sharpness"]
    rows, step = y_scale(lines)
    marks = [(i, j) for i, line in enumerate(lines) for j, ch in enumerate(line) if ch == "○"]
    assert len(marks) == 2 and min(rows.values()) >= 0, "\n".join(lines)
    for (row, _), value in zip(sorted(marks, key=lambda m: m[1]), (8.0, 10.0)):
        assert abs(value - rows[row]) <= step / 2, "\n".join(lines)


def test_a_stored_upper_end_is_the_band_and_converged_estimates_carry_no_mark(tmp_path):
    run = write_scalar_run(tmp_path / "upper", _scalars(1.0, "sharpness_upper"), steps=STEPS, model="vgg11",
                           optim="gd", lr=0.02)
    seen = render(run)
    text = "\n".join(seen["sharpness"])
    assert "○" not in text and "░" in text, text
    assert "band" in seen["keys"] and "not converged" not in seen["keys"]
