"""Hostile values at every edge (issue 17, finding 5): a setting from a flag, a TOML file or a run's
config.json, and API arguments, either work or give one sentence and exit 2 — never a traceback, an
allocation that cannot succeed, a step that never ends or a storm of processes."""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import osig_core as osig
from osig_core.config.run_config import ConfigError

SMALL = ["--model", "mlp", "--width", "0.05", "--n", "40", "--n-test", "20", "--steps", "2", "--eval-every", "0",
         "--checkpoint-every", "0", "--quiet"]
EXAMPLES = int(os.environ.get("OSIG_FUZZ_EXAMPLES", 25))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _one_sentence(code: int, err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, err)
    return lines[0]


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)


def _write_toml(path: Path, settings_: dict) -> Path:
    path.write_text("".join(f"{k} = {_toml_value(v)}\n" for k, v in settings_.items()))
    return path


@pytest.mark.parametrize("flag,value,bound", [
    ("--lr", "1e39", "3.403e+38"), ("--weight-decay", "1e300", "3.403e+38"), ("--width", "1e6", "use at most"),
    ("--n", str(2**63 - 1), "use at most"), ("--group-window", str(10**9), "use at most"),
    ("--eig-k", "1000000", "at most 64"), ("--nproc", "1000000", "CPU cores present"),
])
def test_an_absurd_flag_is_refused_with_its_bound(cli, tmp_path, flag, value, bound):
    code, _, err = cli("run", *SMALL, flag, value, "--run-dir", tmp_path / "r")
    line = _one_sentence(code, err)
    assert flag in line and bound in line, line
    assert not (tmp_path / "r").exists()


def test_a_toml_nested_thousands_deep_or_with_a_numeric_preset_is_one_sentence(cli, tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("probes = " + "[" * 5000 + "]" * 5000 + "\n")
    line = _one_sentence(*cli("run", "--config", deep, "--quiet")[::2])
    assert "nested" in line
    shallow = tmp_path / "shallow.toml"
    shallow.write_text("probes = " + "[" * 40 + "]" * 40 + "\n")
    assert "nested" in _one_sentence(*cli("run", "--config", shallow, "--quiet")[::2])
    preset = _write_toml(tmp_path / "preset.toml", {"preset": 123})
    assert "preset" in _one_sentence(*cli("run", "--config", preset, "--quiet")[::2])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hostile") / "run"
    osig.train(osig.RunConfig(model="mlp", width=0.05, n=40, n_test=20, steps=4, checkpoint_every=2, eval_every=0,
                              group_window=3), d)
    return d


def _copy_with_config(src: Path, dst: Path, change) -> Path:
    shutil.copytree(src, dst)
    doc = json.loads((dst / "config.json").read_text())
    change(doc)
    (dst / "config.json").write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return dst


def test_a_run_config_nested_thousands_deep_is_one_sentence_everywhere(cli, tmp_path, tiny_run):
    d = tmp_path / "deep"
    shutil.copytree(tiny_run, d)
    doc = (d / "config.json").read_text()
    (d / "config.json").write_text(doc.replace('"probes": []', '"probes": ' + "[" * 5000 + "]" * 5000))
    for args in (("show", d), ("groups", d), ("export", d, tmp_path / "o.csv"), ("run", "--resume", d, "--quiet")):
        _one_sentence(*cli(*args)[::2])
    code, out, err = cli("ls", tmp_path)  # the listing names the broken run and goes on
    assert code == 0 and "Traceback" not in err


@pytest.mark.parametrize("where", ["n", "config.n", "classes"])
def test_a_run_config_that_disagrees_with_its_data_is_refused(cli, tmp_path, tiny_run, where):
    def change(doc):
        if where == "n":
            doc["n"] //= 2
        elif where == "config.n":
            doc["config"]["n"] //= 2
        else:
            doc["classes"] = doc["classes"][:1]
    d = _copy_with_config(tiny_run, tmp_path / where, change)
    for args in (("show", d), ("groups", d), ("run", "--resume", d, "--steps", "6", "--quiet")):
        line = _one_sentence(*cli(*args)[::2])
        assert "config.json" in line or "labels.npy" in line, (args, line)


def test_api_arguments_are_checked(tiny_run):
    run = osig.open_run(tiny_run)
    with pytest.raises(ConfigError, match="sample id 199 is out of range: the run has 40 samples"):
        run.loss_history([199])
    with pytest.raises(ConfigError, match="sample id -1"):
        run.loss_history(-1)
    with pytest.raises(ConfigError, match="integers"):
        run.loss_history(["a"])
    with pytest.raises(ConfigError, match="step must be a non-negative integer"):
        run.model(step="nope")
    with pytest.raises(ConfigError, match="since must be an integer"):
        run.metrics(since=[1])
    assert run.loss_history([0, 39]).shape == (4, 2) and run.model(step=3) is not None


# ---------------------------------------------------------------------- generated hostile configs
hostile_numbers = st.sampled_from([0, -1, 1, 2, 3, 2**31, 2**63 - 1, 2**64, -2**63, 10**9, 1e39, -1e39, 1e300, 1e-300,
                                   0.5, -0.0, math.inf, -math.inf, math.nan, 0.05])
hostile = st.recursive(hostile_numbers | st.booleans() | st.text(max_size=8) | st.sampled_from(["mlp", "gd", "sgd", "cpu"]),
                       lambda inner: st.lists(inner, max_size=2), max_leaves=3)
FIELDS = ["lr", "weight_decay", "width", "n", "n_test", "group_window", "eig_k", "nproc", "steps", "seed", "momentum",
          "outliers_k", "track_every", "chunk_size", "batch_size", "optim", "preset", "probes", "sharpness_every",
          "checkpoint_every", "label_smoothing", "eps", "track", "head_scale"]
SAFE = {"steps": 2, "n": 40, "n_test": 20, "width": 0.05, "sharpness_every": 0, "eval_every": 0, "checkpoint_every": 0}


def _bounded(settings_: dict) -> dict:
    """Hostile values, but a config that passes validation must still be a tiny run (fast in CI): sizes
    that validation accepts are replaced by small ones."""
    out = dict(settings_)
    for k, small in SAFE.items():
        v = out.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0 and k != "width":
            out[k] = min(v, small) if isinstance(v, int) else v
        if k == "width" and isinstance(v, float) and math.isfinite(v) and 0 < v <= 4:
            out[k] = small
    for k, v in list(out.items()):
        if k in ("chunk_size", "batch_size", "track_every") and isinstance(v, int) and not isinstance(v, bool) and 0 < v:
            out[k] = min(v, 64)
    return {**{k: v for k, v in SAFE.items() if k not in out}, **out}


@SETTINGS
@given(st.dictionaries(st.sampled_from(FIELDS), hostile, max_size=4))
def test_generated_hostile_configs_run_or_give_one_sentence(cli, generated):
    with tempfile.TemporaryDirectory() as tmp:
        toml = _write_toml(Path(tmp) / "c.toml", _bounded(generated))
        code, _, err = cli("run", "--config", toml, "--run-dir", Path(tmp) / "r", "--quiet")
        assert "Traceback" not in err, err
        if code != 0:
            assert code in (1, 2), (code, err)  # 1: a run that diverged, said in one sentence
            assert len([line for line in err.strip().splitlines() if line.strip()]) == 1, err


@SETTINGS
@given(st.dictionaries(st.sampled_from(FIELDS + ["n", "classes", "format_version"]), hostile, max_size=3),
       st.booleans())
def test_generated_hostile_run_configs_read_or_give_one_sentence(cli, tiny_run, generated, top_level):
    with tempfile.TemporaryDirectory() as tmp:
        def change(doc):
            for k, v in generated.items():
                if top_level or k in ("classes", "format_version"):
                    doc[k] = v
                else:
                    doc["config"][k] = v
        d = _copy_with_config(tiny_run, Path(tmp) / "run", change)
        for args in (("show", d), ("groups", d), ("export", d, Path(tmp) / "o.npz", "--losses")):
            code, _, err = cli(*args)
            assert "Traceback" not in err, (args, err)
            if code != 0:
                _one_sentence(code, err)


def test_ctrl_c_while_osig_starts_is_one_line():
    """The interrupt lands while the CLI is still importing (before main's own try)."""
    import subprocess
    import sys
    code = ("import sys, os, signal; sys.argv[0] = 'osig'; import osig_tui; os.kill(os.getpid(), signal.SIGINT); "
            "from osig_tui.cli import main; main()")
    p = subprocess.run([sys.executable, "-c", code, "ls", "/nonexistent"], capture_output=True, text=True)
    assert p.returncode == 130 and p.stderr == "osig: error: interrupted\n", (p.returncode, p.stderr)


def test_eig_k_is_bounded_by_the_parameter_count(cli, tmp_path):
    line = _one_sentence(*cli("run", "--data", "toy-linear", "--model", "linear2", "--n", "20", "--steps", "2",
                              "--sharpness-every", "1", "--eig-k", "64", "--run-dir", tmp_path / "r", "--quiet")[::2])
    assert "--eig-k must be at most the model's" in line and not (tmp_path / "r").exists()
