"""`osig compare` and osig_core.sweeps.compare: the numbers of each row against the stored data, what
differs between runs, sweeps expanding to their members, --json / --png, bad arguments as one sentence,
and no torch on the way (each run here is written by the synthetic fixture, no training)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fixtures.synthetic_run import write_run
from fixtures.light_cli import run_light
from osig_core.sweeps.compare import differing_settings, label, run_paths, summarize_runs
from osig_core.sweeps import manifest as M
from osig_core.sweeps.grid import parse_grid



@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs that differ in n and steps, and a sweep over n with one member not started yet."""
    root = tmp_path_factory.mktemp("compare")
    a = write_run(root / "a", n=120, steps=40)
    b = write_run(root / "b", n=80, steps=50, seed=1)
    sw = M.create(root / "sw", parse_grid({"model": "mlp", "n": "40,60,80"}))
    for m, n in zip(sw.members[:2], (40, 60)):
        write_run(sw.run_dir(m), n=n, steps=30, seed=n)
    return root, a, b, sw


def test_each_number_is_the_stored_runs(runs):
    _, a, _, _ = runs
    (s,) = summarize_runs([a])
    from osig_core import open_run
    r = open_run(a)
    m, losses = r.metrics(), np.asarray(r.losses(), np.float32)
    # the fixture's sharpness: 20 + 25 (1 - e^(-t/15)) ± 3 every 5 steps against 2/η = 40, first ≥ 40 at step 20
    t = np.arange(0, 40, 5)
    lam = 20 + 25 * (1 - np.exp(-t / 15.0)) + 3 * np.where(t % 2 == 0, 1, -1)
    assert s.edge_step == 20 and s.threshold == 40.0
    assert s.edge_ratio == pytest.approx(np.median(lam[t >= 20] / 40.0))
    np.testing.assert_allclose(s.sharp_norm, lam * 0.05 / 2)  # λ·η/2: the GD edge at 1
    assert s.frac_up == pytest.approx(np.mean([(losses[i] > losses[i - 1]).mean() for i in range(1, 40)]))
    assert s.final_loss == pytest.approx(float(losses[-1].mean()), rel=1e-6)
    assert s.final_acc == m["train_acc"][-1] and s.steps_done == s.total_steps == 40 and s.status == "finished"
    assert s.top_pair_score == 0.7 and s.top_pair.startswith("#0 ") and " vs " in s.top_pair
    assert s.wall_s == pytest.approx(0.02 * 40)
    assert s.train_loss.shape == (40,) and json.dumps(s.to_json())


def test_what_differs_names_the_runs(runs):
    _, a, b, sw = runs
    summaries = summarize_runs([a, b])
    assert differing_settings(summaries) == ["n", "steps"]
    assert [label(s, ["n", "steps"]) for s in summaries] == ["n=120 steps=40", "n=80 steps=50"]
    assert differing_settings(summaries[:1]) == [] and label(summaries[0], []) == "a"
    assert run_paths([sw.dir]) == [sw.run_dir(m) for m in sw.members[:2]]  # the member not started is left out


def test_compare_table_json_and_png(runs, cli, tmp_path):
    _, a, b, sw = runs
    code, out, err = cli("compare", a, sw.dir, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["differing"] == ["n", "steps"] and [r["run_id"] for r in doc["runs"]] == ["a", *[m.name for m in sw.members[:2]]]
    assert doc["runs"][0]["edge_step"] == 20
    code, out, err = cli("compare", a, b, "--png", tmp_path / "c.png")
    assert code == 0, err
    assert "120" in out and "#0" in out and "wrote" in out
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments_are_one_sentence(runs, cli, tmp_path):
    root, a, _, _ = runs
    empty = M.create(tmp_path / "empty", parse_grid({"lr": "1,2"}))
    for args, says in (([tmp_path], "is neither an osig run nor a sweep"), ([tmp_path / "nope"], "is neither an osig run nor a sweep"),
                       ([empty.dir], "has no runs yet"), ([a, "--png", tmp_path / "c.jpg"], "must end in .png")):
        code, _, err = cli("compare", *args)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and says in lines[0] and "Traceback" not in err, err


@pytest.mark.parametrize("extra", [["--json"], ["--png", "{tmp}/c.png"]])
def test_compare_loads_no_torch(runs, tmp_path, extra):
    root, a, b, sw = runs
    args = ["compare", str(a), str(sw.dir), *(e.format(tmp=tmp_path) for e in extra)]
    result = run_light(*args, cwd=tmp_path, env={"MPLCONFIGDIR": str(tmp_path)})
    assert result["code"] in (0, None), result["out"] + result["err"]
    assert result["heavy"] == [], f"`osig compare` loaded {result['heavy']}"
