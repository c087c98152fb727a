"""Send osig's measurements to the tracker you already use (about 20 s on a 2-core CPU).

    pip install "osig[tensorboard]"
    python examples/trackers.py                  # the run in runs/trackers, live events in runs/tb/trackers-live
    tensorboard --logdir runs/tb
    python examples/trackers.py --wandb          # also Weights & Biases, offline (`wandb sync` uploads later)

`osig.Monitor(..., on_step=callback)` hands the callback one dict per recorded step: "step", the
run's scalars (train_loss, train_acc, sharpness, threshold, frac_up, opposing_score, ...), the
sharpness band (band_lower, band_upper) and each layer's curvature share (layer_share/NAME).
`tag_for` names them as `osig export RUN --tensorboard DIR` does, so live charts and an export of
the finished run line up. An exception in the callback stops the loop (a tracker that silently
stopped logging would be worse).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

import osig_core as osig
from osig_core.export.step_measurements import tag_for


def blobs(n: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three overlapping Gaussian blobs in 2-D: a loss that keeps moving for a few hundred steps."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centres = torch.tensor([[0.0, 1.0], [-0.9, -0.5], [0.9, -0.5]])
    return centres[y] + 0.6 * torch.randn(n, 2, generator=g), y


def trackers(args) -> tuple[list, list]:
    """The callbacks to feed, and what to close at the end."""
    feeds, closers = [], []
    from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package
    tb = SummaryWriter(str(Path(args.tb) / f"{Path(args.out).name}-live"))
    feeds.append(lambda m: [tb.add_scalar(tag_for(k), v, m["step"]) for k, v in m.items() if k != "step"])
    closers.append(tb.close)
    if args.wandb:
        try:
            import wandb
        except ImportError:
            sys.exit("--wandb needs the wandb package: pip install wandb")
        run = wandb.init(project="osig", name=Path(args.out).name, mode="offline", dir=args.out)
        feeds.append(lambda m: run.log({tag_for(k): v for k, v in m.items() if k != "step"}, step=m["step"]))
        closers.append(run.finish)
    return feeds, closers


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--out", default="runs/trackers", help="the osig run directory (replaced)")
    ap.add_argument("--tb", default="runs/tb", help="TensorBoard log folder")
    ap.add_argument("--wandb", action="store_true", help="also log to W&B in offline mode")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)  # full batch: gradient descent, threshold 2/η = 4
    feeds, closers = trackers(args)
    try:
        with osig.Monitor(args.out, model, opt, data=(x, y), sharpness_every=10, steps=args.steps, force=True,
                          on_step=lambda m: [feed(m) for feed in feeds]) as mon:
            for _ in range(args.steps):
                opt.zero_grad()
                nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
                mon.step()
    finally:
        for close in closers:
            close()
    print(f"run: {args.out}   live TensorBoard events: {Path(args.tb) / (Path(args.out).name + '-live')}\n"
          f"export the finished run beside them: osig export {args.out} --tensorboard {args.tb}")


if __name__ == "__main__":
    main()
