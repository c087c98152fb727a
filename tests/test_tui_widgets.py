"""The monitor's drawing helpers, checked against hand-computed answers."""
from __future__ import annotations

import numpy as np
import pytest

from osig_tui.halfblock import _resize, halfblock_segments
from osig_tui.widgets.images import resolve_image_mode
from osig_tui.widgets.members import intervals
from osig_tui.widgets.spark import BLOCKS, bar, envelope, paired_sparklines


def test_half_blocks_put_the_upper_pixel_in_front_and_the_lower_behind():
    img = np.zeros((4, 2, 3), np.uint8)
    img[0:2] = [255, 0, 0]  # top half red
    img[2:4] = [0, 0, 255]  # bottom half blue
    (line,) = halfblock_segments(img, cols=2, rows=1)
    assert [s.text for s in line] == ["▀", "▀"]
    assert line[0].style.color.triplet[:3] == (252, 0, 0)  # 6 bits a channel
    assert line[0].style.bgcolor.triplet[:3] == (0, 0, 252)


def test_resize_averages_areas():
    img = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    small = _resize(img, 2, 2)
    expect = img.astype(float).reshape(2, 2, 2, 2, 3).mean((1, 3))
    np.testing.assert_allclose(small, np.floor(expect + 0.5))


def test_image_mode_is_chosen_without_a_terminal_and_validated(monkeypatch):
    import io
    import sys
    monkeypatch.setattr(sys, "__stdout__", io.StringIO())  # not a terminal: nothing to ask
    assert resolve_image_mode("none") == "none"
    assert resolve_image_mode("auto") == "halfcell"
    assert resolve_image_mode("sixel") == "sixel"  # asked for by name: kept
    with pytest.raises(ValueError, match="--images must be one of"):
        resolve_image_mode("ascii")


def test_envelope_keeps_every_bucket_extreme_in_order():
    x = np.arange(1000)
    y = np.where(x % 2 == 0, 1.0, -1.0) * (1 + x / 1000)  # period-2 oscillation, growing
    xs, ys = envelope(x, y, buckets=50)
    assert len(xs) <= 100 and np.all(np.diff(xs) > 0)
    assert ys.max() == y.max() and ys.min() == y.min()  # the swings survive thinning
    assert np.sum(ys > 0) == np.sum(ys < 0)


def test_paired_sparklines_share_one_scale():
    a, b = paired_sparklines(np.array([0.0, 1.0]), np.array([2.0, 3.0]), width=8)
    assert a.plain == BLOCKS[0] + BLOCKS[2] and b.plain == BLOCKS[5] + BLOCKS[7]


def test_bars_and_intervals():
    assert bar(0.5, 4).plain == "██  " and bar(1.0, 3).plain == "███" and bar(float("nan"), 2).plain == "  "
    assert intervals(np.array([0.0, 0.1, 0.2, 0.9, 1.0]), gap=0.15) == "[0, 0.2] ∪ [0.9, 1]"
    assert intervals(np.array([0.5]), gap=0.1) == "{0.5}"


class _Series:
    """A History stand-in: a constant threshold series."""
    def __init__(self, threshold: float):
        self.threshold = threshold

    def has(self, key: str) -> bool:
        return key in ("sharpness", "threshold")

    def series(self, key: str):
        import numpy as np
        return np.arange(3.0), np.full(3, self.threshold if key == "threshold" else 1.0)


def test_the_threshold_is_called_2_over_eta_only_where_it_is():
    from types import SimpleNamespace
    from osig_tui.widgets.charts import SharpnessChart
    chart = SharpnessChart()
    cases = [(SimpleNamespace(optim="gd", lr=0.05), 40.0, "2/η = 40"),
             (SimpleNamespace(optim="torch:SGD", lr=0.1), 20.0, "2/η = 20"),  # a monitored torch.optim.SGD
             (SimpleNamespace(optim="sgd", lr=0.1), 380.0, "threshold = 380")]  # heavy ball, beta 0.9
    for info, threshold, want in cases:
        chart.history, chart.info = _Series(threshold), info
        assert want in chart.legend(), (info, chart.legend())
