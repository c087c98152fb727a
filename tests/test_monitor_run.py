"""A monitored run as a run directory: watch's controls reach the user's loop, resume continues it,
bad input writes nothing, and every reading command (and the app) works on it."""
from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
import torch
from torch import nn

import osig_core as osig
from osig_core.config.run_config import ConfigError
from osig_core.store.reader import RunReader


class Net(nn.Module):
    def __init__(self, d_in, classes, hidden=32):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(d_in, hidden), nn.Tanh())
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.head(self.body(x))


def small(n=40):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, generator=g)
    return x, (x[:, 0] > 0).long()


def sgd_steps(mon, model, opt, x, y, k):
    for _ in range(k):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        mon.step()


@pytest.fixture(scope="module")
def pairs_run(tmp_path_factory):
    """Full-batch GD on osig's synthetic images (planted opposing signals) in the user's own loop."""
    from osig_core.components.registry import DATASETS
    d = DATASETS["synthetic"](osig.RunConfig(n=300, n_test=10), None)
    torch.manual_seed(0)
    model = Net(d.x[0].numel(), len(d.classes), 64)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    run_dir = tmp_path_factory.mktemp("mon") / "pairs"
    with osig.Monitor(run_dir, model, opt, data=(d.x, d.y), classes=d.classes, sharpness_every=20,
                      sharpness_subset=100, checkpoint_every=40) as mon:
        for _ in range(60):
            per = nn.functional.cross_entropy(model(d.x), d.y, reduction="none")
            opt.zero_grad()
            per.mean().backward()
            opt.step()
            mon.step(losses=per, ids=torch.arange(d.n))
    return run_dir


def test_the_app_opens_the_run_and_shows_the_pairs(pairs_run):
    from fixtures.tui_pilot import ready
    from osig_tui.app import WatchApp
    from osig_tui.widgets.charts import SharpnessChart
    from osig_tui.widgets.pairs import PairsTable
    run = osig.open_run(pairs_run)
    assert run.pairs_at(), "the planted opposing signals give pairs"
    app = WatchApp(pairs_run, image_mode="halfcell")

    async def main():
        async with app.run_test(size=(110, 32)) as pilot:
            await ready(pilot)
            table = pilot.app.screen.query_one(PairsTable)
            assert table.row_count == len(run.pairs_at()) > 0
            assert "2/η = 10" in str(pilot.app.screen.query_one(SharpnessChart).border_title)
    asyncio.run(main())


def test_reading_commands_work_on_a_monitored_run(pairs_run, cli, tmp_path):
    code, out, err = cli("show", pairs_run)
    assert code == 0 and "custom:Net" in out and "torch:SGD" in out, err
    code, out, _ = cli("ls", pairs_run.parent)
    assert code == 0 and "pairs" in out
    code, out, _ = cli("groups", pairs_run)
    assert code == 0 and "opposing pairs" in out
    code, _, err = cli("export", pairs_run, tmp_path / "m.npz", "--losses")
    assert code == 0, err
    assert np.load(tmp_path / "m.npz", allow_pickle=False)["losses"].shape == (60, 300)
    code, _, err = cli("run", "--resume", pairs_run)
    assert code == 2 and "osig.Monitor" in err and "Traceback" not in err


def test_stop_from_watch_raises_in_step_and_saves_the_run(tmp_path):
    x, y = small()
    model = Net(6, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with osig.Monitor(tmp_path / "s", model, opt, data=(x, y), sharpness_every=0) as mon:
        sgd_steps(mon, model, opt, x, y, 2)
        RunReader(tmp_path / "s").send_control("checkpoint")
        RunReader(tmp_path / "s").send_control("stop")
        with pytest.raises(osig.StopTraining):
            sgd_steps(mon, model, opt, x, y, 1)
        raise osig.StopTraining("the loop lets it through")  # `with` ends cleanly on it
    run = osig.open_run(tmp_path / "s")
    assert run.status()[0] == "stopped" and run.steps_done() == 3
    assert [s for s, _ in run.checkpoints()] == [3]


def test_pause_from_watch_blocks_in_step_until_resumed(tmp_path):
    x, y = small()
    model = Net(6, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mon = osig.Monitor(tmp_path / "p", model, opt, data=(x, y), sharpness_every=0)
    RunReader(tmp_path / "p").send_control("pause")
    seen = []

    def resume_when_paused():
        reader = RunReader(tmp_path / "p")
        while reader.meta().get("status") != "paused":  # generous: until the monitor reports it
            threading.Event().wait(0.02)
        seen.append("paused")
        reader.send_control("resume")

    helper = threading.Thread(target=resume_when_paused)
    helper.start()
    sgd_steps(mon, model, opt, x, y, 1)  # blocks in step() until the helper resumes it
    helper.join()
    sgd_steps(mon, model, opt, x, y, 1)
    mon.close()
    run = osig.open_run(tmp_path / "p")
    kinds = [e["kind"] for e in run.events()]
    assert seen == ["paused"] and "pause" in kinds and "resume" in kinds and run.steps_done() == 2


def test_resume_continues_the_run_from_a_checkpoint(tmp_path):
    x, y = small()
    torch.manual_seed(0)
    model = Net(6, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with osig.Monitor(tmp_path / "r", model, opt, data=(x, y), sharpness_every=0, checkpoint_every=4) as mon:
        sgd_steps(mon, model, opt, x, y, 6)  # checkpoints at 4 and (closing) 6
    fresh = Net(6, 2)
    fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    start = osig.Monitor.restore(tmp_path / "r", fresh, fresh_opt, step=5)
    assert start == 4
    with osig.Monitor(tmp_path / "r", fresh, fresh_opt, data=(x, y), sharpness_every=0, resume=start) as mon:
        assert mon.step_index == 4
        sgd_steps(mon, fresh, fresh_opt, x, y, 4)
    run = osig.open_run(tmp_path / "r")
    assert run.metrics()["step"].tolist() == list(range(8)) and run.status()[0] == "finished"
    with pytest.raises(ConfigError, match="same data"):
        osig.Monitor(tmp_path / "r", fresh, fresh_opt, data=small(30), resume=True)
    with pytest.raises(ConfigError, match="already holds a run"):
        osig.Monitor(tmp_path / "r", fresh, fresh_opt, data=(x, y))


def _scalar_loss(out, y):
    return nn.functional.cross_entropy(out, y)


@pytest.mark.parametrize("case, match", [
    ("not_module", "must be a torch.nn.Module"),
    ("lengths", "lengths must agree"),
    ("labels", "out of range for the model's 2 outputs"),
    ("scalar_loss", "one value per sample"),
    ("loss_name", "unknown loss"),
    ("optimizer", "torch.optim.Optimizer"),
    ("negative", "sharpness_every must be"),
])
def test_bad_input_is_one_sentence_and_writes_nothing(tmp_path, case, match):
    x, y = small()
    model = Net(6, 2)
    kwargs = dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), data=(x, y))
    if case == "not_module":
        kwargs["model"] = lambda t: t
    elif case == "lengths":
        kwargs["data"] = (x, y[:-1])
    elif case == "labels":
        kwargs["data"] = (x, y + 1)
    elif case == "scalar_loss":
        kwargs["loss"] = _scalar_loss
    elif case == "loss_name":
        kwargs["loss"] = "hinge"
    elif case == "optimizer":
        kwargs["optimizer"] = "sgd"
    elif case == "negative":
        kwargs["sharpness_every"] = -1
    with pytest.raises(ConfigError, match=match) as err:
        osig.Monitor(tmp_path / "bad", **kwargs)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "bad").exists()


def test_a_callable_loss_and_a_torch_dataset(tmp_path):
    """A per-sample loss of the user's own (label-smoothed CE) on a torch Dataset; losses match it."""
    x, y = small()
    ds = torch.utils.data.TensorDataset(x, y)
    model = Net(6, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def smooth(out, target):
        return nn.functional.cross_entropy(out, target, reduction="none", label_smoothing=0.1)

    with osig.Monitor(tmp_path / "c", model, opt, data=ds, loss=smooth, sharpness_every=1) as mon:
        sgd_steps(mon, model, opt, x, y, 1)
    run = osig.open_run(tmp_path / "c")
    with torch.no_grad():
        ref = smooth(model(x), y).numpy().astype(np.float16).astype(np.float32)
    np.testing.assert_allclose(np.asarray(run.losses()[0], dtype=np.float32), ref, atol=1e-6)
    assert np.isfinite(run.metrics()["sharpness"][0]) and run.config_doc["loss"].startswith("custom:")
