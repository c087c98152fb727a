"""`osig groups` / `osig eval-groups` on a real detection run, and their bad inputs."""
from __future__ import annotations

import json

import numpy as np
import pytest

import osig_core as osig


@pytest.fixture(scope="module")
def grouped_run(tmp_path_factory):
    cfg = osig.RunConfig(model="mlp", n=600, steps=60, lr=0.05, eval_every=0, checkpoint_every=0)
    return osig.train(cfg, tmp_path_factory.mktemp("g") / "run")


def test_groups_json_schema_and_step_selection(grouped_run, cli):
    code, out, err = cli("groups", grouped_run.dir, "--all", "--json")
    assert code == 0, err
    pairs = json.loads(out)["pairs"]
    assert pairs, "the synthetic run should show opposing pairs within 60 steps"
    for p in pairs:
        assert {"id", "score", "first_step", "last_step", "sides"} <= set(p)
        assert len(p["sides"]) == 2
        a, b = (set(s["members"]) for s in p["sides"])
        assert a and b and not (a & b)
        labels = grouped_run.labels()
        for s in p["sides"]:
            names = grouped_run.classes
            hist = {}
            for i in s["members"]:
                hist[names[labels[i]]] = hist.get(names[labels[i]], 0) + 1
            assert hist == s["classes"]
    first = min(p["first_step"] for p in pairs)
    code, out, _ = cli("groups", grouped_run.dir, "--step", str(first), "--json")
    assert code == 0 and json.loads(out)["pairs"]


def test_eval_groups_reports_every_planted_feature(grouped_run, cli):
    code, out, err = cli("eval-groups", grouped_run.dir, "--json")
    assert code == 0, err
    rows = json.loads(out)["features"]
    assert {r["feature"] for r in rows} == {"sky", "grass", "wheels"}
    sky = next(r for r in rows if r["feature"] == "sky")
    assert sky["purity"] >= 0.8 and sky["first_step"] is not None


def test_group_bad_inputs(grouped_run, cli, tmp_path):
    code, _, err = cli("groups", grouped_run.dir, "--step", "10000")
    assert code == 2 and "out of range" in err and "Traceback" not in err
    fm = osig.train(osig.RunConfig(model="mlp", width=0.05, data="chebyshev", n=50, steps=3), tmp_path / "cheb")
    code, _, err = cli("eval-groups", fm.dir)
    assert code == 2 and "no ground truth" in err
    code, _, err = cli("groups", tmp_path / "nothing")
    assert code == 2 and "not a directory" in err
