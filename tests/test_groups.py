"""The group detector on hand-made loss matrices whose opposing structure is known."""
from __future__ import annotations

import json

import numpy as np
import pytest

from osig_core.groups.detector import GroupDetector
from osig_core.groups.evaluate import evaluate_groups
from osig_core.groups.synth import (PlantedPair, default_pairs, drifting_pair, make_losses,
                                                same_phase_pairs)


def replay(s, steps=None, k=24, window=20, det=None, start=1):
    """Feed consecutive rows to a detector; returns (detector, per-step results, snapshot history)."""
    T = s.losses.shape[0] if steps is None else steps
    det = det or GroupDetector(s.losses.shape[1], s.labels, s.classes, k=k, window=window)
    results, history = [], []
    for t in range(start, T):
        r = det.update(t, s.losses[t - 1], s.losses[t], s.preds[t - 1], s.preds[t])
        results.append(r)
        history.extend({"step": t, **p} for p in r.pairs)
    return det, results, history


@pytest.fixture(scope="module")
def planted():
    s = make_losses(1000, 80, default_pairs(), seed=3)
    return (s, *replay(s))


def test_each_planted_pair_is_found_pure_and_complete(planted):
    s, det, results, history = planted
    found = {r["feature"]: r for r in evaluate_groups(history, s.features, 1000)}
    for name in ("p2", "p4", "p6"):
        assert found[name]["purity"] >= 0.95, found[name]
        assert found[name]["recall"] >= 0.9, found[name]
        assert found[name]["first_step"] <= 12


def test_pairs_report_their_period_sides_and_classes(planted):
    s, det, results, history = planted
    last = {p["id"]: p for p in results[-1].pairs}
    assert len(last) == 3
    by_feature = {}
    for p in last.values():
        members = p["sides"][0]["members"] + p["sides"][1]["members"]
        name = max(s.features, key=lambda f: s.features[f][members].mean())
        by_feature[name] = p
    for name, period in (("p2", 2), ("p4", 4), ("p6", 6)):
        p = by_feature[name]
        assert p["period"] == pytest.approx(period, rel=0.15)
        assert 0.5 < p["score"] <= 1.0 and p["corr"] < -0.9
        side_a, side_b = (set(x["members"]) for x in p["sides"])
        pool_a, pool_b = (set(x.tolist()) for x in s.sides[name])
        assert (side_a, side_b) in ((pool_a, pool_b), (pool_b, pool_a))  # sides are the planted sides
        assert sum(p["sides"][0]["classes"].values()) == len(side_a)
        assert len(p["sides"][0]["classes"]) == 1 and len(p["sides"][1]["classes"]) == 1
    json.dumps(results[-1].to_dict())  # the engine stores it as JSON


def test_group_losses_tracked_groups_and_opposing_score_are_consistent(planted):
    s, det, results, history = planted
    t = len(results)  # results[-1] is the step from row t-1 to row t
    r = results[-1]
    now = s.losses[t].astype(np.float64)
    delta = np.abs(s.losses[t].astype(np.float32) - s.losses[t - 1].astype(np.float32)).astype(np.float64)
    members = set()
    for p in r.pairs:
        for side, tag in ((0, "a"), (1, "b")):
            ids = p["sides"][side]["members"]
            assert r.tracked_groups[f"pair{p['id']}/{tag}"] == ids
            (loss,) = [g[2] for g in r.group_losses if g[0] == p["id"] and g[1] == side]
            assert loss == pytest.approx(now[ids].mean(), rel=1e-5)
            members.update(ids)
    share = delta[sorted(members)].sum() / delta.sum()
    assert r.opposing_score == pytest.approx(share, rel=1e-4)
    assert r.opposing_score > 0.3  # the planted pairs carry most of the movement


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_pairs_without_opposing_structure(seed):
    s = make_losses(1000, 60, [], seed=seed)
    det, results, history = replay(s)
    assert history == []
    assert all(r.opposing_score == 0.0 for r in results)
    assert all(len(r.extremes["up"]) + len(r.extremes["down"]) > 0 for r in results)


def test_pairs_in_the_same_phase_are_told_apart_by_their_classes():
    """At the edge of stability all pairs oscillate with period 2 in phase; the classes each pair's
    predictions hop between separate them."""
    s = make_losses(1000, 50, same_phase_pairs(), seed=5)
    det, results, history = replay(s)
    found = {r["feature"]: r for r in evaluate_groups(history, s.features, 1000)}
    assert found["sky"]["purity"] >= 0.95 and found["wheels"]["purity"] >= 0.95
    assert found["sky"]["recall"] >= 0.9 and found["wheels"]["recall"] >= 0.9
    assert found["sky"]["pair_id"] != found["wheels"]["pair_id"]


def test_id_and_side_orientation_stay_stable_while_members_drift():
    s = make_losses(1000, 120, drifting_pair(), seed=2)
    det, results, history = replay(s)
    ids = {h["id"] for h in history}
    assert len(ids) == 1, ids
    first, last = history[0], history[-1]
    assert first["step"] <= 12 and last["step"] == 119
    m0 = set(first["sides"][0]["members"]) | set(first["sides"][1]["members"])
    m1 = set(last["sides"][0]["members"]) | set(last["sides"][1]["members"])
    assert len(m0 & m1) / len(m0 | m1) < 0.1  # membership has turned over completely
    side0_classes = {next(iter(h["sides"][0]["classes"])) for h in history}
    assert len(side0_classes) == 1  # side 0 stays the same side
    assert last["first_step"] == first["step"] and last["last_step"] == 119


def test_regression_labels_and_no_predictions_do_not_crash():
    s = make_losses(600, 50, [PlantedPair("wave", 3, (0, 1), side=25)], seed=4)
    x = np.linspace(-1, 1, 600)
    det = GroupDetector(600, x.astype(np.float32), [], k=16, window=20)
    hist = []
    for t in range(1, 50):
        r = det.update(t, s.losses[t - 1], s.losses[t], x * 0.1, x * 0.2)
        hist.extend({"step": t, **p} for p in r.pairs)
        assert isinstance(r.extremes["up"][0]["pred_after"], float)
    found = evaluate_groups(hist, s.features, 600)[0]
    assert found["purity"] >= 0.95 and found["recall"] >= 0.9
    assert all(k.startswith("y∈[") for k in hist[-1]["sides"][0]["classes"])


def test_resume_from_state_dict_and_warm_start_continues_ids():
    s = make_losses(1000, 70, default_pairs(), seed=6)
    _, straight, _ = replay(s)
    det, _, _ = replay(s, steps=40)
    state = json.loads(json.dumps(det.state_dict()))
    fresh = GroupDetector(1000, s.labels, s.classes)
    fresh.load_state_dict(state)
    fresh.warm_start(s.losses[19:40], list(range(19, 40)), s.preds[19:40])
    _, resumed, _ = replay(s, det=fresh, start=40)
    assert [p["id"] for p in resumed[-1].pairs] == [p["id"] for p in straight[-1].pairs]
    assert resumed[-1].pairs == straight[-1].pairs


def test_resume_from_stored_pairs_continues_ids():
    s = make_losses(1000, 60, default_pairs(), seed=6)
    det, first, _ = replay(s, steps=30)
    fresh = GroupDetector(1000, s.labels, s.classes)
    fresh.load_pairs(first[-1].pairs)
    fresh.warm_start(s.losses[9:30], list(range(9, 30)), s.preds[9:30])
    _, resumed, _ = replay(s, det=fresh, start=30)
    assert {p["id"] for p in resumed[-1].pairs} == {p["id"] for p in first[-1].pairs}
    with pytest.raises(ValueError):
        GroupDetector(10, np.zeros(10, int), ["a"]).load_state_dict({**det.state_dict(), "n": 5})


def test_v_grad_sign_removes_a_member_on_the_wrong_side():
    s = make_losses(800, 40, [PlantedPair("p", 2, (0, 2))], seed=1)
    det, results, _ = replay(s, steps=30)
    a, b = (r["members"] for r in results[-1].pairs[0]["sides"])
    intruder = a[0]
    v = {i: 1.0 for i in a} | {i: -1.0 for i in b}
    v[intruder] = -1.0  # its gradient says it belongs to the other side of the valley
    r = det.update(30, s.losses[29], s.losses[30], s.preds[29], s.preds[30], v_grad=v)
    a2, b2 = (x["members"] for x in r.pairs[0]["sides"])
    assert intruder not in a2 and intruder not in b2
    assert r.pairs[0]["vgrad_agreement"] == pytest.approx(1 - 1 / (len(a) + len(b)), abs=1e-3)


def test_detector_handles_tiny_and_diverging_inputs():
    det = GroupDetector(5, np.arange(5) % 2, ["x", "y"], k=24, window=4)
    r = det.update(1, np.ones(5), np.array([1.0, np.nan, np.inf, 0.5, 2.0]), None, None)
    assert [e["id"] for e in r.extremes["up"]] == [2, 4]
    assert [e["id"] for e in r.extremes["down"]] == [3]
    assert r.extremes["up"][0]["pred_before"] is None and r.pairs == []
    with pytest.raises(ValueError):
        GroupDetector(5, np.zeros(4), [])
