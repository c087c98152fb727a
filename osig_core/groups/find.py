"""Finding paired groups in one window of loss changes (no memory across steps; tracking is separate).

Three stages, each bounded:
1. modes: among the candidates (samples that keep showing up in the extremes, a few hundred at
   most), seed from the strongest mover, gather the samples whose Δloss series correlate with it
   (one side) and against it (the other side), refine the profile, repeat. O(m·w) per seed.
2. expansion: every sample moving well above the median is correlated with each mode profile
   (O(w) each) and joins the side it matches, so a group holds all of its samples rather than
   only the top-k ones.
3. class split: at the edge of stability every oscillating sample moves in phase along the same
   top-Hessian direction, so one mode can hold several features' pairs at once (measured:
   sky and wheels pairs' Δloss correlated at +0.99). Their members differ in which classes the
   network hesitates between: predictions of a "sky" sample hop among plane/bird/ship, of a
   "wheels" sample between auto/truck. Classes linked by such hops form one pair.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


@dataclass
class FindSettings:
    min_steps: int = 6  # window rows needed before looking for pairs
    min_hits: int = 2  # extremes appearances in the window to become a candidate
    max_candidates: int = 384
    max_seeds: int = 48
    # |corr| with a mode profile to join a side, for candidates and in the expansion; both are raised
    # where chance could reach them (short windows, many tests): see chance_threshold
    corr_threshold: float = 0.7
    member_threshold: float = 0.6
    amp_factor: float = 1.5  # expansion: series std must exceed this × the dataset's median std
    amp_ref: str = "median"  # "median" or "mean" std of all samples as the reference movement
    side_floor: float = 0.5  # drop side members moving less than this × the side's median movement
    min_side: int = 4
    max_modes: int = 8
    mode_merge: float = 0.5  # a new mode profile correlated this much with a found one is not new
    max_members: int = 512  # per side, strongest kept
    class_link: float = 0.1  # share of window steps one class's members are predicted as the other
    min_score: float = 0.1  # reported pairs: opposition score at least this
    min_anticorr: float = 0.5  # reported pairs: sides' mean Δloss correlated at most -this


def chance_threshold(w: int, tests: int, alpha: float = 0.5) -> float:
    """Correlation that fewer than `alpha` of `tests` independent noise series of length w would reach
    by chance (Fisher z), so short windows and large candidate pools need stronger evidence."""
    if w <= 3:
        return 1.0
    z = NormalDist().inv_cdf(1.0 - min(0.5, alpha / max(tests, 1)))
    return math.tanh(z / math.sqrt(w - 3))


def standardize(x: np.ndarray) -> np.ndarray:
    """Rows centred and scaled to unit norm, so that Z @ Z.T is the correlation matrix (flat rows -> 0)."""
    xc = x - x.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(xc, axis=1, keepdims=True)
    return np.divide(xc, norm, out=np.zeros_like(xc), where=norm > 1e-12)


def find_modes(z: np.ndarray, strength: np.ndarray, s: FindSettings) -> list[np.ndarray]:
    """Unit-norm, zero-mean profiles [w] of groups moving against each other among standardized rows z."""
    m, w = z.shape
    tau = max(s.corr_threshold, chance_threshold(w, m * min(m, s.max_seeds)))
    free = np.ones(m, dtype=bool)
    modes: list[np.ndarray] = []
    tries = 0
    for seed in np.argsort(-strength, kind="stable"):
        if len(modes) >= s.max_modes or tries >= s.max_seeds:
            break
        if not free[seed]:
            continue
        tries += 1
        prof = z[seed]
        pos = neg = np.zeros(m, dtype=bool)
        for _ in range(3):
            c = z @ prof
            pos = free & (c >= tau)
            neg = free & (c <= -tau)
            if pos.sum() < s.min_side or neg.sum() < s.min_side:
                break
            new = z[pos].mean(axis=0) - z[neg].mean(axis=0)
            norm = np.linalg.norm(new)
            if norm < 1e-12:
                break
            prof = new / norm
        free[seed] = False
        if pos.sum() >= s.min_side and neg.sum() >= s.min_side:
            # a profile close to a known mode is the same oscillation seen through members that joined
            # or left mid-window: its samples will join that mode in the expansion
            if all(abs(float(prof @ q)) < s.mode_merge for q in modes):
                modes.append(prof)
            free[pos | neg] = False
    return modes


def expand_modes(window, modes: list[np.ndarray], s: FindSettings) -> list[tuple[np.ndarray, ...]]:
    """For each mode: (side+ ids, side- ids, their movements along the mode) over all N samples.

    Only samples moving `amp_factor` times more than the median sample are looked at (an O(N)
    test on running sums); their window series are gathered and correlated with the profiles.
    Each joins at most one mode: the one it correlates with most.
    """
    if not modes:
        return []
    sigma = window.spread()
    moving = sigma[sigma > 0]  # samples that never move (untracked in minibatch runs) are no reference
    if moving.size == 0:
        return []
    ref = float(np.median(moving)) if s.amp_ref == "median" else float(moving.mean())
    big = np.flatnonzero(sigma >= s.amp_factor * ref)
    if len(big) == 0:
        return []
    series = window.series(big)  # [w, B]
    w = series.shape[0]
    prof = np.stack(modes, axis=0)  # [M, w]
    prof = prof - prof.mean(axis=1, keepdims=True)
    prof /= np.maximum(np.linalg.norm(prof, axis=1, keepdims=True), 1e-12)
    proj = (prof @ series) / np.sqrt(w)  # [M, B]: corr × sigma
    corr = proj / np.maximum(sigma[big], 1e-30)[None, :]
    best = np.argmax(np.abs(corr), axis=0)
    best_corr = corr[best, np.arange(len(big))]
    tau = max(s.member_threshold, chance_threshold(w, len(big)))
    out = []
    for j in range(len(modes)):
        mine = best == j
        pos = mine & (best_corr >= tau)
        neg = mine & (best_corr <= -tau)
        power = np.abs(proj[j])
        out.append((big[pos], big[neg], power[pos], power[neg]))
    return out


def class_components(ids: np.ndarray, labels: np.ndarray, preds: np.ndarray, n_classes: int, link: float,
                     min_members: int) -> dict[int, int]:
    """Label -> component id. Two classes are linked when the members of one are predicted as the
    other in at least `link` of their window steps. Only classes with `min_members` members link
    to each other (a class of two members predicted anywhere would chain everything); smaller
    classes join the component they are linked to most, if any."""
    lab = labels[ids].astype(np.int64)
    w = preds.shape[1]
    counts = np.zeros((n_classes, n_classes), dtype=np.float64)
    valid = (preds >= 0) & (preds < n_classes)
    rows = np.repeat(lab[:, None], w, axis=1)[valid]
    np.add.at(counts, (rows, preds[valid]), 1.0)
    members = np.bincount(lab, minlength=n_classes).astype(np.float64)
    frac = counts / np.maximum(w * members[:, None], 1.0)  # frac[a, b]: a's member-steps predicted as b
    share = np.maximum(frac, frac.T)
    np.fill_diagonal(share, 0.0)
    present = np.flatnonzero(members > 0)
    big = [int(c) for c in present if members[c] >= min_members]
    parent = {int(c): int(c) for c in present}

    def root(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for i, a in enumerate(big):
        for b in big[i + 1:]:
            if share[a, b] >= link:
                parent[root(a)] = root(b)
    for c in present:
        if members[c] < min_members and big:
            best = max(big, key=lambda b: share[c, b])
            if share[c, best] >= link:
                parent[int(c)] = root(best)
    return {int(c): root(int(c)) for c in present}


def split_by_classes(pos: np.ndarray, neg: np.ndarray, labels: np.ndarray, preds: np.ndarray | None,
                     n_classes: int, s: FindSettings) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split one mode into pairs by linked classes; members of classes linked to nothing valid stay
    together as one residual pair. Without class predictions the mode is one pair."""
    if preds is None or n_classes < 2:
        return [(pos, neg)]
    ids = np.concatenate([pos, neg])
    comp_of = class_components(ids, labels, preds, n_classes, s.class_link, s.min_side)
    lut = np.full(n_classes, -1, dtype=np.int64)
    for c, r in comp_of.items():
        lut[c] = r
    comp_pos, comp_neg = lut[labels[pos].astype(np.int64)], lut[labels[neg].astype(np.int64)]
    pairs, leftover_pos, leftover_neg = [], [], []
    for comp in sorted(set(comp_of.values())):
        a = pos[comp_pos == comp]
        b = neg[comp_neg == comp]
        if len(a) >= s.min_side and len(b) >= s.min_side:
            pairs.append((a, b))
        else:
            leftover_pos.append(a)
            leftover_neg.append(b)
    if leftover_pos:
        a, b = np.concatenate(leftover_pos), np.concatenate(leftover_neg)
        if len(a) >= s.min_side and len(b) >= s.min_side:
            pairs.append((a, b))
    return pairs


def find_pairs(window, labels: np.ndarray, n_classes: int, s: FindSettings,
               keep: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Raw pairs (side+ ids, side- ids) in the current window, capped per side.

    `keep`: a few members of the pairs found at the previous step, always candidates, so a pair
    whose members stop being top-k extremes (a stronger pair took over the list) is still followed.
    """
    if len(window) < s.min_steps:
        return []
    cand = window.candidates(s.min_hits, s.max_candidates)
    if keep is not None and len(keep):
        cand = np.concatenate([keep[: s.max_candidates], cand[~np.isin(cand, keep)]])[: s.max_candidates]
    if len(cand) < 2 * s.min_side:
        return []
    series = window.series(cand).T  # [m, w]
    strength = np.abs(series).sum(axis=1)
    modes = find_modes(standardize(series), strength, s)
    pairs = []
    for pos, neg, p_pos, p_neg in expand_modes(window, modes, s):
        if len(pos) < s.min_side or len(neg) < s.min_side:
            continue
        top_pos = np.argsort(-p_pos, kind="stable")[: s.max_members]
        top_neg = np.argsort(-p_neg, kind="stable")[: s.max_members]
        pos, p_pos, neg, p_neg = pos[top_pos], p_pos[top_pos], neg[top_neg], p_neg[top_neg]
        power = dict(zip(np.concatenate([pos, neg]).tolist(), np.concatenate([p_pos, p_neg]).tolist()))
        preds = window.pred_rows(np.concatenate([pos, neg])) if window.preds is not None else None
        for a, b in split_by_classes(pos, neg, labels, preds, n_classes, s):
            if s.side_floor > 0:
                pa = np.array([power[i] for i in a.tolist()])
                pb = np.array([power[i] for i in b.tolist()])
                a = a[pa >= s.side_floor * np.median(pa)] if len(a) else a
                b = b[pb >= s.side_floor * np.median(pb)] if len(b) else b
            if len(a) >= s.min_side and len(b) >= s.min_side:
                pairs.append((np.sort(a), np.sort(b)))
    return pairs
