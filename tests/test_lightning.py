"""The Lightning callback: a tiny LightningModule's fit recorded as an osig run (CI installs the extra)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

L = pytest.importorskip("lightning.pytorch", reason='the Lightning extra is not installed (pip install "osig[lightning]")')

import osig_core as osig  # noqa: E402


class TinyModule(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(5, 12), nn.Tanh(), nn.Linear(12, 3))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def test_a_lightning_fit_is_recorded_with_its_schedule(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 5, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=False)
    cb = osig.integrations.lightning.OsigCallback(tmp_path / "lit", data=(x, y), sharpness_every=4)
    trainer = L.Trainer(max_steps=8, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[cb])
    trainer.fit(TinyModule(), loader)
    run = osig.open_run(tmp_path / "lit")
    m = run.metrics()
    assert m["step"].tolist() == list(range(8)) and run.status()[0] == "finished"
    thr = m["threshold"]  # heavy ball (2 + 2 * 0.9) / lr with the step schedule halving lr every 3 steps
    np.testing.assert_allclose(thr, 3.8 / m["lr"], rtol=1e-12)
    assert len(set(np.round(m["lr"], 12))) >= 2
    assert np.isfinite(m["sharpness"][[0, 4]]).all() and run.checkpoints()[-1][0] == 8
    assert run.config.optim == "torch:SGD"
