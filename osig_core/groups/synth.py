"""Hand-made per-sample loss matrices with known opposing structure, for testing and benchmarking the
group detector without training anything.

Every sample's loss decays smoothly with its own rate plus per-step noise of its own size; planted
pairs add an oscillation in antiphase (side a up while side b down) with a large amplitude. Side
members carry distinct labels, and while a side is in its high-loss phase its predictions hop to
the other side's class, as the paper's Appendix H shows for real networks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CLASSES = [str(c) for c in "abcdefghij"]


@dataclass
class PlantedPair:
    name: str
    period: float
    classes: tuple[int, int]  # label of side a, label of side b
    side: int = 30  # members per side at any time
    amplitude: float = 0.6
    phase: float = 0.0
    start: int = 0  # first step it oscillates
    drift: float = 0.0  # members replaced per step and side (a sliding window over a larger pool)


@dataclass
class SynthLosses:
    losses: np.ndarray  # [T, N] float32
    preds: np.ndarray  # [T, N] int64 predicted class
    labels: np.ndarray  # [N] int64
    classes: list[str]
    features: dict[str, np.ndarray]  # name -> bool [N]: every sample that ever belonged to the pair
    sides: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name -> pools of side a, b


def make_losses(n: int = 1000, steps: int = 120, pairs: list[PlantedPair] | None = None,
                noise: float = 0.01, seed: int = 0) -> SynthLosses:
    """Build the matrix; `pairs=[]` gives the null case (smooth decrease + heteroscedastic noise only)."""
    rng = np.random.default_rng(seed)
    pairs = default_pairs() if pairs is None else pairs
    labels = rng.integers(0, len(CLASSES), n)
    t = np.arange(steps, dtype=np.float64)[:, None]
    start = rng.uniform(0.8, 2.5, n)
    floor = rng.uniform(0.05, 0.3, n)
    tau = rng.uniform(30, 200, n)
    sigma = noise * rng.lognormal(0.0, 0.5, n)
    losses = floor + start * np.exp(-t / tau) + sigma * rng.standard_normal((steps, n))
    preds = np.broadcast_to(labels, (steps, n)).copy()
    features, sides = {}, {}
    taken = np.zeros(n, dtype=bool)
    for p in pairs:
        pools = []
        for cls in p.classes:
            pool_size = p.side + int(np.ceil(p.drift * steps))
            avail = np.flatnonzero((labels == cls) & ~taken)
            if len(avail) < pool_size:
                raise ValueError(f"not enough samples of class {cls} for pair {p.name}")
            pool = rng.choice(avail, pool_size, replace=False)
            taken[pool] = True
            pools.append(pool)
        osc = np.cos(2 * np.pi * (t[:, 0] - p.start) / p.period + p.phase)
        for sign, pool, other in ((1.0, pools[0], p.classes[1]), (-1.0, pools[1], p.classes[0])):
            scale = rng.uniform(0.6, 1.4, len(pool))
            for step in range(p.start, steps):
                lo = int((step - p.start) * p.drift)
                active = pool[lo: lo + p.side]
                wave = sign * osc[step]
                losses[step, active] += p.amplitude * scale[lo: lo + p.side] * (1.0 + wave)
                if wave > 0.3:
                    preds[step, active] = other
        features[p.name] = np.isin(np.arange(n), np.concatenate(pools))
        sides[p.name] = (pools[0], pools[1])
    return SynthLosses(losses.astype(np.float32), preds, labels.astype(np.int64), list(CLASSES), features, sides)


def default_pairs() -> list[PlantedPair]:
    """Three pairs with distinct periods (2, 4, 6 steps) and label pairs."""
    return [PlantedPair("p2", 2, (0, 2)), PlantedPair("p4", 4, (1, 9), phase=0.7),
            PlantedPair("p6", 6, (4, 5), phase=2.0)]


def same_phase_pairs() -> list[PlantedPair]:
    """Two pairs oscillating with period 2 in the same phase, as at the edge of stability: only the
    classes their predictions hop between tell them apart."""
    return [PlantedPair("sky", 2, (0, 2)), PlantedPair("wheels", 2, (1, 9), amplitude=0.5)]


def drifting_pair() -> list[PlantedPair]:
    """One pair whose members are replaced one every other step per side (period 4)."""
    return [PlantedPair("drift", 4, (3, 7), side=30, drift=0.5)]
