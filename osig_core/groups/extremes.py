"""Per-step extremes: the samples whose loss rose or fell the most in one step (paper, Section 2 / App. H).

Selection is O(N) with `argpartition`; only the k chosen ids are sorted.
"""
from __future__ import annotations

import numpy as np


def clean_delta(losses_prev: np.ndarray, losses_now: np.ndarray) -> np.ndarray:
    """Per-sample loss change as float32, with NaN -> 0 and +-inf clipped (a diverging run must not crash us)."""
    delta = np.asarray(losses_now, dtype=np.float32) - np.asarray(losses_prev, dtype=np.float32)
    big = np.float32(1e30)
    return np.nan_to_num(delta, nan=0.0, posinf=big, neginf=-big)


def top_k_extremes(delta: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the k largest increases (descending) and k largest decreases (most negative first).

    Only strictly positive changes count as increases and strictly negative as decreases, so a
    list may hold fewer than k ids.
    """
    n = delta.shape[0]
    k = max(0, min(int(k), n))
    if k == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    if k < n:
        up = np.argpartition(-delta, k - 1)[:k]
        down = np.argpartition(delta, k - 1)[:k]
    else:
        up = np.arange(n)
        down = np.arange(n)
    up = up[np.argsort(-delta[up], kind="stable")]
    down = down[np.argsort(delta[down], kind="stable")]
    return up[delta[up] > 0].astype(np.int64), down[delta[down] < 0].astype(np.int64)


def _scalar(v) -> int | float | None:
    """A JSON-able number: ints stay ints, floats become Python floats."""
    if v is None:
        return None
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return int(v)
    return float(v)


def extremes_record(delta: np.ndarray, up: np.ndarray, down: np.ndarray, labels: np.ndarray,
                    preds_prev: np.ndarray | None, preds_now: np.ndarray | None) -> dict:
    """{"up": [...], "down": [...]}, each item {"id","delta","label","pred_before","pred_after"}.

    Labels and predictions are class ids (ints) for classification, floats for regression;
    a missing prediction array gives None.
    """
    def item(i: int) -> dict:
        return {
            "id": int(i),
            "delta": float(delta[i]),
            "label": _scalar(labels[i]),
            "pred_before": None if preds_prev is None else _scalar(preds_prev[i]),
            "pred_after": None if preds_now is None else _scalar(preds_now[i]),
        }
    return {"up": [item(i) for i in up], "down": [item(i) for i in down]}
