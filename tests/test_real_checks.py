"""The real-data presets' new checks on hand-made numbers (no training): each can be made to pass and to fail.

fm-fig1-gd: the loss falls but not monotonically (real_eos); fm-pairs: the top pair opposes, swings ≥ 3× the
dataset's per-sample loss changes and its sides differ in class make-up (real_pairs); the GPU-time estimate
is its formula."""
from __future__ import annotations

import math

import numpy as np
import pytest

from osig_core.report import real_eos, real_pairs
from osig_core.report.model import Report


def _report() -> Report:
    return Report(title="t", preset=None, claim="", runs={})


# ---------------------------------------------------------------------- fm-fig1-gd: a loss that falls unevenly
def _loss(kind: str, steps: int = 100) -> dict:
    t = np.arange(steps, dtype=float)
    base = 2.0 * np.exp(-t / 30) + 0.1
    if kind == "uneven":  # period-2 wobble after step 40 on a falling trend
        base = base + np.where(t >= 40, 0.03 * (-1) ** t, 0.0)
    if kind == "flat":  # wobbles but never falls
        base = 1.0 + 0.03 * (-1) ** t
    return {"step": t.astype(np.int64), "train_loss": base}


@pytest.mark.parametrize("kind, passed", [("uneven", True), ("monotone", False), ("flat", False)])
def test_loss_falls_non_monotonically(kind, passed):
    m = _loss(kind)
    rep = _report()
    real_eos.loss_checks(rep, m, onset=40)
    (check,) = rep.checks
    assert check.passed is passed, check.observed
    end, rises, count = real_eos.loss_shape(m["step"], m["train_loss"], 40)
    d = np.diff(m["train_loss"][40:])
    assert count == 59 and rises == pytest.approx((d > 0).mean())
    assert end == pytest.approx(m["train_loss"][-10:].mean() / m["train_loss"][0])


def test_loss_check_without_an_onset_is_not_available():
    rep = _report()
    real_eos.loss_checks(rep, _loss("uneven"), onset=None)
    assert rep.checks[0].passed is None and "never reached 2/η" in rep.checks[0].observed


# ---------------------------------------------------------------------- fm-pairs: the top pair
def test_make_up_distance_is_total_variation():
    assert real_pairs.make_up_distance({"Coat": 5}, {"Coat": 2}) == 0
    assert real_pairs.make_up_distance({"Coat": 5}, {"Bag": 2}) == 1
    assert real_pairs.make_up_distance({"Coat": 3, "Shirt": 1}, {"Coat": 1, "Shirt": 1}) == pytest.approx(0.25)
    assert math.isnan(real_pairs.make_up_distance({}, {"Coat": 1}))


def test_amplitude_ratio_against_a_hand_count():
    rows = np.zeros((3, 4))
    rows[:, 0] = [0, 2, 0]  # |Δ| 2, 2
    rows[:, 1] = [0, 1, 1]  # |Δ| 1, 0
    # members 0, 1: mean |Δ| = 5/4; every sample: 5/8  ->  2
    assert real_pairs.amplitude_ratio(rows, np.array([0, 1])) == pytest.approx(2.0)


class HandRun:
    """Just what the pair checks read from a run: pairs, each side's mean loss, the loss matrix."""

    def __init__(self, n: int = 200, steps: int = 40, phase_b: float = -1.0, amp: float = 0.5,
                 classes_b: str = "Pullover", seed: int = 0):
        rng = np.random.default_rng(seed)
        t = np.arange(steps)
        self.n = n
        rows = 1.5 - 0.01 * t[:, None] + rng.normal(0, 0.01, (steps, n))
        a, b = np.arange(0, 20), np.arange(20, 40)
        rows[:, a] += amp * (-1.0) ** t[:, None]
        rows[:, b] += phase_b * amp * (-1.0) ** t[:, None]
        self.rows, self.steps = rows.astype(np.float32), t.astype(np.int64)
        self.pair = {"id": 7, "score": 0.9, "first_step": 0, "last_step": steps - 1,
                     "sides": [{"members": a.tolist(), "classes": {"Coat": 20}},
                               {"members": b.tolist(), "classes": {classes_b: 20}}]}

    def pairs_all(self):
        return [self.pair]

    def group_losses(self, pair_id):
        return {k: (self.steps, self.rows[:, s["members"]].mean(axis=1).astype(np.float64))
                for k, s in enumerate(self.pair["sides"])}

    def loss_steps(self):
        return self.steps

    def losses(self):
        return self.rows


def _pair_verdicts(run) -> list:
    rep = _report()
    real_pairs.pair_checks(rep, run, start=None)
    return [c.passed for c in rep.checks]


def test_an_opposing_large_pair_of_different_classes_passes():
    assert _pair_verdicts(HandRun()) == [True, True, True]


def test_each_pair_check_can_fail():
    assert _pair_verdicts(HandRun(phase_b=1.0)) == [False, True, True]  # sides move together
    corr_ok, amp_ok, _ = _pair_verdicts(HandRun(amp=0.004))  # within the samples' noise
    assert amp_ok is False
    assert _pair_verdicts(HandRun(classes_b="Coat")) == [True, True, False]  # same class make-up


def test_no_pair_is_not_available():
    run = HandRun()
    run.pairs_all = lambda: []
    rep = _report()
    assert real_pairs.pair_checks(rep, run, start=None) is None
    assert rep.checks[0].passed is None


def test_pair_check_starts_at_the_onset():
    rep = _report()
    top = real_pairs.pair_checks(rep, HandRun(), start=10)
    assert int(top.steps[0]) == 10 and "over 30 steps" in rep.checks[0].observed


# ---------------------------------------------------------------------- GPU time: an estimate from FLOPs
def test_gpu_estimate_scales_as_the_work_does():
    """The documented figures (VGG-11: 0.913 GFLOP per image trained, 30 HVPs of ~2 gradients per estimate,
    50 TFLOP/s, 10 ms per step) written out by hand, and the estimate grows with each kind of work."""
    from osig_core.presets.gpu_estimate import describe, gpu_seconds
    cfg = {"model": "vgg11", "width": 1.0, "optim": "gd", "n": 1000, "steps": 10, "sharpness_every": 5,
           "sharpness_subset": 100, "eval_every": 0}
    by_hand = (10 * 1000 * 0.9131e9 + 2 * 30 * 2 * 100 * 0.9131e9) / 50e12 + 10 * 0.01
    assert gpu_seconds(cfg) == pytest.approx(by_hand)
    bare = {**cfg, "sharpness_every": 0}
    assert gpu_seconds(bare) < gpu_seconds(cfg)  # sharpness estimates cost time
    flops = lambda c: gpu_seconds(c) - 0.01 * c["steps"]  # noqa: E731  (the FLOP part alone)
    assert flops({**bare, "steps": 20}) == pytest.approx(2 * flops(bare))  # twice the steps, twice the work
    assert flops({**bare, "width": 0.5}) == pytest.approx(flops(bare) / 4)  # conv cost ~ channels²
    assert gpu_seconds({**cfg, "model": "resnet18"}) > gpu_seconds(cfg)  # ResNet-18 costs more per image
    assert gpu_seconds({**cfg, "model": "mlp"}) is None
    assert describe(7200) == "≈ 2.0 h" and describe(600) == "≈ 10 min"
