"""fig5-probes: a probe's logits and feature norm under GD, against (near) gradient flow.

The probe is the first of the run's probes: the planted sky drawn alone (`feature:sky`) at the CPU
sizes, the paper's colour block on CIFAR-10.

GD: the feature norm grows fast, the class probabilities oscillate at the edge of stability, and
the norm then slowly decays. Gradient flow (a small learning rate that never reaches 2/eta, compared
at the same time eta * step) is similar until then, and its norm keeps growing (Appendix C.3).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from osig_core.report.figures import PALETTE, save, subplots
from osig_core.report.model import Report, fmt
from osig_core.report.runs import RunSet
from osig_core.report.stats import flip_events, series, sign_flip_rate, threshold_of

EARLY_GROWTH = 1.3  # GD: the norm grows by 30% within the first tenth of training
FLIP_RATE = 0.6  # GD: share of reversals of the probe's probability changes after the onset
AGREE = 0.10  # GD and gradient flow agree within 10% until GD reaches 2/eta
SMOOTH = 4  # steps averaged to see through the period-2 oscillation
GROWTH_KEEP = 0.97  # gradient flow: the norm ends within 3% of its maximum (still growing)
DECAY = 0.90  # GD: at the end of the edge of stability the norm is at most 90% of its peak during it


@dataclass
class ProbeSeries:
    name: str
    steps: np.ndarray
    logits: np.ndarray  # [T, C]
    probs: np.ndarray  # [T, C]
    norm: np.ndarray  # [T]


def probe_series(run, name: str | None = None) -> ProbeSeries | None:
    recs = run.records("probes")
    if not recs:
        return None
    name = name or next(iter(recs[0][1]))
    recs = [(s, r[name]) for s, r in recs if name in r]
    return ProbeSeries(name, np.array([s for s, _ in recs]), np.array([r["logits"] for _, r in recs]),
                       np.array([r["probs"] for _, r in recs]), np.array([r["feature_norm"] for _, r in recs]))


def eos_window(run) -> tuple[int, int] | None:
    """(first, last) step with the sharpness estimate at or above 2/eta; None if never."""
    metrics = run.metrics()
    steps, sharp = series(run, "sharpness", metrics)
    above = steps[sharp >= threshold_of(run, metrics)] if sharp.size else steps[:0]
    return (int(above[0]), int(above[-1])) if above.size else None


def gd_checks(report: Report, run, ps: ProbeSeries, window: tuple[int, int] | None) -> None:
    early = ps.steps <= max(ps.steps[-1] // 10, ps.steps[min(1, ps.steps.size - 1)])
    growth = ps.norm[early].max() / ps.norm[0]
    report.check(f"GD: the '{ps.name}' probe's feature norm grows fast at first (×{EARLY_GROWTH:g} within the first "
                 "tenth of training)", f"{fmt(ps.norm[0])} → {fmt(ps.norm[early].max())} by step {int(ps.steps[early][-1])} "
                 f"(×{growth:.2f})", growth >= EARLY_GROWTH, value=growth, events=int(early.sum()), unit="probe records")
    if window is None:
        report.unavailable("GD: the probe's class probabilities oscillate at the edge of stability",
                           "the sharpness never reached 2/η (or was not recorded)")
        return
    keep = (ps.steps >= window[0]) & (ps.steps <= window[1])
    gaps = np.diff(ps.steps[keep])
    if keep.sum() < 6 or (gaps.size and gaps.max() > 1):
        report.unavailable("GD: the probe's class probabilities oscillate at the edge of stability",
                           "needs the probe at every step (--probe-every 1)")
        return
    p = ps.probs[keep]
    cls = int(np.argmax(np.var(np.diff(p, axis=0), axis=0)))
    rate = sign_flip_rate(p[:, cls])
    n = flip_events(p[:, cls])
    label = run.classes[cls] if cls < len(run.classes) else str(cls)
    report.check(f"GD: at the edge of stability the probe's class probabilities oscillate (≥ {FLIP_RATE:.0%} of "
                 "step-to-step changes reverse direction)",
                 f"p({label}) reverses on {rate:.0%} of {n} steps (steps {window[0]}–{window[1]})",
                 rate >= FLIP_RATE, value=rate, events=n, unit="steps")
    smooth = smoothed(ps)
    inside = (ps.steps >= window[0]) & (ps.steps <= window[1])
    peak_i = int(np.argmax(np.where(inside, smooth, -np.inf)))
    peak, at_end = float(smooth[peak_i]), float(np.interp(window[1], ps.steps, smooth))
    report.check(f"GD: at the edge of stability the '{ps.name}' probe's feature norm decays (at the end of the phase "
                 f"≤ {DECAY:.0%} of its peak during it, averaged over the oscillation)",
                 f"peak {fmt(peak)} at step {int(ps.steps[peak_i])} → {fmt(at_end)} at step {window[1]} "
                 f"(×{at_end / peak:.2f})", at_end <= DECAY * peak, value=at_end / peak, events=int(inside.sum()),
                 unit="probe records")


def smoothed(ps: ProbeSeries) -> np.ndarray:
    """The feature norm averaged over SMOOTH consecutive records (removes the period-2 oscillation)."""
    k = min(SMOOTH, ps.norm.size)
    padded = np.concatenate([np.full(k - 1, ps.norm[0]), ps.norm])
    return np.convolve(padded, np.ones(k) / k, mode="valid")


def gf_checks(report: Report, run, ps: ProbeSeries, gd: ProbeSeries | None, gd_run,
              window: tuple[int, int] | None) -> None:
    metrics = run.metrics()
    _, sharp = series(run, "sharpness", metrics)
    thr = threshold_of(run, metrics)
    if sharp.size:
        report.check("gradient flow: the small-step run stays below its 2/η (no edge of stability)",
                     f"max sharpness {fmt(sharp.max())} vs 2/η = {fmt(thr)} over {sharp.size} estimates",
                     sharp.max() < thr, value=sharp.max() / thr, events=sharp.size, unit="estimates")
    keep = ps.norm[-1] / ps.norm.max()
    report.check(f"gradient flow: the '{ps.name}' probe's feature norm keeps growing (ends ≥ {GROWTH_KEEP:.0%} of its max)",
                 f"{fmt(ps.norm[0])} → {fmt(ps.norm[-1])} (max {fmt(ps.norm.max())})", keep >= GROWTH_KEEP,
                 value=keep, events=ps.norm.size, unit="probe records")
    if gd is None or window is None:
        return
    if window[0] <= int(gd.steps[0]):
        report.unavailable("GD and gradient flow are similar until GD reaches 2/η",
                           f"GD is at 2/η from its first estimate (step {window[0]}): there is no phase before "
                           "the edge of stability to compare (a smaller --head-scale starts it lower)")
        return
    eta_gd, eta_gf = gd_run.config.lr, run.config.lr
    at = window[0] * eta_gd
    if at > ps.steps[-1] * eta_gf:
        return
    ratio = float(np.interp(window[0], gd.steps, smoothed(gd)) / np.interp(at, ps.steps * eta_gf, ps.norm))
    # one comparison at one time, GD's onset (the norms' trend there, GD's averaged over SMOOTH records): a
    # single well-defined measurement, not a rate over events, so min_events=1
    report.check(f"GD and gradient flow are similar until GD reaches 2/η (feature norms within {AGREE:.0%} at the "
                 "same η·t)", f"GD / GF = {ratio:.3f} at step {window[0]} (η·t = {fmt(at)})", abs(ratio - 1) <= AGREE,
                 value=ratio, events=1, unit="comparison", min_events=1)


def build(rs: RunSet, out: Path, report: Report) -> None:
    gd_run, gf_run = rs.get("gd"), rs.get("gf")
    if gd_run is None and gf_run is None:  # a run with probes outside the preset layout
        gd_run = rs.first
    gd = probe_series(gd_run) if gd_run is not None else None
    gf = probe_series(gf_run, gd.name if gd else None) if gf_run is not None else None
    window = eos_window(gd_run) if gd_run is not None else None
    if gd_run is not None:
        if gd is None:
            report.unavailable("GD: probe feature norm grows fast at first", "no probe records (run with --probe sky)")
        else:
            gd_checks(report, gd_run, gd, window)
    if gf_run is not None and gf is not None:
        gf_checks(report, gf_run, gf, gd, gd_run, window)
    elif gf_run is None:
        report.unavailable("gradient flow: the feature norm keeps growing",
                           "the 'gf' member run is missing (report the folder that holds all of the preset's runs)")
    plot(report, rs, gd_run, gd, gf_run, gf, out)


def plot(report: Report, rs: RunSet, gd_run, gd, gf_run, gf, out: Path) -> None:
    if gd is None and gf is None:
        return
    fig, ax = subplots(1, 3, width=12, height=3.2)
    main, main_run = (gd, gd_run) if gd is not None else (gf, gf_run)
    classes = main_run.classes
    for c in range(main.logits.shape[1]):
        ax[0, 0].plot(main.steps, main.logits[:, c], lw=0.8, label=classes[c] if c < len(classes) else str(c))
    ax[0, 0].set_title(f"'{main.name}' probe: class logits")
    ax[0, 0].set_xlabel("step")
    ax[0, 0].legend(fontsize=6, ncol=2)
    for c in range(main.probs.shape[1]):
        ax[0, 1].plot(main.steps, main.probs[:, c], lw=0.8)
    ax[0, 1].set_title("class probabilities")
    ax[0, 1].set_xlabel("step")
    for label, run, s, color in (("GD", gd_run, gd, PALETTE[0]), ("gradient flow", gf_run, gf, PALETTE[1])):
        if s is None:
            continue
        t = s.steps * run.config.lr
        ax[0, 2].plot(t, s.norm, color=color, lw=1.2, label=f"{label}: '{s.name}'")
        fsteps, fmean = series(run, "feature_norm_mean")
        if fmean.size:
            ax[0, 2].plot(fsteps * run.config.lr, fmean, color=color, lw=0.8, ls=":", label=f"{label}: mean over data")
    ax[0, 2].set_title("feature norm")
    ax[0, 2].set_xlabel("time η·t")
    ax[0, 2].legend(fontsize=7)
    save(fig, report, out, "fig5", "A colour-block probe under GD: its logits and class probabilities, and its "
         "feature norm against (near) gradient flow on the time axis η·t (dotted: mean over the training data).")
