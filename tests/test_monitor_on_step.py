"""`osig.Monitor(..., on_step=callback)`: a tracker gets every recorded step's measurements, equal to
what the run holds, after the step is in the run; a failing tracker stops the loop loudly."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import osig_core as osig
from osig_core.config.run_config import ConfigError


def _setup(seed=0, n=48):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.3).long()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 10), nn.Tanh(), nn.Linear(10, 3))
    return model, torch.optim.SGD(model.parameters(), lr=0.2), x, y


def _train(mon, model, opt, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        mon.step()


def test_the_callback_sees_every_step_as_the_run_records_it(tmp_path):
    model, opt, x, y = _setup()
    seen, in_run = [], []

    def tracker(m):
        seen.append(m)
        in_run.append(osig.open_run(tmp_path / "r").last_step())  # the step is already in the run

    with osig.Monitor(tmp_path / "r", model, opt, (x, y), sharpness_every=3, checkpoint_every=0,
                      on_step=tracker) as mon:
        _train(mon, model, opt, x, y, 7)
    assert [m["step"] for m in seen] == list(range(7)) and in_run == list(range(7))
    run = osig.open_run(tmp_path / "r")
    metrics = run.metrics()
    for i, m in enumerate(seen):
        recorded = {k: metrics[k][i] for k in metrics if k not in ("step", "time") and not math.isnan(metrics[k][i])}
        assert {k: m[k] for k in recorded} == pytest.approx(recorded), i
        assert m["threshold"] == pytest.approx(2 / 0.2)  # 2/η for plain SGD, every step
    layers = dict(run.records("layer_curvature"))
    for m in seen:
        has_sharpness = m["step"] % 3 == 0
        assert ("sharpness" in m) == has_sharpness and ("band_lower" in m) == has_sharpness
        if has_sharpness:
            assert m["band_lower"] == m["sharpness"]
            assert m["band_upper"] == pytest.approx(m.get("sharpness_upper", m["sharpness"] + m["eig_bound"]))
            shares = {k[len("layer_share/"):]: v for k, v in m.items() if k.startswith("layer_share/")}
            assert shares == pytest.approx(layers[m["step"]]["modules"]) and sum(shares.values()) == pytest.approx(1)
        if m["step"] > 0:
            assert 0 <= m["frac_up"] <= 1 and "train_loss" in m and "train_acc" in m
    assert all(isinstance(v, float) for m in seen for k, v in m.items() if k != "step")


def test_a_failing_callback_stops_the_loop_with_its_own_error(tmp_path):
    model, opt, x, y = _setup()

    def tracker(m):
        if m["step"] == 2:
            raise RuntimeError("tracker offline")

    with pytest.raises(RuntimeError, match="tracker offline") as info:
        with osig.Monitor(tmp_path / "r", model, opt, (x, y), sharpness_every=0, on_step=tracker) as mon:
            _train(mon, model, opt, x, y, 5)
    if hasattr(info.value, "__notes__"):
        assert "on_step callback at step 2" in info.value.__notes__[0]
    run = osig.open_run(tmp_path / "r")
    status, reason = run.status()
    assert run.steps_done() == 3 and status == "failed" and "tracker offline" in reason  # step 2 was recorded


def test_a_callback_that_is_not_callable_is_refused_before_anything_is_written(tmp_path):
    model, opt, x, y = _setup()
    with pytest.raises(ConfigError, match="on_step must be a function"):
        osig.Monitor(tmp_path / "r", model, opt, (x, y), on_step="print")
    assert not (tmp_path / "r").exists()


def test_the_lightning_callback_passes_on_step_through(tmp_path):
    L = pytest.importorskip("lightning.pytorch", reason='pip install "osig[lightning]"')
    x, y = _setup()[2:]

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(6, 3)

        def forward(self, v):
            return self.net(v)

        def training_step(self, batch, batch_idx):
            return nn.functional.cross_entropy(self(batch[0]), batch[1])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    seen = []
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    cb = osig.integrations.lightning.OsigCallback(tmp_path / "lit", data=(x, y), sharpness_every=0,
                                                  on_step=lambda m: seen.append(m["step"]))
    L.Trainer(max_steps=4, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, callbacks=[cb]).fit(Module(), loader)
    assert seen == [0, 1, 2, 3] == list(np.asarray(osig.open_run(tmp_path / "lit").metrics()["step"]))


def test_the_trackers_example_logs_live_what_the_export_writes_later(tmp_path, cli):
    """examples/trackers.py forwards on_step to a TensorBoard SummaryWriter; exporting the finished
    run beside it gives the same charts with the same values."""
    pytest.importorskip("tensorboard", reason='pip install "osig[tensorboard]"')
    import importlib.util
    from pathlib import Path

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    spec = importlib.util.spec_from_file_location("trackers_example", Path(__file__).parents[1] / "examples" / "trackers.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.main(["--steps", "12", "--out", str(tmp_path / "mine"), "--tb", str(tmp_path / "tb")])
    assert cli("export", tmp_path / "mine", "--tensorboard", tmp_path / "tb", "--tb-outliers", "0")[0] == 0
    live, exported = (EventAccumulator(str(tmp_path / "tb" / d)) for d in ("mine-live", "mine"))
    live.Reload()
    exported.Reload()
    tags = live.Tags()["scalars"]
    assert set(tags) == set(exported.Tags()["scalars"]) and {"sharpness/sharpness", "sharpness/band_upper",
                                                             "loss/train_loss", "groups/frac_up"} <= set(tags)
    for tag in tags:
        assert [(e.step, e.value) for e in live.Scalars(tag)] == [(e.step, e.value) for e in exported.Scalars(tag)], tag
