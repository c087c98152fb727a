"""Building a run's parts from outside code: whatever a torch optimizer, a model factory or a data
factory raises while being built is one sentence naming the setting (exit 2, nothing written), and
`osig run --resume` says which outside code a run's config.json will import before importing it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

import osig_core as osig
from osig_core.components.catalog import outside_code

NETS = '''
import sys
from torch import nn

sys.stderr.write("buildmods.nets imported\\n")

def bare():
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))

def boom(data, width):
    raise ValueError("width must be a power of two")

def no_data(cfg):
    raise RuntimeError("the bucket is empty")

def flaky_opt(params, cfg):
    raise RuntimeError("this optimizer needs a GPU")
'''


@pytest.fixture
def mods(tmp_path, monkeypatch):
    pkg = tmp_path / "mods" / "buildmods"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "nets.py").write_text(NETS)
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    return tmp_path


@pytest.mark.parametrize("flags, message", [
    (["--optim", "torch:SGD", "--opt-args", '{"momentum": -5}'],
     '--optim torch:SGD with --opt-args {"momentum": -5} failed: Invalid momentum value: -5.'),
    (["--optim", "torch:Adam", "--opt-args", '{"betas": [5, 0.9]}'],
     '--optim torch:Adam with --opt-args {"betas": [5, 0.9]} failed: Invalid beta parameter at index 0: 5.'),
    (["--model", "buildmods.nets:boom"],
     "model 'buildmods.nets:boom' raised an error (ValueError: width must be a power of two)."),
    (["--data", "buildmods.nets:no_data"],
     "dataset 'buildmods.nets:no_data' raised an error (RuntimeError: the bucket is empty)."),
    (["--model", "buildmods.nets:bare", "--head-scale", "0.5"],
     "--head-scale scales the output layer model.head.weight, which model 'buildmods.nets:bare' does not have"),
])
def test_a_factory_that_raises_is_one_sentence_naming_the_setting(mods, cli, flags, message):
    run_dir = mods / "bad"
    code, _, err = cli("run", *flags, "--steps", "1", "--n", "40", "--run-dir", run_dir, "--quiet")
    said = [line for line in err.splitlines() if line.strip() and line != "buildmods.nets imported"]
    assert code == 2 and said == [f"osig: error: {message}"] or (code == 2 and len(said) == 1 and message in said[0]), err
    assert not run_dir.exists()


def test_an_optimizer_entry_point_that_raises_is_one_sentence(mods, cli, monkeypatch):
    ep = EntryPoint(name="flaky", value="buildmods.nets:flaky_opt", group="osig.optimizers")
    monkeypatch.setattr("osig_core.components.plugins.entry_points", lambda kind: [ep] if kind == "optimizers" else [])
    code, _, err = cli("run", "--optim", "flaky", "--steps", "1", "--n", "40", "--run-dir", mods / "bad", "--quiet")
    assert code == 2 and "--optim flaky failed: this optimizer needs a GPU." in err and "Traceback" not in err, err


def test_outside_code_names_only_what_imports_code_from_outside_osig(monkeypatch):
    assert outside_code("mlp", "npz:/data/x.npz", "torch:AdamW") == []
    assert outside_code("vgg11", "text:/corpus.txt", "adam") == []
    assert outside_code("buildmods.nets:make", "buildmods.data:blobs", "gd") == [
        "--model buildmods.nets:make: imports the module buildmods.nets and calls make",
        "--data buildmods.data:blobs: imports the module buildmods.data and calls blobs"]
    ep = EntryPoint(name="lion", value="tinyplug:Lion", group="osig.optimizers")
    monkeypatch.setattr("osig_core.components.catalog.entry_points", lambda kind: [ep] if kind == "optimizers" else [])
    assert outside_code("mlp", "synthetic", "lion") == ["--optim lion: loads the osig.optimizers entry point tinyplug:Lion"]


def test_resume_says_which_outside_code_it_imports_before_importing_it(mods, cli):
    run_dir = mods / "mine"
    code, _, err = cli("run", "--model", "buildmods.nets:bare", "--steps", "2", "--n", "40", "--eval-every", "0",
                       "--run-dir", run_dir, "--quiet")
    assert code == 0, err
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(mods / "mods"), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['osig'] + sys.argv[1:]\n"
                          "from osig_tui.cli import main\nmain()", "run", "--resume", str(run_dir), "--steps", "3",
                          "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stderr.splitlines()
    notice = f"osig: {run_dir / 'config.json'} runs code from outside osig: --model buildmods.nets:bare: " \
             "imports the module buildmods.nets and calls bare"
    assert notice in lines and "buildmods.nets imported" in lines, res.stderr
    assert lines.index(notice) < lines.index("buildmods.nets imported")
    assert osig.open_run(run_dir).metrics()["step"][-1] == 2


def test_resume_of_a_built_in_run_says_nothing_of_outside_code(tiny_gd_run, tmp_path):
    from osig_tui.resume_notice import outside_code_of
    assert outside_code_of(tiny_gd_run.dir) == []
    (tmp_path / "config.json").write_text(json.dumps({"config": {"model": ["not", "a", "name"]}}))
    assert outside_code_of(tmp_path) == [] and outside_code_of(tmp_path / "missing") == []
