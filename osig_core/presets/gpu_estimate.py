"""How long a paper-scale preset should take on one GPU: an ESTIMATE from FLOPs, not a measurement.

Training FLOPs per 32×32 image (forward + backward, full width) were counted once with
torch.utils.flop_counter.FlopCounterMode on osig's own models (a test recounts them). A run's work is
its gradient steps, its sharpness estimates (Lanczos: HVPS_PER_ESTIMATE Hessian-vector products on
the sharpness subset, each about twice a gradient) and its test evaluations (a forward, a third of a
step). The total is divided by an assumed sustained throughput, plus an assumed floor per step; real runs also spend time on data
movement, per-sample recording and checkpoints, so treat the figure as a lower-end guide.
No torch here: `osig presets` prints it without loading the engine.
"""
from __future__ import annotations

from typing import Any

TRAIN_FLOPS_PER_IMAGE = {"resnet18": 3.329e9, "vgg11": 0.9131e9, "vgg11-bn": 0.9131e9}  # width 1, 32×32×3
ASSUMED_TFLOPS = 50.0  # sustained fp32/TF32 throughput of one A100/H100-class GPU on these small convnets
HVPS_PER_ESTIMATE = 30  # a warm-started Lanczos usually converges in 20–40 products
STEP_OVERHEAD_S = 0.01  # assumed floor per optimizer step (kernel launches, recording): small batches are not FLOP-bound


def training_flops(cfg: dict[str, Any]) -> float | None:
    """FLOPs of a run of these RunConfig overrides; None for a model without a counted cost."""
    per_image = TRAIN_FLOPS_PER_IMAGE.get(str(cfg.get("model")))
    if per_image is None:
        return None
    per_image *= float(cfg.get("width") or 1.0) ** 2  # conv cost scales with channels²
    n, steps = int(cfg.get("n") or 50000), int(cfg.get("steps") or 0)
    full_batch = cfg.get("optim", "gd") == "gd" or not cfg.get("batch_size")
    batch = n if full_batch else int(cfg["batch_size"])
    total = steps * batch * per_image
    if not full_batch:  # minibatch runs record the tracked samples' losses with an extra forward
        tracked = int(cfg.get("track") or n)
        total += steps / max(1, int(cfg.get("track_every") or 1)) * tracked * per_image / 3
    every = int(cfg.get("sharpness_every") or 0)
    if every:
        subset = min(n, int(cfg.get("sharpness_subset") or n))
        total += steps / every * HVPS_PER_ESTIMATE * 2 * subset * per_image
    ev = int(cfg.get("eval_every") or 0)
    if ev:
        total += steps / ev * int(cfg.get("n_test") or 10000) * per_image / 3
    return total


def gpu_seconds(cfg: dict[str, Any], tflops: float = ASSUMED_TFLOPS) -> float | None:
    flops = training_flops(cfg)
    if flops is None:
        return None
    return flops / (tflops * 1e12) + int(cfg.get("steps") or 0) * STEP_OVERHEAD_S


def describe(seconds: float) -> str:
    """'≈ 2.3 h' / '≈ 40 min' (always labelled an estimate by the caller)."""
    return f"≈ {seconds / 3600:.1f} h" if seconds >= 5400 else f"≈ {max(1, round(seconds / 60))} min"
