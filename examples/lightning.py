"""A Lightning fit watched by osig (pip install "osig[lightning]"; under a minute on a 2-core CPU).

    python examples/lightning.py                     # writes runs/lightning
    osig watch runs/lightning

The LightningModule, its data and its optimizer (SGD with momentum and a step schedule) are the
user's; `OsigCallback` attaches osig.Monitor when training starts and records one step per
optimizer step: every tracked sample's loss, the opposing pairs, sharpness against the heavy-ball
threshold (2 + 2 beta) / lr as the schedule changes lr. Stop from `osig watch` ends the fit cleanly.
"""
from __future__ import annotations

import argparse
import gzip
import os
import sys
from pathlib import Path

# this file is named lightning.py, and Python puts its folder first on sys.path: without this line
# `import lightning` would import this file instead of the Lightning package
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]

import lightning.pytorch as L  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import osig_core as osig  # noqa: E402

DATA = Path("/usr/share/datasets/fashion-mnist")  # apt install dataset-fashion-mnist


def read_fashion_mnist(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    with gzip.open(DATA / "train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
    with gzip.open(DATA / "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    x = torch.from_numpy(x.astype(np.float32) / 255.0)
    return (x - 0.286) / 0.353, torch.from_numpy(y.astype(np.int64))


class Classifier(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
                                 nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(32 * 7 * 7, 10))

    def forward(self, x):  # the outputs the monitor's loss ("ce") takes
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=100, gamma=0.5)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default="runs/lightning")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--steps", type=int, default=200)
    a = ap.parse_args()
    torch.manual_seed(0)
    x, y = read_fashion_mnist(a.n)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=128, shuffle=True)
    callback = osig.integrations.lightning.OsigCallback(
        a.run_dir, data=(x, y), track=500, sharpness_every=20, sharpness_subset=256, force=True)
    trainer = L.Trainer(max_steps=a.steps, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_model_summary=False, callbacks=[callback])
    trainer.fit(Classifier(), loader)
    print(f"recorded {osig.open_run(a.run_dir).steps_done()} steps; try: osig watch {a.run_dir}")


if __name__ == "__main__":
    main()
