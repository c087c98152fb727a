"""Plugins for `osig run`: pkg.module:factory models and datasets, torch:NAME optimizers, and entry
points of an installed package (osig.models / osig.datasets / osig.optimizers), with `osig list`."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import osig_core as osig

NETS = '''
import torch
from torch import nn

def make(num_outputs, input_shape):
    return nn.Sequential(nn.Flatten(), nn.Linear(int(torch.tensor(input_shape).prod()), 16), nn.Tanh(),
                         nn.Linear(16, num_outputs))

def bare():
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))

def not_a_model(data, width):
    return "a string"

def blobs(cfg):
    g = torch.Generator().manual_seed(cfg.seed)
    x = torch.randn(90, 5, generator=g)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long(), ["low", "mid", "high"]

def wrong_data():
    return 42
'''


@pytest.fixture
def mods(tmp_path, monkeypatch):
    pkg = tmp_path / "mods" / "usermods"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "nets.py").write_text(NETS)
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    return tmp_path


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A tiny package 'tinyplug' installed as a distribution with entry points (no network, no pip)."""
    site = tmp_path / "site"
    (site / "tinyplug").mkdir(parents=True)
    (site / "tinyplug" / "__init__.py").write_text(textwrap.dedent('''
        import torch
        from torch import nn

        def mlp(data, width):
            return nn.Sequential(nn.Flatten(), nn.Linear(data.x[0].numel(), 8), nn.ReLU(), nn.Linear(8, data.num_outputs))

        def two_blobs(cfg):
            g = torch.Generator().manual_seed(0)
            x = torch.cat([torch.randn(30, 4, generator=g) + 2, torch.randn(30, 4, generator=g) - 2])
            return x, torch.cat([torch.zeros(30), torch.ones(30)]).long()

        Lion = torch.optim.SGD  # stands in for a third-party optimizer class
    '''))
    (site / "tinyplug" / "broken.py").write_text("raise ImportError('tinyplug.broken needs a GPU library')\n")
    info = site / "tinyplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tinyplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent('''
        [osig.models]
        tiny-mlp = tinyplug:mlp
        broken-net = tinyplug.broken:net
        [osig.datasets]
        two-blobs = tinyplug:two_blobs
        [osig.optimizers]
        lion = tinyplug:Lion
    '''))
    monkeypatch.syspath_prepend(str(site))
    return site


def test_model_and_data_factories_from_a_module(mods, cli):
    run_dir = mods / "run"
    code, _, err = cli("run", "--model", "usermods.nets:make", "--data", "usermods.nets:blobs", "--steps", "3",
                       "--run-dir", run_dir, "--checkpoint-every", "2", "--quiet")
    assert code == 0, err
    run = osig.open_run(run_dir)
    assert run.config.model == "usermods.nets:make" and run.classes == ["low", "mid", "high"] and run.n == 90
    net = run.model()  # rebuilt by the same factory from the run's config
    assert isinstance(net, torch.nn.Module) and net[-1].out_features == 3
    assert run.status()[0] == "finished"


def test_torch_optimizer_by_name_with_extra_arguments(mods, cli):
    run_dir = mods / "adamw"
    code, _, err = cli("run", "--optim", "torch:AdamW", "--opt-args", '{"weight_decay": 0.1}', "--lr", "0.01",
                       "--model", "usermods.nets:bare", "--n", "60", "--steps", "2", "--sharpness-every", "1",
                       "--run-dir", run_dir, "--quiet")
    assert code == 0, err
    run = osig.open_run(run_dir)
    m = run.metrics()
    np.testing.assert_allclose(m["threshold"], 38.0 / 0.01)  # AdamW: (2 + 2 beta1) / ((1 - beta1) lr)
    assert np.isfinite(m["precond_sharpness"][1])
    from osig_core.components.build import build_optimizer
    opt = build_optimizer(run.config, run.model())
    assert isinstance(opt, torch.optim.AdamW) and opt.param_groups[0]["weight_decay"] == 0.1


def test_entry_points_of_an_installed_package(installed, cli, tmp_path):
    code, out, _ = cli("list")
    assert code == 0
    for name in ("tiny-mlp", "two-blobs", "lion", "tinyplug 0.1"):
        assert name in out
    run_dir = tmp_path / "ep"
    code, _, err = cli("run", "--model", "tiny-mlp", "--data", "two-blobs", "--optim", "lion",
                       "--opt-args", '{"momentum": 0.5}', "--steps", "3", "--sharpness-every", "1",
                       "--run-dir", run_dir, "--quiet")
    assert code == 0, err
    m = osig.open_run(run_dir).metrics()
    np.testing.assert_allclose(m["threshold"], (2 + 2 * 0.5) / 0.05)  # an SGD class: the heavy-ball bound
    import os
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['osig', 'run', '--help']\n"
                          "from osig_tui.cli import main\nmain()"], capture_output=True, text=True, env=env)
    assert "Installed plugins: broken-net, tiny-mlp." in " ".join(res.stdout.replace("│", " ").split()), res.stderr


@pytest.mark.parametrize("flags, match", [
    (["--model", "usermods.nope:make"], "cannot be imported"),
    (["--model", "usermods.nets:missing"], "has no 'missing'"),
    (["--model", "usermods.nets:not_a_model"], "not a torch.nn.Module"),
    (["--data", "usermods.nets:wrong_data"], "returned int"),
    (["--optim", "torch:Nope"], "torch.optim has no optimizer 'Nope'"),
    (["--optim", "torch:SGD", "--opt-args", "{weight"], "must be a JSON object"),
    (["--optim", "torch:SGD", "--opt-args", '{"betas": [0.9, 0.99]}'], "SGD takes no argument 'betas'"),
    (["--model", "broken-net"], "entry point 'broken-net'"),
])
def test_bad_plugins_are_one_sentence_and_write_nothing(mods, installed, cli, flags, match):
    run_dir = mods / "bad"
    code, out, err = cli("run", *flags, "--steps", "1", "--n", "40", "--run-dir", run_dir, "--quiet")
    assert code == 2 and match in err and "Traceback" not in err and len(err.strip().splitlines()) <= 3, err
    assert not run_dir.exists()


def test_listing_and_help_do_not_import_torch():
    code = ("import sys; sys.argv = ['osig'] + sys.argv[1:]\n"
            "from osig_tui.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    for args in (["list"], ["--help"], ["run", "--help"]):
        res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        assert res.returncode == 0, (args, res.stderr[-400:])


def test_opt_args_round_trip_through_toml(tmp_path):
    from osig_core.config.run_config import RunConfig, read_toml
    (tmp_path / "c.toml").write_text('optim = "torch:AdamW"\n[opt_args]\nweight_decay = 0.1\n')
    cfg = RunConfig.from_dict(read_toml(tmp_path / "c.toml")).validate()
    assert json.loads(cfg.opt_args) == {"weight_decay": 0.1}
