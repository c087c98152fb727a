"""GroupDetector: per-step extremes, automatically detected paired groups with opposing signals,
their losses and a run-level opposing-signal score. Pure numpy; the engine calls `update` at each
recorded step. See docs/groups.md for the method and what is stored.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from osig_core.groups.extremes import clean_delta, extremes_record, top_k_extremes
from osig_core.groups.find import FindSettings, find_pairs
from osig_core.groups.tracking import PairTracker
from osig_core.groups.window import DeltaWindow
from osig_core.groups.pair_stats import ClassNamer, opposition, pair_period

STATE_VERSION = 1
KEEP_PER_SIDE = 16


@dataclass
class DetectionStep:
    extremes: dict  # {"up": [{"id","delta","label","pred_before","pred_after"}...], "down": [...]}
    pairs: list[dict]  # active pairs, strongest first (see docs/groups.md)
    group_losses: list[tuple[int, int, float]]  # (pair_id, side 0/1, mean loss now)
    opposing_score: float  # share of this step's total |Δloss| carried by the active pairs' members
    tracked_groups: dict[str, list[int]] = field(default_factory=dict)  # "pair3/a" -> ids

    def to_dict(self) -> dict:
        return asdict(self)


def vgrad_filter(a: np.ndarray, b: np.ndarray, vg: dict[int, float]) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Use the sign of each member's gradient along the top Hessian eigenvector (two sides of a
    valley have opposite signs): when the sides clearly disagree in sign, drop members on the wrong
    side. Returns (a, b, agreement share or None when too few members have a value)."""
    va = np.array([vg[i] for i in a.tolist() if i in vg])
    vb = np.array([vg[i] for i in b.tolist() if i in vg])
    if len(va) < 3 or len(vb) < 3:
        return a, b, None
    sign_a = 1.0 if np.median(va) >= 0 else -1.0
    agree = (np.sum(np.sign(va) == sign_a) + np.sum(np.sign(vb) == -sign_a)) / (len(va) + len(vb))
    if np.sign(np.median(vb)) == sign_a or agree < 0.75:
        return a, b, float(agree)
    a = np.array([i for i in a.tolist() if np.sign(vg.get(i, sign_a)) != -sign_a], dtype=np.int64)
    b = np.array([i for i in b.tolist() if np.sign(vg.get(i, -sign_a)) != sign_a], dtype=np.int64)
    return a, b, float(agree)


class GroupDetector:
    """Incremental detector. Memory O(window·N); work per step O(N) (Δ, top-k, running sums) plus
    O(window·B) for the B samples moving well above the median, plus O(m·window) per mode seed over
    m ≤ `settings.max_candidates` candidates. Never O(N²).

    `v_grad` (id -> gradient component along the top Hessian eigenvector, from the latest estimate)
    is kept until the next one arrives and used to drop members whose sign puts them on the other
    side of the valley (reported as "vgrad_agreement"). `seed` is stored only: detection is
    deterministic.

    Resume: `full_state()` / `load_full_state(d)` (what checkpoints hold) continue bit for bit. Runs
    whose checkpoints predate it refill the window from the stored loss rows with `warm_start(rows,
    steps, preds)` and restore pair ids with `load_pairs(stored pair dicts)` or `load_state_dict(d)`.
    """

    def __init__(self, n: int, labels: np.ndarray, classes: list[str], k: int = 24, window: int = 20,
                 seed: int = 0, settings: FindSettings | None = None, min_jaccard: float = 0.2):
        self.n = int(n)
        self.labels = np.asarray(labels).reshape(-1)
        if self.labels.shape[0] != self.n:
            raise ValueError(f"labels has {self.labels.shape[0]} entries for {self.n} samples")
        self.classes = list(classes)
        self.k = int(k)
        self.seed = int(seed)
        self.settings = settings or FindSettings()
        self.namer = ClassNamer(self.labels, self.classes)
        self.is_classes = self.namer.is_classes
        self.window = DeltaWindow(self.n, max(2, int(window)), keep_preds=self.is_classes)
        self.tracker = PairTracker(min_jaccard=min_jaccard, memory=max(2, int(window)))
        self.vgrad: dict[int, float] = {}
        self._in_pair = np.zeros(self.n, dtype=bool)  # members of the pairs reported at the last step
        self._keep: np.ndarray | None = None  # a few of them, candidates at the next step

    def _hits(self, delta: np.ndarray, up: np.ndarray, down: np.ndarray) -> np.ndarray:
        """Ids that count as extremes for candidacy: the top-k up/down, plus the top-k up/down among
        samples outside the pairs already reported, so a dominant pair cannot hide a weaker one."""
        if not self._in_pair.any():
            return np.concatenate([up, down])
        rest = np.where(self._in_pair, np.float32(0), delta)
        up2, down2 = top_k_extremes(rest, self.k)
        return np.concatenate([up, down, up2, down2])

    # ------------------------------------------------------------------ per step
    def update(self, step: int, losses_prev: np.ndarray, losses_now: np.ndarray,
               preds_prev: np.ndarray | None, preds_now: np.ndarray | None,
               v_grad: dict[int, float] | None = None) -> DetectionStep:
        delta = clean_delta(losses_prev, losses_now)
        up, down = top_k_extremes(delta, self.k)
        extremes = extremes_record(delta, up, down, self.labels, preds_prev, preds_now)
        self.window.push(step, delta, preds_now if self.is_classes else None, self._hits(delta, up, down))
        if v_grad:  # replaced, not merged: an eigenvector's sign is arbitrary from one estimate to the next
            self.vgrad = {int(i): float(v) for i, v in v_grad.items()}
        pairs = self._detect(step)
        losses_now = np.nan_to_num(np.asarray(losses_now, dtype=np.float64), nan=0.0, posinf=1e30)
        group_losses, tracked, member_ids = [], {}, []
        for p in pairs:
            for side, tag in ((0, "a"), (1, "b")):
                ids = np.asarray(p["sides"][side]["members"], dtype=np.int64)
                group_losses.append((p["id"], side, float(losses_now[ids].mean())))
                tracked[f"pair{p['id']}/{tag}"] = ids.tolist()
                member_ids.append(ids)
        total = float(np.abs(delta).astype(np.float64).sum())
        score = 0.0
        if member_ids and total > 0:
            ids = np.unique(np.concatenate(member_ids))
            score = float(np.abs(delta[ids]).astype(np.float64).sum() / total)
        return DetectionStep(extremes, pairs, group_losses, score, tracked)

    def _find(self) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[dict]]:
        """Pairs in the current window that pass the filters (no ids yet) and their numbers."""
        s = self.settings
        raw = find_pairs(self.window, self.namer.codes, self.namer.n_codes if self.is_classes else 0, s,
                         keep=self._keep)
        overall = self.window.mean_abs() if raw else 0.0
        kept, extra = [], []
        for a, b in raw:
            agree = None
            if self.vgrad:
                a, b, agree = vgrad_filter(a, b, self.vgrad)
                if len(a) < s.min_side or len(b) < s.min_side:
                    continue
            sa, sb = self.window.series(a), self.window.series(b)
            score, corr, ratio = opposition(sa, sb, overall)
            if score < s.min_score or corr > -s.min_anticorr:
                continue
            kept.append((a, b))
            extra.append({"score": round(score, 4), "corr": round(corr, 4), "amp_ratio": round(ratio, 3),
                          "period": pair_period(sa, sb), "vgrad_agreement": agree})
        return kept, extra

    def _mark_members(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Remember who is in a pair (left out of the extra extremes) and a few members of each side
        (candidates at the next step whatever the extremes say)."""
        self._in_pair[:] = False
        keep = []
        for a, b in pairs:
            self._in_pair[a] = True
            self._in_pair[b] = True
            keep += [a[:KEEP_PER_SIDE], b[:KEEP_PER_SIDE]]
        self._keep = np.unique(np.concatenate(keep)) if keep else None

    def _detect(self, step: int) -> list[dict]:
        kept, extra = self._find()
        self._mark_members(kept)
        out = []
        for (pid, a, b), info in zip(self.tracker.assign(step, kept), extra):
            rec = self.tracker.records[pid]
            d = {"id": pid, "score": info["score"], "period": info["period"],
                 "first_step": rec["first_step"], "last_step": rec["last_step"],
                 "corr": info["corr"], "amp_ratio": info["amp_ratio"],
                 "sides": [{"members": a.tolist(), "classes": self.namer.histogram(a)},
                           {"members": b.tolist(), "classes": self.namer.histogram(b)}]}
            if info["vgrad_agreement"] is not None:
                d["vgrad_agreement"] = round(info["vgrad_agreement"], 3)
            out.append(d)
        out.sort(key=lambda p: -p["score"])
        return out

    # ------------------------------------------------------------------ history and resume
    def history(self) -> list[dict]:
        """Every pair ever seen: {"id","first_step","last_step","sides":[[ids],[ids]]} (latest members)."""
        return [dict(r) for r in self.tracker.records.values()]

    def state_dict(self) -> dict:
        """Pair ids and history (JSON-able). The loss window is not included: refill it with warm_start."""
        return {"version": STATE_VERSION, "n": self.n, "k": self.k, "window": self.window.window,
                "tracker": self.tracker.state_dict(), "vgrad": [[i, v] for i, v in self.vgrad.items()]}

    def load_state_dict(self, d: dict) -> None:
        if d.get("version") != STATE_VERSION:
            raise ValueError(f"group detector state version {d.get('version')} is not supported (expected {STATE_VERSION})")
        if int(d["n"]) != self.n:
            raise ValueError(f"group detector state is for {d['n']} samples, not {self.n}")
        self.tracker.load_state_dict(d["tracker"])
        self.vgrad = {int(i): float(v) for i, v in d.get("vgrad", [])}

    def full_state(self) -> dict:
        """The whole detector for a checkpoint: {"tensors": {name: array}, "json": {...}}. Unlike
        `state_dict` + `warm_start` this includes the window (hit counts, running sums) and the
        members remembered from the last step, so a resumed run detects exactly what an
        uninterrupted one does."""
        arrays, window = self.window.state()
        tensors = {f"window.{k}": v for k, v in arrays.items()}
        tensors["in_pair"] = self._in_pair.astype(np.uint8)
        if self._keep is not None:
            tensors["keep"] = np.asarray(self._keep, dtype=np.int64)
        return {"tensors": tensors, "json": {**self.state_dict(), "window_state": window}}

    def load_full_state(self, d: dict) -> None:
        """Inverse of `full_state`; raises ValueError (or KeyError) when it does not fit this detector."""
        tensors, meta = d["tensors"], d["json"]
        if int(meta.get("window", -1)) != self.window.window or int(meta.get("k", -1)) != self.k:
            raise ValueError("group detector state was saved with another window or k")
        in_pair = np.asarray(tensors["in_pair"]).astype(bool)
        if in_pair.shape != (self.n,):
            raise ValueError(f"group detector state is for {in_pair.shape} samples, not {self.n}")
        self.load_state_dict(meta)
        self.window.load_state({k[7:]: v for k, v in tensors.items() if k.startswith("window.")}, meta["window_state"])
        self._in_pair = in_pair
        self._keep = np.asarray(tensors["keep"], dtype=np.int64) if "keep" in tensors else None

    def load_pairs(self, pairs: list[dict]) -> None:
        """Resume from what the store kept instead of a state dict: every pair seen so far (the pair
        dicts `update` returned, latest version of each id). New ids continue after the largest."""
        self.tracker.load_pairs(pairs)

    def warm_start(self, rows: np.ndarray, steps: list[int], preds: np.ndarray | None = None) -> None:
        """Refill the window from stored per-sample loss rows [W+1, N] (consecutive recorded steps,
        oldest first) and optional class predictions [W+1, N]. Pairs are looked for as the rows go in
        (so the next step sees what an uninterrupted run would) but get no ids and are not reported."""
        rows = np.asarray(rows)
        if rows.ndim != 2 or rows.shape[1] != self.n or len(steps) != rows.shape[0]:
            raise ValueError("warm_start needs loss rows [T, N] and one step number per row")
        for t in range(1, rows.shape[0]):
            delta = clean_delta(rows[t - 1], rows[t])
            up, down = top_k_extremes(delta, self.k)
            p = None if preds is None or not self.is_classes else preds[t]
            self.window.push(int(steps[t]), delta, p, self._hits(delta, up, down))
            self._mark_members(self._find()[0])
