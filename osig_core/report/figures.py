"""Matplotlib (Agg, no display) helpers for report figures: one place for style and saving."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from osig_core.report.model import Figure, Report

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def pyplot():
    """matplotlib.pyplot on the Agg backend (never opens a window, works over SSH)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3, "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def subplots(nrows: int = 1, ncols: int = 1, width: float = 7.0, height: float = 2.6, **kw):
    plt = pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height * nrows), squeeze=False, **kw)
    return fig, axes


def save(fig, report: Report, out: Path, name: str, caption: str) -> None:
    """Write `name`.png into the report folder and list it in the report."""
    plt = pyplot()
    out.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out / f"{name}.png", dpi=110)
    plt.close(fig)
    report.figures.append(Figure(f"{name}.png", caption))


def plot_sharpness(ax, steps: np.ndarray, sharp: np.ndarray, threshold: float, label: str = "sharpness") -> None:
    ax.plot(steps, sharp, ".-", ms=3, lw=1, label=label, color=PALETTE[0])
    if np.isfinite(threshold):
        ax.axhline(threshold, ls="--", color="k", lw=1, label="2/η")
    ax.set_ylabel("sharpness")
    ax.legend(loc="best", fontsize=8)
