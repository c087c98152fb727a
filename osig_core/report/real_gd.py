"""CIFAR-10 at the paper's size under GD: the Figure 1 checks (real_eos) and the opposing-pair checks
(real_pairs) on one run."""
from __future__ import annotations

from pathlib import Path

from osig_core.report import real_eos, real_pairs
from osig_core.report.model import Report
from osig_core.report.runs import RunSet


def build(rs: RunSet, out: Path, report: Report) -> None:
    real_eos.build(rs, out, report)
    run = rs.first
    top = real_pairs.pair_checks(report, run, real_pairs.onset_of(run, run.metrics()))
    if top is not None:
        real_pairs.plot_pair(report, run, top, real_pairs.describe_pair(report, run, top), out)
