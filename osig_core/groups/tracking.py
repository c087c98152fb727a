"""Stable pair ids over time: a pair found now keeps the id of the recent pair it overlaps most.

Membership drifts while a pair lives (samples join and leave the oscillation), so identity is the
Jaccard overlap of the members with the pairs seen in the last `memory` steps (or containment of the
smaller in the larger); a new id is minted only when nothing overlaps enough. Sides keep their orientation: side 0 stays side 0.
"""
from __future__ import annotations

import numpy as np


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


class PairTracker:
    def __init__(self, min_jaccard: float = 0.2, memory: int = 20, min_contained: float = 0.6):
        self.min_jaccard = float(min_jaccard)
        self.min_contained = float(min_contained)
        self.memory = int(memory)
        self.next_id = 0
        self.records: dict[int, dict] = {}  # id -> {"id","first_step","last_step","sides":[[ids],[ids]]}

    def assign(self, step: int, raw: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Give every raw pair (side ids, side ids) an id; returns (id, side 0, side 1) oriented like its past."""
        recent = [r for r in self.records.values() if step - r["last_step"] <= self.memory]
        old_sets = [(set(r["sides"][0]), set(r["sides"][1])) for r in recent]
        new_sets = [(set(a.tolist()), set(b.tolist())) for a, b in raw]
        scores = []
        for i, (a, b) in enumerate(new_sets):
            for j, (oa, ob) in enumerate(old_sets):
                new_u, old_u = a | b, oa | ob
                jac = jaccard(new_u, old_u)
                # a group that grows or shrinks a lot in one step (typical as a window fills) is still
                # the same group when most of the smaller membership lies inside the larger one
                contained = len(new_u & old_u) / max(1, min(len(new_u), len(old_u)))
                if jac >= self.min_jaccard or contained >= self.min_contained:
                    scores.append((jac, i, j))
        scores.sort(key=lambda t: (-t[0], t[1], t[2]))
        match: dict[int, int] = {}
        used: set[int] = set()
        for _, i, j in scores:
            if i not in match and j not in used:
                match[i] = j
                used.add(j)
        out = []
        for i, (a, b) in enumerate(raw):
            if i in match:
                rec = recent[match[i]]
                oa, ob = old_sets[match[i]]
                sa, sb = new_sets[i]
                if len(sa & ob) + len(sb & oa) > len(sa & oa) + len(sb & ob):
                    a, b = b, a
                pid = rec["id"]
            else:
                pid = self.next_id
                self.next_id += 1
                self.records[pid] = {"id": pid, "first_step": int(step)}
            rec = self.records[pid]
            rec["last_step"] = int(step)
            rec["sides"] = [a.tolist(), b.tolist()]
            out.append((pid, a, b))
        return out

    def state_dict(self) -> dict:
        return {"next_id": self.next_id, "min_jaccard": self.min_jaccard, "memory": self.memory,
                "records": [dict(r) for r in self.records.values()]}

    def load_state_dict(self, d: dict) -> None:
        self.next_id = int(d["next_id"])
        self.min_jaccard = float(d.get("min_jaccard", self.min_jaccard))
        self.memory = int(d.get("memory", self.memory))
        self.records = {int(r["id"]): {"id": int(r["id"]), "first_step": int(r["first_step"]),
                                       "last_step": int(r["last_step"]),
                                       "sides": [[int(i) for i in s] for s in r["sides"]]}
                        for r in d["records"]}

    def load_pairs(self, pairs: list[dict]) -> None:
        """Rebuild the records from stored pair dicts ({"id","first_step","last_step","sides":[{"members"}..]}),
        so that after a resume ids continue and known pairs keep theirs."""
        for p in pairs:
            sides = [list(s["members"]) if isinstance(s, dict) else list(s) for s in p["sides"]]
            pid = int(p["id"])
            self.records[pid] = {"id": pid, "first_step": int(p["first_step"]), "last_step": int(p["last_step"]),
                                 "sides": [[int(i) for i in s] for s in sides]}
            self.next_id = max(self.next_id, pid + 1)
