"""Reports: the paper's claims checked on stored runs, with figures (`osig report`, `osig reproduce`).

`build_report(path, out)` opens a run directory (or a folder of a multi-run preset's runs), runs the
checks of its preset's family, draws the figures into `out` (default `<path>/report/`) and writes
`report.md` + `report.json` there. Never imports textual, rich or typer.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from osig_core.report.model import Check, Figure, Report
from osig_core.report.runs import RunSet, load_runs

# preset name -> module (in osig_core.report) whose build(runset, out, report) fills the report
FAMILIES: dict[str, str] = {
    "fig1-gd": "eos",
    "fig3-chebyshev": "chebyshev",
    "fig5-probes": "probes",
    "fig36-half-up": "half_up",
    "fig6-sgd": "sgd_groups",
    "fig6b-optimizers": "optimizers",
    "fig38-linear": "linear_model",
    "appF-splitsgd": "splitsgd",
    "appB-text": "text_pairs",
    "appD-layers": "layers",
    # real images (osig_core/presets/real.py)
    "fm-fig1-gd": "real_eos",
    "fm-pairs": "real_pairs",
    "fm-fig36-half-up": "half_up",
    "fm-fig6-sgd": "sgd_groups",
    "fm-fig6b-optimizers": "optimizers",
    "fm-appD-layers": "layers",
    "cifar-fig1-resnet18": "real_gd",
    "cifar-fig1-vgg11": "real_gd",
    "cifar-fig6-sgd": "sgd_groups",
}
GENERIC = "generic"

__all__ = ["Check", "Figure", "Report", "RunSet", "build_report", "load_runs", "FAMILIES"]


def build_report(path: str | Path, out: str | Path | None = None) -> Report:
    """Check and plot the run(s) at `path`; write report.md, report.json and PNGs into `out`."""
    rs = load_runs(path)
    out_dir = Path(out) if out is not None else Path(path) / "report"
    family = FAMILIES.get(rs.preset.name, GENERIC) if rs.preset is not None else GENERIC
    module = importlib.import_module(f"osig_core.report.{family}")
    if rs.preset is not None:
        title = f"{rs.preset.name} — {rs.preset.figure}"
        claim = rs.preset.claim
    else:
        title = f"run {rs.first.run_id}"
        claim = "No preset: the run's curves, without claim checks."
    report = Report(title=title, preset=rs.preset.name if rs.preset else None, claim=claim,
                    runs={name: str(run.dir) for name, run in rs.runs.items()})
    if rs.preset is not None and rs.scale not in ("default", "full"):
        report.notes.append(f"runs at the '{rs.scale}' scale")
    try:
        module.build(rs, out_dir, report)
    finally:
        for run in rs.runs.values():
            run.close()
    report.write(out_dir)
    return report
