"""fig36-half-up: at the edge of stability about half of the training samples go up in loss each step."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from osig_core.report.figures import PALETTE, save, subplots
from osig_core.report.model import Report
from osig_core.report.runs import RunSet
from osig_core.report.stats import first_crossing, series, threshold_of

CENTRE, BAND = 0.5, 0.1


def onset_of(run, metrics: dict) -> int | None:
    steps, sharp = series(run, "sharpness", metrics)
    return first_crossing(steps, sharp, threshold_of(run, metrics)) if sharp.size else None


def half_check(report: Report, label: str, metrics: dict, start: int, why: str) -> None:
    steps, frac = metrics["step"], metrics.get("frac_up")
    if frac is None:
        report.unavailable(f"{label}: fraction of rising losses near one half", "no per-sample losses recorded")
        return
    f = frac[(steps >= start) & np.isfinite(frac)]
    if f.size < 5:
        report.unavailable(f"{label}: fraction of rising losses near one half", f"too few recorded steps after step {start}")
        return
    mean = float(f.mean())
    report.check(f"{label}: fraction of samples whose loss rises per step within {CENTRE} ± {BAND} ({why})",
                 f"mean {mean:.3f} (10–90%: {np.quantile(f, 0.1):.2f}–{np.quantile(f, 0.9):.2f}) over "
                 f"{f.size} steps from step {start}", abs(mean - CENTRE) <= BAND, value=mean, events=f.size, unit="steps")


def build(rs: RunSet, out: Path, report: Report) -> None:
    gd, sgd = rs.get("gd"), rs.get("sgd")
    if gd is None and sgd is None:
        gd = rs.first
    onset = None
    curves = []
    if gd is not None:
        m = gd.metrics()
        onset = onset_of(gd, m)
        if onset is None:
            report.unavailable("GD: fraction of rising losses near one half after the onset",
                               "the sharpness never reached 2/η (or was not recorded)")
        else:
            half_check(report, "GD", m, onset, f"after reaching 2/η at step {onset}")
        curves.append(("GD", m))
    if sgd is not None:
        m = sgd.metrics()
        if onset is not None:
            start, why = onset, f"from the GD run's onset, step {onset}"
        else:
            start = int(m["step"][-1]) // 2 if m["step"].size else 0
            why = "second half of training"
        half_check(report, "SGD", m, start, why)
        curves.append(("SGD", m))
    fig, ax = subplots(1, 1, height=3)
    for i, (label, m) in enumerate(curves):
        ok = np.isfinite(m["frac_up"]) if "frac_up" in m else np.zeros(0, bool)
        if ok.any():
            ax[0, 0].plot(m["step"][ok], m["frac_up"][ok], lw=0.8, color=PALETTE[i], label=label)
    if onset is not None:
        ax[0, 0].axvline(onset, color="k", ls=":", lw=1, label="GD reaches 2/η")
    ax[0, 0].axhline(0.5, color="0.5", lw=0.8)
    ax[0, 0].set_ylim(0, 1)
    ax[0, 0].set_xlabel("step")
    ax[0, 0].set_ylabel("fraction of samples whose loss rose")
    ax[0, 0].legend(fontsize=8)
    save(fig, report, out, "fig36", "Fraction of training samples whose loss increased at each step.")
