"""`osig reproduce --robust`: every preset at 1 and 2 CPU threads and two seeds, and one table of which
claims hold in all four runs, with the spread of each observed figure.

Why: an edge-of-stability trajectory depends on floating-point order (1 and 2 threads already differ
by step 30 of the headline run) and on the seed; a claim osig checks should hold on any machine, so it
is shown as holding only where it holds in every variant. Each variant is a plain `osig reproduce`
under ROOT/<variant>/ (resumable like it); the table goes to ROOT/robust.md and ROOT/robust.json.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from osig_core.report.model import _md
from osig_core.report.reproduce import Event, Outcome, plan, report_all, run_in_process, run_jobs

THREADS = (1, 2)
SEED_OFFSETS = (0, 1)


@dataclass(frozen=True)
class Variant:
    threads: int
    seed_offset: int

    @property
    def name(self) -> str:
        return f"threads{self.threads}-seed+{self.seed_offset}"

    @property
    def label(self) -> str:
        return f"{self.threads} thread{'s' if self.threads > 1 else ''}, seed +{self.seed_offset}"


VARIANTS = tuple(Variant(t, s) for s in SEED_OFFSETS for t in THREADS)


@dataclass
class ClaimRow:
    """One claim across the variants: its verdict and observed figure in each."""
    preset: str
    claim: str
    verdicts: dict[str, str] = field(default_factory=dict)  # variant name -> verdict
    values: dict[str, float | None] = field(default_factory=dict)  # variant name -> the check's figure
    decided: dict[str, str] = field(default_factory=dict)  # variant name -> "12 moves"

    @property
    def holds_everywhere(self) -> bool:
        return len(self.verdicts) == len(VARIANTS) and all(v == "pass" for v in self.verdicts.values())

    @property
    def outcome(self) -> str:
        if self.holds_everywhere:
            return f"holds in all {len(VARIANTS)}"
        passed = sum(v == "pass" for v in self.verdicts.values())
        return f"holds in {passed} of {len(VARIANTS)}"

    @property
    def spread(self) -> str:
        vals = [v for v in self.values.values() if v is not None and math.isfinite(v)]
        if not vals:
            return ""
        lo, hi = min(vals), max(vals)
        return f"{lo:.3g}" if lo == hi else f"{lo:.3g} … {hi:.3g}"


@dataclass
class RobustOutcome:
    variants: dict[str, Outcome] = field(default_factory=dict)  # variant name -> its reproduce outcome
    rows: list[ClaimRow] = field(default_factory=list)

    @property
    def all_hold(self) -> bool:
        return bool(self.rows) and all(r.holds_everywhere for r in self.rows)


def claim_rows(outcomes: dict[str, Outcome]) -> list[ClaimRow]:
    """Claims matched across variants by (preset, claim text), in the order they first appear; a preset
    without a report in a variant counts as a failed claim there."""
    rows: dict[tuple[str, str], ClaimRow] = {}
    for variant, out in outcomes.items():
        for preset, rep in out.reports.items():
            for c in rep.checks:
                row = rows.setdefault((preset, c.claim), ClaimRow(preset, c.claim))
                row.verdicts[variant], row.values[variant], row.decided[variant] = c.verdict, c.value, c.decided_on
        for preset, why in out.failures.items():
            row = rows.setdefault((preset, "runs and report"), ClaimRow(preset, "runs and report"))
            row.verdicts[variant], row.values[variant], row.decided[variant] = "FAIL", None, why[:80]
    return list(rows.values())


def reproduce_robust(root: str | Path, scale: str = "default", cores: int | None = None, only: list[str] | None = None,
                     force: bool = False, in_process: bool = False, on_event: Event | None = None,
                     suite: str = "synthetic", data_dir: str | None = None,
                     variants: tuple[Variant, ...] = VARIANTS) -> RobustOutcome:
    """Each variant as `osig reproduce` under ROOT/<variant>/ (its runs with that many threads, as many at
    once as the cores allow), then the table of claims across them."""
    root = Path(root)
    cores = cores or os.cpu_count() or 1
    out = RobustOutcome()
    for v in variants:
        vroot = root / v.name
        jobs = plan(vroot, scale, only, force, suite, data_dir, seed_offset=v.seed_offset)
        if in_process:
            run_in_process(jobs, on_event)
        else:
            run_jobs(jobs, max(1, cores // v.threads), on_event, threads=v.threads)
        out.variants[v.name] = report_all(vroot, jobs)
    out.rows = claim_rows(out.variants)
    write_robust(root, out, variants)
    return out


def write_robust(root: Path, out: RobustOutcome, variants: tuple[Variant, ...] = VARIANTS) -> None:
    heads = " | ".join(v.label for v in variants)
    lines = ["# osig reproduce --robust", "",
             f"Each preset at {', '.join(v.label for v in variants)}; a claim holds only where it passes in every one.",
             "", f"| preset | claim | {heads} | figure (min … max) | outcome |",
             "|---|---|" + "---|" * len(variants) + "---|---|"]
    for r in out.rows:
        cells = " | ".join(_md(f"{r.verdicts.get(v.name, 'missing')}"
                               + (f" ({r.decided[v.name]})" if r.decided.get(v.name) else "")) for v in variants)
        lines.append(f"| {_md(r.preset)} | {_md(r.claim)} | {cells} | {r.spread} | {r.outcome} |")
    held = sum(r.holds_everywhere for r in out.rows)
    lines += ["", f"{held} of {len(out.rows)} claims hold in all {len(variants)} variants."]
    root.mkdir(parents=True, exist_ok=True)
    (root / "robust.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = {"variants": [v.name for v in variants],
           "claims": [{"preset": r.preset, "claim": r.claim, "verdicts": r.verdicts, "values": r.values,
                       "decided_on": r.decided, "holds_everywhere": r.holds_everywhere} for r in out.rows]}
    (root / "robust.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
