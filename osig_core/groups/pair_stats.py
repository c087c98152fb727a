"""Numbers describing one pair of groups over the window: opposition score, oscillation period, classes."""
from __future__ import annotations

import math

import numpy as np

# An amplitude ratio of AMP_SCALE above the dataset's typical movement gives tanh(1) ≈ 0.76 of the
# full score; ratios near 1 (the pair moves like everybody else) give ~0.
AMP_SCALE = 3.0


def opposition(series_a: np.ndarray, series_b: np.ndarray, overall_abs: float) -> tuple[float, float, float]:
    """(score in [0, 1], corr of the sides' mean Δloss, amplitude ratio) from the sides' window
    series [w, n_a] and [w, n_b] and the whole dataset's mean |Δloss| over the window.

    score = max(0, -corr) × tanh(max(ratio - 1, 0) / AMP_SCALE), where ratio is the members' mean
    |Δloss| divided by the dataset's: strongly AND largely opposed -> near 1.
    """
    sa, sb = series_a.mean(axis=1), series_b.mean(axis=1)
    ca, cb = sa - sa.mean(), sb - sb.mean()
    denom = float(np.linalg.norm(ca) * np.linalg.norm(cb))
    corr = float(ca @ cb / denom) if denom > 1e-20 else 0.0
    members = (float(np.abs(series_a).sum()) + float(np.abs(series_b).sum())) / (series_a.size + series_b.size)
    ratio = members / overall_abs if overall_abs > 0 else 0.0
    score = max(0.0, -corr) * math.tanh(max(ratio - 1.0, 0.0) / AMP_SCALE)
    return score, corr, ratio


def dominant_period(series: np.ndarray) -> float | None:
    """Period in steps of the strongest oscillation of a series (FFT peak, zero-padded 8×, DC excluded)."""
    x = np.asarray(series, dtype=np.float64)
    x = x - x.mean()
    w = x.shape[0]
    if w < 4 or not np.any(x):
        return None
    pad = 8 * w
    spec = np.abs(np.fft.rfft(x * np.hanning(w) if w >= 8 else x, n=pad))
    freqs = np.fft.rfftfreq(pad)
    lo = freqs >= 1.0 / w  # at least one full period inside the window
    if not lo.any():
        return None
    f = freqs[lo][np.argmax(spec[lo])]
    return round(float(1.0 / f), 2) if f > 0 else None


def pair_period(series_a: np.ndarray, series_b: np.ndarray) -> float | None:
    """Dominant period of the contrast between the two sides' mean Δloss (series [w, n_side])."""
    return dominant_period(series_a.mean(axis=1) - series_b.mean(axis=1))


class ClassNamer:
    """Turns labels into histogram keys: class names, or quantile bins for float (regression) labels."""

    def __init__(self, labels: np.ndarray, classes: list[str], bins: int = 4):
        self.labels = np.asarray(labels)
        self.classes = list(classes)
        self.is_classes = bool(self.classes) and np.issubdtype(self.labels.dtype, np.integer)
        if self.is_classes:
            self.codes = self.labels.astype(np.int64)
            self.names = [str(c) for c in self.classes]
        else:
            vals = self.labels.astype(np.float64).ravel()
            finite = vals[np.isfinite(vals)]
            if finite.size == 0 or np.ptp(finite) == 0:
                self.codes = np.zeros(len(vals), dtype=np.int64)
                self.names = ["all"]
            else:
                edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)))
                self.codes = np.clip(np.searchsorted(edges, vals, side="right") - 1, 0, len(edges) - 2)
                self.names = [f"y∈[{edges[i]:.3g}, {edges[i + 1]:.3g}]" for i in range(len(edges) - 1)]

    @property
    def n_codes(self) -> int:
        return len(self.names)

    def histogram(self, ids: np.ndarray) -> dict[str, int]:
        """{name: count}, most common first."""
        counts = np.bincount(self.codes[ids], minlength=self.n_codes)
        order = np.argsort(-counts, kind="stable")
        return {self.names[c]: int(counts[c]) for c in order if counts[c] > 0}
