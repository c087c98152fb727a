"""What the sides of a pair share beyond the label: class make-up, predictions before → after, mean images
and their difference — computed on hand-made arrays, and shown by the monitor's pair screen."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from fixtures.synthetic_run import write_run
from fixtures.tui_pilot import ready, rendered, wait_for
from osig_core.groups.pair_summary import SIDE_RGB, describe_side, diff_picture, summarize_pair
from osig_tui.app import WatchApp
from osig_tui.screens.group import GroupScreen
from osig_tui.widgets.pair_summary import PairSummaryPanel

CLASSES = ["shirt", "coat", "bag"]


def _hand_made():
    """Six 4×4 pictures: ids 0-2 bright on the top half (side A), ids 3-5 bright on the bottom (side B)."""
    images = np.zeros((6, 4, 4, 3), np.uint8)
    images[:3, :2] = 200
    images[3:, 2:] = 100
    labels = np.array([0, 0, 1, 2, 2, 2])
    before = np.array([1, 0, 1, 2, 0, 0])
    after = np.array([0, 0, 0, 0, 0, 2])
    return images, labels, before, after


def test_sides_report_class_make_up_predictions_and_mean_images():
    images, labels, before, after = _hand_made()
    s = summarize_pair((np.array([2, 0, 1]), np.array([3, 4, 5])), labels, CLASSES, images, before, after)
    a, b = s.sides
    assert a.size == 3 and a.classes == (("shirt", 2), ("coat", 1))
    assert b.classes == (("bag", 3),)
    assert a.transitions[0] == ("coat", "shirt", 2) and ("shirt", "shirt", 1) in a.transitions
    assert (a.changed, a.correct_before, a.correct_after) == (2, 2, 2)  # 0: coat→shirt right after, 2: coat→shirt wrong
    assert (b.changed, b.correct_before, b.correct_after) == (2, 1, 1)
    assert a.mean_image[0, 0].tolist() == [200] * 3 and a.mean_image[3, 0].tolist() == [0] * 3
    assert b.mean_image[3, 3].tolist() == [100] * 3
    assert a.brightness == pytest.approx(100 / 255) and b.brightness == pytest.approx(50 / 255)
    # A − B: full orange on top (A brighter by 200), half-strength blue below (B brighter by 100)
    assert s.diff_max == pytest.approx(200 / 255)
    assert s.diff_image[0, 0].tolist() == list(SIDE_RGB[0])
    assert s.diff_image[3, 0].tolist() == [round(c / 2) for c in SIDE_RGB[1]]
    lines = describe_side(a)
    assert lines[0] == "classes: shirt 67%, coat 33%" and "coat→shirt 2" in lines[1] and "right 2→2 of 3" in lines[1]


def test_identical_sides_differ_nowhere_and_grey_pictures_are_averaged_as_rgb():
    grey = np.full((4, 5, 5), 80, np.uint8)
    s = summarize_pair((np.array([0, 1]), np.array([2, 3])), np.zeros(4, np.int64), CLASSES, grey)
    assert s.diff_max == 0 and not s.diff_image.any()
    assert s.sides[0].mean_image.shape == (5, 5, 3) and s.sides[0].transitions == ()
    img, peak = diff_picture(np.zeros((2, 2, 3)), np.full((2, 2, 3), 255.0))
    assert peak == 1 and img[1, 1].tolist() == list(SIDE_RGB[1])


def test_no_pictures_no_mean_images():
    s = summarize_pair((np.array([0]), np.array([1])), np.array([0, 1]), CLASSES)
    assert s.diff_image is None and s.sides[0].mean_image is None and s.sides[1].classes == (("coat", 1),)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("ps") / "fx", n=240, steps=40)


def _open_pair(run_dir, size, image_mode="halfcell"):
    app = WatchApp(run_dir, image_mode=image_mode)
    seen = {}

    async def main():
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, GroupScreen) and app.screen.detail is not None)
            await pilot.pause()
            panel = app.screen.query_one(PairSummaryPanel)
            seen.update(display=panel.display, text=rendered(panel), region=panel.region, size=app.size,
                        detail=app.screen.detail)
    asyncio.run(main())
    return seen


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_pair_screen_shows_mean_images_and_make_up_of_each_side(finished, size):
    seen = _open_pair(finished, size)
    d = seen["detail"]
    assert seen["display"] and d.summary is not None
    text = seen["text"]
    assert "mean A" in text and "mean B" in text and "A − B" in text and "▀" in text
    top = d.summary.sides[0].classes[0][0]
    assert f"A {len(d.sides[0].members)}: {top}" in text and "pred " in text and "right " in text
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= seen["size"].width
    assert len(lines) <= 10  # compact: six rows when the text fits beside the pictures
    if size[0] >= 100:
        assert len(lines) == 6


def test_pair_screen_summary_without_pictures_is_text_only(finished):
    seen = _open_pair(finished, (100, 30), image_mode="none")
    assert seen["display"] and "▀" not in seen["text"] and "A−B: A/B brighter" in seen["text"]


def test_osig_groups_says_what_each_side_shares(finished, cli):
    """`osig groups --json` carries each side's predictions before → after the step and its brightness,
    checked against the stored labels, predictions and pictures."""
    import json

    from osig_core.store.reader import RunReader
    code, out, err = cli("groups", finished, "--json")
    assert code == 0, err
    pairs = json.loads(out)["pairs"]
    r = RunReader(finished)
    row = r.row_of(r.last_step())
    before, after, labels, images = np.asarray(r.preds()[row - 1]), np.asarray(r.preds()[row]), r.labels(), r.images()
    for p in pairs:
        for side in p["sides"]:
            ids = np.asarray(side["members"])
            assert side["right_before"] == int((before[ids] == labels[ids]).sum())
            assert side["right_after"] == int((after[ids] == labels[ids]).sum())
            assert side["changed"] == int((before[ids] != after[ids]).sum())
            assert sum(c for _, _, c in side["predicted"]) == len(ids)
            assert side["mean_brightness"] == pytest.approx(images[ids].astype(float).mean() / 255, abs=1e-3)
        assert 0 < p["mean_image_diff_max"] <= 1
    code, out, _ = cli("groups", finished)  # not a terminal: words, no pictures
    assert code == 0 and "predicted:" in out and "mean brightness" in out and "▀" not in out
