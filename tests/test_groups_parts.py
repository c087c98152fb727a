"""The group detector's parts: extremes vs a brute-force sort, ground-truth scoring, renderings, period."""
from __future__ import annotations

import numpy as np
import pytest

from osig_core.groups.extremes import extremes_record, top_k_extremes
from osig_core.groups.render import member_intervals, render_intervals, render_text_group
from osig_core.groups.evaluate import evaluate_groups
from osig_core.groups.pair_stats import ClassNamer, dominant_period, opposition


@pytest.mark.parametrize("n,k", [(1000, 24), (50, 24), (7, 24), (300, 1)])
def test_extremes_match_a_brute_force_sort(n, k):
    rng = np.random.default_rng(n + k)
    delta = rng.normal(size=n).astype(np.float32)
    up, down = top_k_extremes(delta, k)
    by_value = sorted(range(n), key=lambda i: -float(delta[i]))
    assert up.tolist() == [i for i in by_value if delta[i] > 0][:k]
    assert down.tolist() == [i for i in reversed(by_value) if delta[i] < 0][:k]


def test_extremes_record_carries_label_and_prediction_change():
    delta = np.array([0.5, -0.2, 0.0, 1.5], dtype=np.float32)
    up, down = top_k_extremes(delta, 2)
    rec = extremes_record(delta, up, down, np.array([3, 1, 0, 2]), np.array([3, 1, 0, 0]), np.array([2, 1, 0, 2]))
    assert rec["up"] == [{"id": 3, "delta": 1.5, "label": 2, "pred_before": 0, "pred_after": 2},
                         {"id": 0, "delta": 0.5, "label": 3, "pred_before": 3, "pred_after": 2}]
    assert [e["id"] for e in rec["down"]] == [1]
    assert all(type(v) in (int, float) for e in rec["up"] for v in e.values())


def test_evaluation_picks_the_best_pair_and_the_first_pure_step():
    n = 100
    sky = np.zeros(n, bool)
    sky[:20] = True
    history = [
        {"id": 0, "step": 5, "sides": [{"members": list(range(0, 5))}, {"members": [50, 51, 52, 53, 54]}]},  # purity 0.5
        {"id": 0, "step": 9, "sides": [{"members": list(range(0, 8))}, {"members": list(range(8, 16))}]},  # pure, recall .8
        {"id": 3, "first_step": 12, "sides": [list(range(0, 10)), list(range(10, 20)) + [60, 61]]},  # history format
    ]
    (r,) = evaluate_groups(history, {"sky": sky}, n)
    assert r["pair_id"] == 3 and r["purity"] == pytest.approx(20 / 22, abs=1e-4) and r["recall"] == 1.0
    assert r["first_step"] == 9  # the first snapshot holding it with purity >= 0.8
    (none,) = evaluate_groups(history, {"grass": np.arange(n) >= 90}, n)
    assert none == {"feature": "grass", "purity": 0.0, "recall": 0.0, "f1": 0.0, "first_step": None, "pair_id": None}


def test_text_group_lists_contexts_with_targets():
    texts = {0: "to be[ ]", 1: "or not[ ]", 2: "to be[ ]", 3: "the end[.]"}
    lines = render_text_group([3, 0, 1, 2], texts.__getitem__)
    assert lines == ["to be[ ] ×2", "or not[ ]", "the end[.]"]
    assert render_text_group([0, 1, 3], texts.__getitem__, limit=1) == ["or not[ ]"]


def test_regression_group_becomes_x_intervals():
    x = np.linspace(-1, 1, 21)[::-1].copy()  # ids in reverse x order: intervals must follow x, not ids
    ids_of = {round(float(v), 1): i for i, v in enumerate(x)}
    members = [ids_of[v] for v in (-0.8, -0.7, -0.6, 0.2, 0.3, 0.9)]
    assert render_intervals(members, x) == ["[-0.80, -0.60]", "[0.20, 0.30]", "[0.90, 0.90]"]
    assert member_intervals(members, x)[0] == pytest.approx((-0.8, -0.6, 3))
    # a gap of one non-member is bridged when allowed
    assert render_intervals([ids_of[-0.8], ids_of[-0.6]], x, max_gap=1) == ["[-0.80, -0.60]"]
    assert render_intervals([], x) == []


@pytest.mark.parametrize("period", [2, 3, 4.5, 6])
def test_dominant_period_of_an_oscillation(period):
    t = np.arange(20)
    series = np.cos(2 * np.pi * t / period + 0.3) + 0.01 * t
    assert dominant_period(series) == pytest.approx(period, rel=0.12)
    assert dominant_period(np.zeros(20)) is None


def test_opposition_score_needs_both_anticorrelation_and_size():
    rng = np.random.default_rng(0)
    rows = rng.normal(0, 0.05, (20, 200))
    wave = np.cos(np.pi * np.arange(20))
    rows[:, :10] += wave[:, None]
    rows[:, 10:20] -= wave[:, None]
    def opp(r):
        return opposition(r[:, :10], r[:, 10:20], float(np.abs(r).mean()))

    score, corr, ratio = opp(rows)
    assert corr < -0.99 and ratio > 5 and score > 0.9
    assert ratio == pytest.approx(np.abs(rows[:, :20]).mean() / np.abs(rows).mean())
    rows[:, 10:20] = rows[:, :10]  # moving together: no opposition
    assert opp(rows)[0] == 0.0
    small = rng.normal(0, 0.05, (20, 200))
    small[:, :10] += 0.05 * wave[:, None]
    small[:, 10:20] -= 0.05 * wave[:, None]
    assert opp(small)[0] < 0.3  # opposed, but no larger than everybody else


def test_class_names_or_bins_for_histograms():
    namer = ClassNamer(np.array([0, 2, 2, 1]), ["cat", "dog", "owl"])
    assert namer.histogram(np.array([1, 2, 0])) == {"owl": 2, "cat": 1}
    reg = ClassNamer(np.linspace(0, 1, 100), [])
    hist = reg.histogram(np.arange(10))
    assert list(hist.values()) == [10] and next(iter(hist)).startswith("y∈[0")
    assert ClassNamer(np.zeros(5, np.int64), []).histogram(np.arange(5)) == {"all": 5}
