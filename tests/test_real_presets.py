"""The real-image presets: CIFAR-10 at the paper's size builds on a tiny binary CIFAR file and its whole
chain (runs, reports) works there; Fashion-MNIST's presets run at the tiny size when its files are present."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from osig_core.config.run_config import RunConfig
from osig_core.presets.paper import PRESETS, preset_config, suite_presets

FMNIST = Path("/usr/share/datasets/fashion-mnist")


def write_cifar_bin(root: Path, per_batch: int = 12) -> Path:
    """A tiny CIFAR-10 in the official binary layout (label byte + 3072 pixel bytes a record)."""
    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        labels = (np.arange(per_batch) % 10).astype(np.uint8)
        pixels = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        (folder / name).write_bytes(np.concatenate([labels[:, None], pixels], axis=1).tobytes())
    return root


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    return write_cifar_bin(tmp_path_factory.mktemp("cifar"))


def test_the_real_suites_hold_the_papers_experiments():
    assert suite_presets("fashion-mnist") == ["fm-fig1-gd", "fm-pairs", "fm-fig36-half-up", "fm-fig6-sgd",
                                              "fm-fig6b-optimizers", "fm-appD-layers"]
    assert suite_presets("cifar10") == ["cifar-fig1-resnet18", "cifar-fig1-vgg11", "cifar-fig6-sgd"]
    assert "fm-fig1-gd" not in suite_presets("synthetic")


@pytest.mark.parametrize("name, model, lr, params", [("cifar-fig1-resnet18", "resnet18", 0.05, 11_173_962),
                                                     ("cifar-fig1-vgg11", "vgg11-bn", 0.1, 9_231_114),
                                                     ("cifar-fig6-sgd", "vgg11-bn", 0.05, 9_231_114)])
def test_cifar_presets_at_the_papers_size_build_on_a_tiny_file(cifar_root, name, model, lr, params):
    from osig_core.components.build import build_data, build_model
    cfg = RunConfig.from_dict({**preset_config(name), "data_dir": str(cifar_root)}).validate()
    assert (cfg.model, cfg.width, cfg.n, cfg.lr) == (model, 1.0, 50000, lr)
    data = build_data(cfg)  # all 60 images of the tiny file (the preset asks for 50,000)
    assert data.x.shape == (60, 3, 32, 32) and data.classes[0] == "airplane"
    net = build_model(cfg, data)
    assert sum(p.numel() for p in net.parameters()) == params  # full width


def test_cifar_presets_run_and_report_on_a_tiny_file(cifar_root, tmp_path):
    from osig_core.report.reproduce import reproduce
    out = reproduce(tmp_path, "tiny", in_process=True, suite="cifar10", data_dir=str(cifar_root))
    assert not out.failures, out.failures
    assert set(out.reports) == set(suite_presets("cifar10"))
    for name, rep in out.reports.items():
        assert rep.checks and (tmp_path / name / "report" / "report.md").is_file()
    gd = out.reports["cifar-fig1-resnet18"]
    assert any("non-monotonically" in c.claim for c in gd.checks)
    assert any("pair" in c.claim for c in gd.checks)  # a tiny run may have found none: then n/a


def test_training_flops_per_image_are_recounted():
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from osig_core.data.base import Dataset
    from osig_core.presets.gpu_estimate import TRAIN_FLOPS_PER_IMAGE
    from osig_core.components.registry import MODELS
    data = Dataset(name="t", kind="image", x=torch.zeros(2, 3, 32, 32), y=torch.zeros(2, dtype=torch.long),
                   classes=[str(i) for i in range(10)])
    for name in ("resnet18", "vgg11"):
        net = MODELS[name](data, 1.0)
        with FlopCounterMode(display=False) as fc:
            net(torch.zeros(1, 3, 32, 32)).sum().backward()
        assert fc.get_total_flops() == pytest.approx(TRAIN_FLOPS_PER_IMAGE[name], rel=0.01)


def test_reproduce_says_where_the_real_data_goes(cli, tmp_path):
    code, _, err = cli("reproduce", "--data", "cifar10", "--data-dir", tmp_path / "none", "--root", tmp_path / "r")
    assert code == 2 and "cifar-10-batches-bin" in err and "\n" not in err.strip()
    code, out, _ = cli("presets")
    assert code == 0 and "cifar-fig1-resnet18" in out and "estimated from FLOPs" in " ".join(out.split())


@pytest.mark.skipif(not FMNIST.is_dir(), reason="Fashion-MNIST files not installed (dataset-fashion-mnist)")
def test_fashion_presets_run_and_report_at_the_tiny_size(tmp_path):
    from osig_core.report.reproduce import reproduce
    out = reproduce(tmp_path, "tiny", in_process=True, suite="fashion-mnist")
    assert not out.failures, out.failures
    assert set(out.reports) == set(suite_presets("fashion-mnist"))
    assert all(rep.checks for rep in out.reports.values())
    assert PRESETS["fm-pairs"].suite == "fashion-mnist"


@pytest.mark.skipif(not FMNIST.is_dir(), reason="Fashion-MNIST files not installed (dataset-fashion-mnist)")
def test_cli_real_runs_the_fashion_presets_and_prints_the_claims_table(cli, tmp_path):
    code, out, err = cli("reproduce", "--real", "--scale", "tiny", "--only", "fm-fig1-gd", "--jobs", "1",
                         "--root", tmp_path)
    assert code in (0, 1), err  # 1: a claim failed at this tiny size
    assert "fashion-mnist presets" in err + out and "fm-fig1-gd" in out and "non-monotonically" in " ".join(out.split())
    assert (tmp_path / "fm-fig1-gd" / "report" / "report.md").is_file() and (tmp_path / "summary.md").is_file()
