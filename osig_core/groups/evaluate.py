"""Scoring detected pairs against planted ground truth (synthetic data's `features`)."""
from __future__ import annotations

import numpy as np

FOUND_PURITY = 0.8
MIN_HITS = 3  # a pair must hold at least this many carriers to count as finding a feature


def _members(entry: dict) -> np.ndarray:
    """Union of both sides; sides may be [{"members": ids}, ...] (pair dicts) or [[ids], [ids]] (history)."""
    ids = []
    for side in entry["sides"]:
        ids.extend(side["members"] if isinstance(side, dict) else side)
    return np.unique(np.asarray(ids, dtype=np.int64))


def evaluate_groups(pairs_history: list[dict], features: dict[str, np.ndarray], n: int) -> list[dict]:
    """For each planted feature, the best-matching detected pair (highest F1 of its members against
    the feature's carriers) with its purity (share of members carrying the feature) and recall (share
    of carriers that are members), and the first step at which some pair held it with purity ≥ 0.8
    (the best match's step if none did).

    Entries are pair records with "id", "sides" and a step: "step" (a per-step snapshot) or else
    "first_step". Returns [{"feature","purity","recall","f1","first_step","pair_id"}].
    """
    results = []
    scored = []
    for e in pairs_history:
        m = _members(e)
        m = m[(m >= 0) & (m < n)]
        scored.append((e, m, int(e.get("step", e.get("first_step", 0)))))
    for name, mask in features.items():
        carriers = np.asarray(mask, dtype=bool).reshape(-1)
        if carriers.shape[0] != n:
            raise ValueError(f"feature '{name}' has {carriers.shape[0]} entries for {n} samples")
        n_carriers = int(carriers.sum())
        best, first = None, None
        for e, m, step in scored:
            if len(m) == 0 or n_carriers == 0:
                continue
            hits = int(carriers[m].sum())
            if hits == 0:
                continue
            purity, recall = hits / len(m), hits / n_carriers
            f1 = 2 * purity * recall / (purity + recall)
            key = (f1, -step)
            if best is None or key > best[0]:
                best = (key, purity, recall, f1, step, e.get("id"))
            if purity >= FOUND_PURITY and hits >= MIN_HITS and (first is None or step < first):
                first = step
        if best is None:
            results.append({"feature": name, "purity": 0.0, "recall": 0.0, "f1": 0.0, "first_step": None, "pair_id": None})
            continue
        _, purity, recall, f1, step, pid = best
        results.append({"feature": name, "purity": round(purity, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                        "first_step": first if first is not None else step,
                        "pair_id": None if pid is None else int(pid)})
    return results


def snapshots(records: list[tuple[int, list[dict]]]) -> list[dict]:
    """Per-step pair snapshots [{"step", **pair}] from stored (step, pairs) records, e.g.
    `run.records("pairs")`: the best input for evaluate_groups (a pair's latest membership alone
    is often its weakest moment)."""
    return [{"step": int(step), **p} for step, pairs in records for p in pairs]
