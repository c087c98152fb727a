"""ProbeInstrument: colour-block and user-image probes, penultimate-feature norms."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from curvature_reference import tiny_dataset
from osig_core.config.run_config import RunConfig
from instrument_inputs import probes_for
from osig_core.instruments.inputs import OptimizerView, StepInputs
from osig_core.instruments.probes import PROBE_COLOURS, probe_image

MEAN, STD = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]


class TinyConv(nn.Module):
    def __init__(self, channels=3, bn=False):
        super().__init__()
        self.conv = nn.Conv2d(channels, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4) if bn else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Linear(16, 5)

    def features(self, x):
        return self.pool(torch.relu(self.norm(self.conv(x)))).flatten(1)

    def forward(self, x):
        return self.head(self.features(x))


def image_data(channels=3, n=30):
    torch.manual_seed(0)
    x, y = torch.randn(n, channels, 8, 6), torch.randint(0, 5, (n,))
    return tiny_dataset(x, y, kind="image", meta={"mean": MEAN[:channels], "std": STD[:channels]})


def ctx_for(cfg, model, data) -> StepInputs:
    return StepInputs(step=0, optim=OptimizerView(torch.optim.SGD(model.parameters(), lr=0.1)))


def test_colour_probes_are_normalised_like_the_training_data():
    data = image_data()
    img = probe_image("sky", data)
    assert img.shape == (3, 8, 6)
    expected = [(c - m) / s for c, m, s in zip(PROBE_COLOURS["sky"], MEAN, STD)]
    assert img[:, 3, 2].tolist() == pytest.approx(expected, rel=1e-6)
    grey = probe_image("red", image_data(channels=1))
    assert grey.shape == (1, 8, 6) and float(grey[0, 0, 0]) == pytest.approx((0.299 - MEAN[0]) / STD[0], rel=1e-6)


def test_user_image_is_read_and_resized(tmp_path):
    from PIL import Image
    path = tmp_path / "red.png"
    Image.new("RGB", (20, 10), (255, 0, 0)).save(path)
    img = probe_image(str(path), image_data())
    assert img.shape == (3, 8, 6)
    assert torch.allclose(img, probe_image("red", image_data()), atol=1e-6)


def test_probe_records_logits_probabilities_and_feature_norms(tmp_path):
    from PIL import Image
    path = tmp_path / "green.jpg"
    Image.new("RGB", (6, 8), (0, 153, 0)).save(path)
    data, model = image_data(), TinyConv()
    cfg = RunConfig(probes=["sky", "black", str(path)], probe_every=5)
    inst = probes_for(cfg, model, data)
    assert inst.due(0, False) and inst.due(10, False) and not inst.due(3, True)
    m = inst.measure(ctx_for(cfg, model, data))
    probes = m.records["probes"]
    assert list(probes) == cfg.probes
    with torch.no_grad():
        for name in cfg.probes:
            x = probe_image(name, data)[None]
            assert probes[name]["logits"] == pytest.approx(model(x)[0].tolist(), rel=1e-5, abs=1e-6)
            assert probes[name]["probs"] == pytest.approx(torch.softmax(model(x)[0], 0).tolist(), rel=1e-5)
            assert probes[name]["feature_norm"] == pytest.approx(float(model.features(x).norm()), rel=1e-5)
        expected = float(model.features(data.x).norm(dim=1).mean())
    assert m.scalars["feature_norm_mean"] == pytest.approx(expected, rel=1e-5)


def test_batchnorm_model_is_left_unchanged():
    data, model = image_data(), TinyConv(bn=True)
    model.train()
    before = {k: t.clone() for k, t in model.state_dict().items()}
    cfg = RunConfig(probes=["white"])
    m = probes_for(cfg, model, data).measure(ctx_for(cfg, model, data))
    assert sum(m.records["probes"]["white"]["probs"]) == pytest.approx(1.0)
    assert model.training
    for k, t in model.state_dict().items():
        assert torch.equal(t, before[k]), k


def test_non_image_data_is_skipped_silently():
    data = tiny_dataset(torch.randn(10, 4), torch.randint(0, 2, (10,)))
    model = nn.Sequential(nn.Linear(4, 2))
    cfg = RunConfig(probes=["sky"])
    inst = probes_for(cfg, model, data)
    assert not inst.due(0, False)
    m = inst.measure(ctx_for(cfg, model, data))
    assert m.scalars == {} and m.records == {}


def test_repeated_probe_flag_records_every_probe(cli, tmp_path):
    """`--probe sky --probe red` must reach the run as two probes, not one probe per letter."""
    import osig_core as osig
    code, _, err = cli("run", "--model", "mlp", "--width", "0.05", "--n", "64", "--n-test", "16", "--steps", "2",
                       "--probe", "sky", "--probe", "red", "--probe-every", "1", "--run-dir", tmp_path / "r", "-q")
    assert code == 0, err
    run = osig.open_run(tmp_path / "r")
    assert run.config.probes == ["sky", "red"]
    assert set(run.records("probes")[-1][1]) == {"sky", "red"}


def test_feature_probe_is_the_planted_signal_as_the_data_carries_it():
    """`feature:sky` on the synthetic data is what separates sky images from the others of their class:
    checked against the data itself (mean of carriers minus mean of non-carriers, per class)."""
    from osig_core.config.run_config import RunConfig
    from osig_core.data import synthetic
    data = synthetic.build(RunConfig(n=3000, n_test=10), None)
    for feature, cls in (("sky", "airplane"), ("grass", "deer")):
        img = probe_image(f"feature:{feature}", data)
        assert img.shape == data.input_shape
        of_class = (data.y == data.classes.index(cls)).numpy()
        has = data.features[feature]
        diff = data.x[of_class & has].mean(0) - data.x[of_class & ~has].mean(0)
        # residual: noise 0.35/sqrt(~100 per side) and the class shape's position, far below the 1.5 signal
        assert float((diff - img).abs().mean()) < 0.1
        assert float(img.abs().max()) == pytest.approx(1.5)


def test_feature_probe_errors_are_one_sentence():
    from osig_core.config.run_config import ConfigError
    from osig_core.data import synthetic
    from osig_core.data.base import DataError
    data = synthetic.build(RunConfig(n=20, n_test=10), None)
    with pytest.raises(DataError, match="no planted feature 'clouds'.*sky"):
        probe_image("feature:clouds", data)
    with pytest.raises(DataError, match="no planted feature 'sky'.*none"):
        probe_image("feature:sky", image_data())
    with pytest.raises(ConfigError, match="names no feature"):
        RunConfig(probes=["feature:"]).validate()


def test_head_scale_shrinks_only_the_output_layer_and_lowers_the_sharpness():
    from osig_core.data import synthetic
    from osig_core.instruments.hvp import LossHessian
    from osig_core.components.build import build_model
    data = synthetic.build(RunConfig(n=200, n_test=10), None)
    base = build_model(RunConfig(model="mlp", width=0.1), data)
    half = build_model(RunConfig(model="mlp", width=0.1, head_scale=0.5), data)
    for (name, a), (_, b) in zip(base.named_parameters(), half.named_parameters()):
        want = 0.5 * a if name == "head.weight" else a
        assert torch.equal(b, want), name
    # the top Hessian eigenvalue (Lanczos, itself checked against the exact Hessian in test_hvp_lanczos) drops
    from osig_core.instruments.lanczos import lanczos_top

    def top_eig(model):
        H = LossHessian(model, data.x, data.y, "ce")
        return lanczos_top(H.hvp, torch.randn(H.dim, generator=torch.Generator().manual_seed(0)), tol=1e-6).eigenvalues[0]
    assert top_eig(half) < 0.6 * top_eig(base)
