"""Every built-in model, dataset and optimizer trains for a couple of steps through the engine."""
from __future__ import annotations

import numpy as np
import pytest

import osig_core as osig
from osig_core.components.registry import BUILTIN_DATASETS, BUILTIN_MODELS, BUILTIN_OPTIMIZERS

MODEL_DATA = {"mlp": "synthetic", "cnn": "synthetic", "vgg11": "synthetic", "vgg11-bn": "synthetic",
              "resnet18": "synthetic", "vit": "synthetic", "gpt": "text", "linear2": "toy-linear"}


def test_the_tables_cover_every_builtin_name():
    """(The built-in tables: the live ones also hold whatever plugins earlier tests resolved.)"""
    assert set(MODEL_DATA) == set(BUILTIN_MODELS)
    assert {"synthetic", "cifar10", "fashion-mnist", "npz", "chebyshev", "toy-linear", "text"} == set(BUILTIN_DATASETS)
    assert {"gd", "sgd", "adam", "signsgd", "splitsgd"} == set(BUILTIN_OPTIMIZERS)


@pytest.mark.parametrize("model", sorted(MODEL_DATA))
def test_each_model_takes_gd_steps(tmp_path, model):
    cfg = osig.RunConfig(model=model, data=MODEL_DATA[model], width=0.05, n=48, n_test=16, steps=2, lr=0.01,
                         eval_every=1, checkpoint_every=0, groups=False)
    run = osig.train(cfg, tmp_path / model)
    assert run.status()[0] == "finished"
    assert np.isfinite(np.asarray(run.losses(), np.float32)).all() and run.losses().shape == (2, 48)


@pytest.mark.parametrize("optim", sorted(BUILTIN_OPTIMIZERS))
def test_each_optimizer_takes_steps(tmp_path, optim):
    cfg = osig.RunConfig(model="mlp", width=0.05, n=64, steps=3, optim=optim, lr=0.01, momentum=0.5,
                         dampening=0.5 if optim != "adam" else 0.0, checkpoint_every=0, eval_every=0)
    run = osig.train(cfg, tmp_path / optim)
    m = run.metrics()
    assert np.isfinite(m["train_loss"]).all() and len(m["step"]) == 3
    if optim == "splitsgd":
        assert np.isfinite(m["signed_fraction"]).all()


@pytest.mark.parametrize("data", ["chebyshev", "fashion-mnist", "text"])
def test_other_datasets_run(tmp_path, data):
    if data == "fashion-mnist":
        from pathlib import Path
        if not Path("/usr/share/datasets/fashion-mnist").is_dir():
            pytest.skip("Debian's dataset-fashion-mnist is not installed")
    model = "gpt" if data == "text" else "mlp"
    cfg = osig.RunConfig(model=model, data=data, width=0.05, n=60, n_test=20, steps=2, checkpoint_every=0)
    run = osig.train(cfg, tmp_path / data)
    assert run.losses().shape == (2, 60)


def test_bf16_precision_tracks_fp32(tmp_path):
    base = osig.RunConfig(model="mlp", width=0.1, n=100, steps=4, checkpoint_every=0, eval_every=0, groups=False)
    a = osig.train(base, tmp_path / "fp32").metrics()["train_loss"]
    b = osig.train(base.replace(precision="bf16"), tmp_path / "bf16").metrics()["train_loss"]
    np.testing.assert_allclose(a, b, rtol=0.03)
