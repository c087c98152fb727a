"""The sliding window the group detector looks at: the last W per-sample loss changes, predictions
and which samples were extremes.

Memory is O(W·N); each push is O(N) (plus an exact O(W·N) refresh of the running sums every W
pushes) and keeps the extreme-hit counts incremental (O(k) per step).
"""
from __future__ import annotations

from collections import deque

import numpy as np


class DeltaWindow:
    """Ring buffer of the last `window` rows of Δloss [N] (plus class predictions when given)."""

    def __init__(self, n: int, window: int, keep_preds: bool):
        self.n = int(n)
        self.window = int(window)
        self.delta = np.zeros((self.window, self.n), dtype=np.float32)
        self.preds = np.full((self.window, self.n), -1, dtype=np.int32) if keep_preds else None
        self.steps: deque[int] = deque(maxlen=self.window)
        self.hits: deque[np.ndarray] = deque(maxlen=self.window)
        self.hit_count = np.zeros(self.n, dtype=np.int32)
        self._next = 0  # ring position of the next row to write
        # running per-sample sums over the window, so spread needs O(N) per step, not O(W·N)
        self._sum = np.zeros(self.n, dtype=np.float64)
        self._sumsq = np.zeros(self.n, dtype=np.float64)
        self._abs_mean = np.zeros(self.window, dtype=np.float64)  # mean |Δ| of each ring row
        self._pushes = 0

    def __len__(self) -> int:
        return len(self.steps)

    def push(self, step: int, delta: np.ndarray, preds: np.ndarray | None, hit_ids: np.ndarray) -> None:
        """Add one step: its Δloss row, its predictions (class ids) and the ids that were extremes."""
        if len(self.hits) == self.window:
            np.subtract.at(self.hit_count, self.hits[0], 1)
        hit_ids = np.unique(np.asarray(hit_ids, dtype=np.int64))
        self.hits.append(hit_ids)
        np.add.at(self.hit_count, hit_ids, 1)
        delta = np.asarray(delta, dtype=np.float32)
        if len(self.steps) == self.window:  # the row about to be overwritten leaves the sums
            old = self.delta[self._next].astype(np.float64)
            self._sum -= old
            self._sumsq -= old * old
        self.delta[self._next] = delta
        self._abs_mean[self._next] = float(np.abs(delta).mean(dtype=np.float64)) if self.n else 0.0
        new = delta.astype(np.float64)
        self._sum += new
        self._sumsq += new * new
        if self.preds is not None:
            self.preds[self._next] = -1 if preds is None else np.asarray(preds, dtype=np.int64)
        self.steps.append(int(step))
        self._next = (self._next + 1) % self.window
        self._pushes += 1
        if self._pushes % self.window == 0:  # recompute exactly now and then: no drift, no lost precision
            live = self.delta[self.order()].astype(np.float64)
            self._sum = live.sum(axis=0)
            self._sumsq = (live * live).sum(axis=0)

    def spread(self) -> np.ndarray:
        """Per-sample standard deviation of Δloss over the window: [N] (O(N) from running sums)."""
        w = max(len(self.steps), 1)
        mean = self._sum / w
        return np.sqrt(np.maximum(self._sumsq / w - mean * mean, 0.0))

    def mean_abs(self) -> float:
        """Mean |Δloss| over all samples and window steps."""
        w = len(self.steps)
        return float(self._abs_mean[self.order()].mean()) if w else 0.0

    def series(self, ids: np.ndarray) -> np.ndarray:
        """Δloss of `ids` over the window, chronological: [w, len(ids)] (gathers only those columns)."""
        return self.delta[np.ix_(self.order(), np.asarray(ids, dtype=np.int64))]

    def order(self) -> np.ndarray:
        """Ring rows in chronological order (oldest first)."""
        w = len(self.steps)
        return (self._next - w + np.arange(w)) % self.window

    def pred_rows(self, ids: np.ndarray) -> np.ndarray | None:
        """Predicted classes of `ids` over the window: [len(ids), w] (-1 where unknown)."""
        if self.preds is None:
            return None
        return self.preds[np.ix_(self.order(), ids)].T

    def candidates(self, min_hits: int, limit: int) -> np.ndarray:
        """Samples that were extremes at least `min_hits` times in the window, most frequent first.

        Looks only at the ids that were extremes (at most 2k per step), never at all N.
        """
        if not self.hits:
            return np.zeros(0, dtype=np.int64)
        seen = np.unique(np.concatenate(list(self.hits)))
        counts = self.hit_count[seen]
        keep = seen[counts >= min_hits]
        counts = counts[counts >= min_hits]
        order = np.argsort(-counts, kind="stable")[:limit]
        return keep[order]

    # ------------------------------------------------------------------ checkpoint
    def state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Everything a resumed window needs to continue bit for bit, running sums included (they
        are recomputed exactly only every `window` pushes, so refilling them would round differently)."""
        hits = list(self.hits)
        arrays = {"delta": self.delta, "hit_count": self.hit_count, "sum": self._sum, "sumsq": self._sumsq,
                  "abs_mean": self._abs_mean,
                  "hits": np.concatenate(hits) if hits else np.zeros(0, np.int64),
                  "hit_lengths": np.array([len(h) for h in hits], dtype=np.int64)}
        if self.preds is not None:
            arrays["preds"] = self.preds
        return arrays, {"steps": list(self.steps), "next": self._next, "pushes": self._pushes}

    def load_state(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        """Inverse of `state`; a state of another shape raises ValueError (the checkpoint does not fit)."""
        def take(name: str, like: np.ndarray) -> np.ndarray:
            a = np.asarray(arrays[name])
            if a.shape != like.shape:
                raise ValueError(f"group window '{name}' has shape {a.shape}, expected {like.shape}")
            return a.astype(like.dtype, copy=True)

        delta, hit_count = take("delta", self.delta), take("hit_count", self.hit_count)
        sums, sumsq, abs_mean = take("sum", self._sum), take("sumsq", self._sumsq), take("abs_mean", self._abs_mean)
        preds = take("preds", self.preds) if self.preds is not None else None
        lengths = np.asarray(arrays["hit_lengths"], dtype=np.int64)
        flat = np.asarray(arrays["hits"], dtype=np.int64)
        steps = [int(s) for s in meta["steps"]]
        if len(lengths) != len(steps) or len(steps) > self.window or int(lengths.sum()) != len(flat) \
                or (len(flat) and not 0 <= int(flat.min()) <= int(flat.max()) < self.n):
            raise ValueError("group window state is inconsistent")
        self.delta, self.hit_count, self._sum, self._sumsq, self._abs_mean = delta, hit_count, sums, sumsq, abs_mean
        if preds is not None:
            self.preds = preds
        self.hits = deque(np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else [], maxlen=self.window)
        self.steps = deque(steps, maxlen=self.window)
        self._next = int(meta["next"]) % self.window
        self._pushes = int(meta["pushes"])
