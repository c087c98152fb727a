"""Reports and `osig reproduce`: every preset at a tiny size yields a report with computed checks.

The tiny runs are far too short for the paper's claims to hold; these tests check that each
preset's report, figures and checks are produced, that the checks' numbers come from the stored
data (against independent computations), and that reproduce resumes instead of redoing work.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from osig_core.presets.paper import suite_presets


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    """Every preset's members trained at the 'tiny' scale, in this process, and reported."""
    from osig_core.report.reproduce import reproduce
    root = tmp_path_factory.mktemp("reproduce")
    outcome = reproduce(root, "tiny", in_process=True)
    return root, outcome


def test_every_preset_gets_a_report_with_checks_and_figures(tiny_root):
    root, outcome = tiny_root
    assert not outcome.failures, outcome.failures
    assert set(outcome.reports) == set(suite_presets("synthetic"))  # the real-data suites: test_real_presets.py
    for name, report in outcome.reports.items():
        folder = root / name / "report"
        md = (folder / "report.md").read_text()
        assert report.claim in md and "| check | observed | decided on | result |" in md
        assert report.checks, name
        for c in report.checks:
            assert c.claim and c.observed and c.passed in (True, False, None)
            assert c.verdict in ("pass", "FAIL", "n/a", "not enough events")
            if c.passed is not None:  # every computed verdict says how many events decided it
                assert c.events is not None and c.events >= c.min_events and c.unit, (name, c.claim)
        saved = json.loads((folder / "report.json").read_text())
        assert [c["claim"] for c in saved["checks"]] == [c.claim for c in report.checks]
        for fig in report.figures:
            assert (folder / fig.file).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (root / "summary.md").is_file()


def test_reproduce_resumes_instead_of_redoing(tiny_root):
    from osig_core.report.reproduce import plan
    root, _ = tiny_root
    assert {j.action for j in plan(root, "tiny")} == {"skip"}


def test_reproduce_refuses_a_stored_run_with_other_settings(tiny_root):
    from osig_core.config.run_config import ConfigError
    from osig_core.report.reproduce import plan
    root, _ = tiny_root
    with pytest.raises(ConfigError, match="holds a run with other settings"):
        plan(root, "quick", only=["fig3-chebyshev"])
    assert {j.action for j in plan(root, "quick", only=["fig3-chebyshev"], force=True)} == {"fresh"}


def test_a_run_stopped_midway_is_resumed(tmp_path):
    import osig_core as osig
    from osig_core.presets.paper import preset_config
    from osig_core.report.reproduce import plan, run_in_process
    cfg = osig.RunConfig.from_dict(preset_config("fig38-linear:tiny"))
    run_dir = tmp_path / "fig38-linear"

    def stop_at_five(step, total, scalars):
        if step == 5:
            osig.open_run(run_dir).send_control("stop")

    osig.train(cfg.replace(checkpoint_every=5), run_dir, progress=stop_at_five)
    # checkpoint_every differs from the preset: a stored run with other settings is refused
    from osig_core.config.run_config import ConfigError
    with pytest.raises(ConfigError, match="checkpoint_every"):
        plan(tmp_path, "tiny", only=["fig38-linear"])
    osig.train(cfg, run_dir, force=True, progress=stop_at_five)
    assert osig.open_run(run_dir).status()[0] == "stopped"
    jobs = plan(tmp_path, "tiny", only=["fig38-linear"])
    assert [j.action for j in jobs] == ["resume"]
    run_in_process(jobs)
    run = osig.open_run(run_dir)
    assert run.status()[0] == "finished" and run.steps_done() == cfg.steps


def test_checks_are_computed_from_the_stored_data(tiny_root):
    """fig36's observed fraction is the mean of the stored frac_up after the GD onset."""
    import osig_core as osig
    from osig_core.report.half_up import onset_of
    root, outcome = tiny_root
    gd = osig.open_run(root / "fig36-half-up" / "gd")
    m = gd.metrics()
    onset = onset_of(gd, m)
    check = outcome.reports["fig36-half-up"].checks[0]
    if onset is not None and check.value is not None:
        f = m["frac_up"][(m["step"] >= onset) & np.isfinite(m["frac_up"])]
        assert check.value == pytest.approx(f.mean())


def test_cli_report_prints_checks_and_writes_the_folder(cli, tiny_root, tmp_path):
    root, _ = tiny_root
    code, out, err = cli("report", root / "fig38-linear", "--out", tmp_path / "rep")
    assert code in (0, 1), err  # 1: a claim failed at this tiny size
    assert "(α, 3α)" in out and (tmp_path / "rep" / "report.md").is_file()
    assert list((tmp_path / "rep").glob("*.png"))


def test_cli_report_of_something_that_is_not_a_run(cli, tmp_path):
    code, _, err = cli("report", tmp_path)
    assert code == 2 and "holds no osig run" in err


def test_a_run_without_preset_gets_curves_and_no_checks(cli, tiny_gd_run, tmp_path):
    from osig_core.report import build_report
    rep = build_report(tiny_gd_run.dir, tmp_path / "r")
    assert rep.checks == [] and rep.figures
    assert "(no checks for this run)" in (tmp_path / "r" / "report.md").read_text()


# ---------------------------------------------------------------------- the numbers behind the checks
def test_diff_corr_and_flip_rate_against_numpy():
    from osig_core.report.stats import diff_corr, sign_flip_rate
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50).cumsum(), rng.normal(size=50).cumsum()
    assert diff_corr(a, b) == pytest.approx(np.corrcoef(np.diff(a), np.diff(b))[0, 1])
    zigzag = np.array([0, 1, 0, 1, 0, 1, 0], float)
    assert sign_flip_rate(zigzag) == 1.0
    assert sign_flip_rate(np.arange(10.0)) == 0.0
    assert diff_corr(zigzag, -zigzag) == pytest.approx(-1.0)


def test_random_subsets_vary_more_when_smaller():
    from osig_core.report.stats import random_subset_stds
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(60, 400)).astype(np.float32)
    small, large = random_subset_stds(rows, 5, 100), random_subset_stds(rows, 200, 100)
    # independent noise: the std of a mean of k samples shrinks like 1/sqrt(k)
    assert np.median(small) / np.median(large) == pytest.approx(np.sqrt(200 / 5), rel=0.3)


def test_interval_against_neighbours_finds_the_papers_shape():
    from osig_core.report.chebyshev import interval_against_neighbours
    from osig_core.report.pairs import PairMotion
    x = np.linspace(-1, 1, 101)
    inner = list(range(8, 14))  # x in [-0.84, -0.74]
    flanks = [4, 5, 6, 16, 17, 18]
    pair = {"id": 3, "sides": [{"members": flanks}, {"members": inner}]}
    motion = PairMotion(pair, np.arange(10), np.zeros(10), np.zeros(10), -0.9, 1.0)
    found = interval_against_neighbours(motion, x)
    assert found is not None
    assert found.interval == pytest.approx((x[8], x[13]))
    assert found.left.max() < x[8] and found.right.min() > x[13]
    scattered = {"id": 4, "sides": [{"members": [0, 50, 100]}, {"members": [10, 60, 90]}]}
    assert interval_against_neighbours(PairMotion(scattered, np.arange(10), np.zeros(10), np.zeros(10), -0.9, 1.0),
                                       x) is None


def test_a_check_on_too_few_events_says_so_in_both_files(tmp_path):
    """A real check (fm-fig1-gd's loss shape) on 6 steps after the onset: a loss that would pass on enough
    steps gets neither pass nor FAIL, in report.md and report.json alike; on enough steps it passes."""
    from osig_core.report import real_eos
    from osig_core.report.model import MIN_EVENTS, Report
    t = np.arange(47, dtype=float)
    loss = 2.0 * np.exp(-t / 10) + 0.1 + np.where(t >= 40, 0.03 * (-1) ** t, 0.0)  # falls, wobbles from step 40
    metrics = {"step": t.astype(np.int64), "train_loss": loss}
    rep = Report(title="t", preset=None, claim="c", runs={})
    real_eos.loss_checks(rep, metrics, onset=40)
    (check,) = rep.checks
    assert check.events == 6 < MIN_EVENTS and check.unit == "steps"
    assert check.passed is None and check.verdict == "not enough events"
    rep.write(tmp_path)
    row = next(line for line in (tmp_path / "report.md").read_text().splitlines() if "rises at" in line)
    assert row.endswith("| 6 steps, < 10 | not enough events |")
    saved = json.loads((tmp_path / "report.json").read_text())["checks"][0]
    assert saved["verdict"] == "not enough events" and saved["passed"] is None
    assert saved["events"] == 6 and saved["decided_on"] == "6 steps, < 10"
    enough = Report(title="t", preset=None, claim="c", runs={})
    real_eos.loss_checks(enough, metrics, onset=30)  # 16 steps: the same loss is judged
    assert enough.checks[0].events == 16 and enough.checks[0].verdict == "pass"


def test_markdown_shows_run_text_literally():
    from osig_core.report.model import Report
    rep = Report("t", None, "c", {})
    rep.check("a | b", "x\n| y", True)
    md = rep.to_markdown()
    assert "a \\| b" in md and "x \\| y" in md


def test_gd_already_at_the_edge_of_stability_is_no_agreement_with_gradient_flow(tiny_root):
    """If GD's first estimate is already at 2/eta, "GD and gradient flow agree before the edge of
    stability" has nothing to compare and must not pass by comparing the two identical initial states."""
    import osig_core as osig
    from osig_core.report.model import Report
    from osig_core.report.probes import gf_checks, probe_series
    root, _ = tiny_root
    gd_run, gf_run = osig.open_run(root / "fig5-probes" / "gd"), osig.open_run(root / "fig5-probes" / "gf")
    gd, gf = probe_series(gd_run), probe_series(gf_run)

    def agreement(window):
        report = Report(title="fig5", preset="fig5-probes", claim="", runs={})
        gf_checks(report, gf_run, gf, gd, gd_run, window)
        return next(c for c in report.checks if c.claim.startswith("GD and gradient flow"))

    at_start = agreement((int(gd.steps[0]), int(gd.steps[-1])))
    assert at_start.passed is None and "no phase before" in at_start.observed
    later = agreement((int(gd.steps[2]), int(gd.steps[-1])))
    assert later.passed is not None and "GD / GF" in later.observed
