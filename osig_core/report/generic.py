"""A run without a preset: its curves (loss, accuracy, sharpness, top pairs), no claim checks."""
from __future__ import annotations

from pathlib import Path

from osig_core.report.eos import plot_loss_and_sharpness
from osig_core.report.model import Report
from osig_core.report.pairs import top_pairs
from osig_core.report.runs import RunSet


def build(rs: RunSet, out: Path, report: Report) -> None:
    for name, run in rs.runs.items():
        metrics = run.metrics()
        plot_loss_and_sharpness(report, run, metrics, top_pairs(run, None, k=3), out,
                                name="curves" if len(rs.runs) == 1 else f"curves-{name}")
