"""Your own model, data, optimizer and loop, watched by osig (about 10 s on a 2-core CPU).

    python examples/own_loop.py                      # writes runs/own-loop
    osig watch runs/own-loop                         # live (from another terminal, or over SSH), or after

Nothing here comes from osig's registries: the network is defined below, the data is read from
the Fashion-MNIST files, the optimizer is AdamW with a cosine learning-rate schedule. osig only
watches: `mon.step()` once per step records every tracked sample's loss, the opposing pairs, the
sharpness (preconditioned for AdamW) against its threshold 38/lr as the schedule lowers lr.
"""
from __future__ import annotations

import argparse
import gzip
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

import osig_core as osig

DATA = Path("/usr/share/datasets/fashion-mnist")  # apt install dataset-fashion-mnist
CLASSES = ["T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]


def read_fashion_mnist(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    with gzip.open(DATA / "train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
    with gzip.open(DATA / "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    x = torch.from_numpy(x.astype(np.float32) / 255.0)
    return (x - 0.286) / 0.353, torch.from_numpy(y.astype(np.int64))


class SmallCNN(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
            nn.Linear(32 * 7 * 7, 64), nn.ReLU())
        self.head = nn.Linear(64, classes)

    def forward(self, x):
        return self.head(self.features(x))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default="runs/own-loop")
    ap.add_argument("--n", type=int, default=10000, help="training samples")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    a = ap.parse_args()

    torch.manual_seed(0)
    x, y = read_fashion_mnist(a.n)
    model = SmallCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    start = 0
    if a.resume:  # the loop's own restart: weights and optimizer state from osig's checkpoint
        start = osig.Monitor.restore(a.run_dir, model, opt)
    cosine = lambda s: 0.5 * (1 + math.cos(math.pi * min(s, a.steps) / a.steps))  # noqa: E731
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine, last_epoch=start - 1)  # lr at step `start`
    gen = torch.Generator().manual_seed(1)

    with osig.Monitor(a.run_dir, model, opt, data=(x, y), classes=CLASSES, steps=a.steps,
                      track=500,               # every step: the losses of a fixed class-balanced 500
                      sharpness_every=20, sharpness_subset=256, checkpoint_every=100,
                      resume=start if a.resume else False, force=not a.resume) as mon:
        for step in range(start, a.steps):
            idx = torch.randint(0, len(x), (128,), generator=gen)
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            mon.step()  # raises osig.StopTraining when stopped from `osig watch`; `with` ends cleanly
            if step % 50 == 0:
                print(f"step {step}: minibatch loss {loss.item():.3f}, lr {sched.get_last_lr()[0]:.2e}")
    run = osig.open_run(a.run_dir)
    print(f"recorded {run.steps_done()} steps in {a.run_dir}; try: osig watch {a.run_dir}  |  osig groups {a.run_dir}")


if __name__ == "__main__":
    main()
