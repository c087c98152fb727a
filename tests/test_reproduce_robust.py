"""`osig reproduce --robust`: each preset at 1 and 2 CPU threads and two seeds, and a claim shown as
holding only where it passes in every variant (a verdict that flips between machines is reported)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from osig_core.report.model import Report
from osig_core.report.reproduce import Outcome
from osig_core.report.robust import VARIANTS, Variant, claim_rows, reproduce_robust


def _outcome(verdicts: dict[str, tuple[bool, float, int]]) -> Outcome:
    rep = Report("t", "p", "claim", {})
    for claim, (passed, value, events) in verdicts.items():
        rep.check(claim, "observed", passed, value=value, events=events, unit="moves")
    return Outcome(reports={"p": rep})


def test_a_claim_holds_only_where_it_passes_in_every_variant():
    outcomes = {v.name: _outcome({"steady": (True, 0.7 + i / 10, 20),
                                  "coin": (i != 2, 0.5, 20),
                                  "thin": (True, 0.9, 3 if i == 0 else 20)})
                for i, v in enumerate(VARIANTS)}
    outcomes[VARIANTS[3].name].failures["q"] = "q/gd failed: diverged"
    rows = {(r.preset, r.claim): r for r in claim_rows(outcomes)}
    assert rows[("p", "steady")].holds_everywhere and rows[("p", "steady")].spread == "0.7 … 1"
    assert rows[("p", "coin")].outcome == "holds in 3 of 4" and not rows[("p", "coin")].holds_everywhere
    thin = rows[("p", "thin")]  # too few events in one variant: not a pass there
    assert thin.verdicts[VARIANTS[0].name] == "not enough events" and thin.outcome == "holds in 3 of 4"
    assert rows[("q", "runs and report")].outcome == "holds in 0 of 4"


def test_robust_runs_each_variant_with_its_seed_and_writes_one_table(tmp_path):
    variants = (Variant(1, 0), Variant(1, 1))
    out = reproduce_robust(tmp_path, "tiny", only=["fig1-gd"], in_process=True, variants=variants)
    seeds = [json.loads((tmp_path / v.name / "fig1-gd" / "config.json").read_text())["config"]["seed"] for v in variants]
    assert seeds[1] == seeds[0] + 1
    assert out.rows and all(set(r.verdicts) == {v.name for v in variants} for r in out.rows)
    md = (tmp_path / "robust.md").read_text()
    assert "1 thread, seed +1" in md and out.rows[0].claim in md
    assert json.loads((tmp_path / "robust.json").read_text())["variants"] == [v.name for v in variants]


def test_the_cli_runs_the_four_variants_with_their_thread_counts(tmp_path):
    """Through `osig reproduce --robust`: four subprocess runs of one tiny preset, each with the threads
    and seed of its variant (config.json says which arithmetic ran), then the table."""
    root = tmp_path / "r"
    cmd = [sys.executable, "-m", "osig_tui.cli", "reproduce", "--robust", "--scale", "tiny", "--only", "fig1-gd",
           "--root", str(root), "--jobs", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode in (0, 1), proc.stderr  # tiny runs are too short for the claims; 1 = some do not hold
    assert "claims hold in all 4" in proc.stdout + proc.stderr
    for v in VARIANTS:
        doc = json.loads((root / "robust" / v.name / "fig1-gd" / "config.json").read_text())
        assert doc["cpu_threads"] == v.threads, v
    assert (root / "robust" / "robust.md").is_file()
