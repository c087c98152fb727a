"""Overhead of osig.Monitor on a user's own loop: a ResNet-style CNN on Fashion-MNIST with SGD, CPU.

The same loop (minibatches of 128, SGD momentum 0.9) runs with and without a monitor attached, in
blocks that alternate in one process (so a busy machine slows both alike); the ratio of the
summed loop times is printed per monitor setting:

  record     mon.step(losses=per_sample, ids=idx): the step's own losses, no forward of its own
  track1k    mon.step(): a no-grad forward of a fixed 1,000-sample tracked subset every step
  sharp10    defaults: the step's losses every step + sharpness every 10 steps on 1,000 samples
             (warm-started Lanczos on Hessian-vector products; the cost is the HVPs)
  sharp10_200  as sharp10, sharpness on a 200-sample subset

  floor      no loop: what ONE Hessian-vector product over the 1,000-sample sharpness subset costs in
             SGD steps of 128 (osig's own LossHessian, interleaved medians) — the least any
             estimate every 10 steps adds, whatever the estimator

Usage: python benchmarks/bench_monitor.py [--steps 60 --block 10 --n 60000 --only record,sharp10,floor]
"""
from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import osig_core as osig

DATA = Path("/usr/share/datasets/fashion-mnist")


def fashion_mnist(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    with gzip.open(DATA / "train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:n]
    with gzip.open(DATA / "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    x = torch.from_numpy(x.astype(np.float32) / 255.0)
    return (x - 0.286) / 0.353, torch.from_numpy(y.astype(np.int64))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.c2, self.b2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(x + self.b2(self.c2(torch.relu(self.b1(self.c1(x))))))


class SmallResNet(nn.Module):
    """conv 16 stride 2 -> 2 residual blocks -> pool -> conv 32 -> residual block -> global pool -> head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.stage1 = nn.Sequential(Block(16), Block(16), nn.MaxPool2d(2))
        self.stage2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                                    Block(32), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(self.stage2(self.stage1(self.stem(x))))


SETTINGS = {
    "record": dict(kw=dict(sharpness_every=0), give_losses=True),
    "track1k": dict(kw=dict(sharpness_every=0, track=1000), give_losses=False),
    "sharp10": dict(kw=dict(), give_losses=True),
    "sharp10_200": dict(kw=dict(sharpness_subset=200), give_losses=True),
}


class Loop:
    """The user's loop: its own batches from its own generator, SGD with momentum."""

    def __init__(self, x, y, seed=0):
        torch.manual_seed(seed)
        self.x, self.y = x, y
        self.model = SmallResNet()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        self.gen = torch.Generator().manual_seed(seed)
        self.mon = None
        self.give_losses = False
        self.seconds = 0.0
        self.in_monitor = 0.0  # of which inside mon.step()
        self.steps = 0

    def run(self, k: int) -> None:
        start = time.perf_counter()
        for _ in range(k):
            idx = torch.randint(0, len(self.x), (128,), generator=self.gen)
            per = nn.functional.cross_entropy(self.model(self.x[idx]), self.y[idx], reduction="none")
            self.opt.zero_grad()
            per.mean().backward()
            self.opt.step()
            if self.mon is not None:
                t = time.perf_counter()
                if self.give_losses:
                    self.mon.step(losses=per.detach(), ids=idx)
                else:
                    self.mon.step()
                self.in_monitor += time.perf_counter() - t
        self.seconds += time.perf_counter() - start
        self.steps += k


def hvp_floor(x, y, subset: int = 1000, rounds: int = 7) -> None:
    """One SGD step of 128 against one HVP over `subset` samples (the monitor's default sharpness
    subset), on the same model, interleaved; prints the ratio and what it means for `every 10`."""
    import statistics
    from osig_core.instruments.hvp import LossHessian
    loop = Loop(x, y)
    op = LossHessian(loop.model, x[:subset], y[:subset], "ce", chunk_size=1000)
    v = torch.randn(op.dim, generator=torch.Generator().manual_seed(0))
    steps, hvps = [], []
    loop.run(2)  # warm-up
    for _ in range(rounds):
        t = time.perf_counter()
        loop.run(1)
        steps.append(time.perf_counter() - t)
        t = time.perf_counter()
        op.hvp(v)
        hvps.append(time.perf_counter() - t)
    step, hvp = statistics.median(steps), statistics.median(hvps)
    print(f"floor: one SGD step of 128 {1000 * step:.0f} ms, one HVP over {subset} samples ({op.method}) "
          f"{1000 * hvp:.0f} ms = {hvp / step:.1f} steps; one product every 10 steps alone adds "
          f"{100 * hvp / (10 * step):.0f}% to the loop", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60, help="steps per loop (each setting and the plain loop)")
    ap.add_argument("--block", type=int, default=10, help="steps per alternating block")
    ap.add_argument("--n", type=int, default=60000, help="training samples (all of Fashion-MNIST's 60,000)")
    ap.add_argument("--only", default=",".join(SETTINGS), help="comma-separated settings")
    a = ap.parse_args()
    x, y = fashion_mnist(a.n)
    names = [s for s in a.only.split(",") if s and s != "floor"]
    if "floor" in a.only.split(","):
        hvp_floor(x, y)
        if not names:
            return
    print(f"Fashion-MNIST n={len(x)}, SmallResNet ({sum(p.numel() for p in SmallResNet().parameters())} params), "
          f"batch 128, SGD momentum 0.9, {torch.get_num_threads()} threads, {a.steps} steps per loop", flush=True)
    with tempfile.TemporaryDirectory() as root:
        plain = Loop(x, y)
        loops = {}
        for name in names:
            loop = Loop(x, y)
            t0 = time.perf_counter()
            loop.mon = osig.Monitor(Path(root) / name, loop.model, loop.opt, data=(x, y),
                                    checkpoint_every=0, **SETTINGS[name]["kw"])
            loop.give_losses = SETTINGS[name]["give_losses"]
            print(f"  {name}: attaching took {time.perf_counter() - t0:.1f} s (data, thumbnails, checks)", flush=True)
            loops[name] = loop
        plain.run(2)  # warm-up (allocator, kernels), not timed
        plain.seconds, plain.steps = 0.0, 0
        for loop in loops.values():
            loop.run(1)
            loop.seconds, loop.in_monitor, loop.steps = 0.0, 0.0, 0
        done = 0
        while done < a.steps:
            k = min(a.block, a.steps - done)
            plain.run(k)
            for loop in loops.values():
                loop.run(k)
            done += k
        base = plain.seconds / plain.steps
        print(f"plain loop: {1000 * base:.1f} ms/step", flush=True)
        for name, loop in loops.items():
            per = loop.seconds / loop.steps
            own = (loop.seconds - loop.in_monitor) / loop.steps  # the same loop's own part, timed alongside
            print(f"{name:>12}: {1000 * per:7.1f} ms/step  ratio {per / base:5.2f}x vs the plain loop; "
                  f"mon.step() {1000 * loop.in_monitor / loop.steps:6.1f} ms/step = {per / own:5.2f}x its own loop", flush=True)
            loop.mon.close()


if __name__ == "__main__":
    main()
