"""Upper bounds of every RunConfig setting, checked by RunConfig.validate so that an absurd value is
one sentence naming the bound, not an overflow deep in torch, an allocator error, a step that never
ends or thousands of processes.

Sizes are bounded by an estimate of the memory they need (against this machine's memory), counts by
the number of samples and the model's parameters, `nproc` by the cores or GPUs present, and floats by
what the training dtype (float32, or bfloat16 with the same range) can represent.
"""
from __future__ import annotations

import os
from typing import Callable

# RunConfig's float settings (read as numbers from TOML/JSON, and each within float32's range)
FLOAT_FIELDS = frozenset({"width", "head_scale", "lr", "momentum", "dampening", "beta1", "beta2", "eps", "weight_decay",
                          "lr2", "split_quantile", "label_smoothing", "sharpness_tol", "sharpness_cheap_tol",
                          "sharpness_budget"})
F32_MAX = 3.4028234663852886e38  # largest float32 (bfloat16 has the same exponent range)
F32_TINY = 1.1754943508222875e-38  # smallest normal float32: a positive setting below it rounds towards 0
MAX_STEPS = 10**9
MAX_EVERY = 10**9  # schedules: a period longer than any run just means "never after step 0"
MAX_SIZE = 2**40  # subset sizes: anything at least N means "all samples"
MAX_EIG_K = 64  # Lanczos keeps at most 100 basis vectors (osig_core/instruments/sharpness.py)
MAX_SEED = 2**62
SAMPLE_BYTES = 4 * 3 * 32 * 32 * 4  # a 32x32 RGB float32 sample, with the copies a run keeps of it
DEFAULT_N = 60_000  # samples assumed when --n is unset (all of a dataset)
# parameters of each built-in model at width 1 (synthetic 32x32 RGB data); they grow with width**2
PARAMS_AT_WIDTH_1 = {"mlp": 855_050, "cnn": 545_098, "vgg11": 9_225_610, "vgg11-bn": 9_231_114,
                     "resnet18": 11_173_962, "vit": 545_930, "gpt": 107_433, "linear2": 10_000}
PARAM_BYTES = 4 * 6  # float32 weights, gradient, optimizer state (two for Adam) and curvature work vectors


def memory_bytes() -> int:
    """Physical memory of this machine (a generous fallback where it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def _gib(b: float) -> str:
    return f"{b / 2**30:.3g} GiB"


def check_bounds(cfg, bad: Callable[[str], None]) -> None:
    """Call `bad(sentence)` on the first setting out of bounds (after the basic sign checks)."""
    def flag(name: str) -> str:
        return "--" + name.replace("_", "-")

    for name in sorted(FLOAT_FIELDS):
        v = getattr(cfg, name)
        if v is not None and abs(v) > F32_MAX:
            bad(f"{flag(name)} must be at most {F32_MAX:.4g} in size (the largest float32), got {v:g}")
    for name in ("lr", "lr2", "eps"):
        if 0 < getattr(cfg, name) < F32_TINY:
            bad(f"{flag(name)} must be at least {F32_TINY:.4g} (smaller rounds to 0 in float32), got {getattr(cfg, name):g}")
    if cfg.weight_decay * cfg.lr > F32_MAX:
        bad(f"--weight-decay times --lr must be at most {F32_MAX:.4g} (the largest float32)")
    if cfg.steps > MAX_STEPS:
        bad(f"--steps must be at most {MAX_STEPS}, got {cfg.steps}")
    if not 0 <= cfg.seed <= MAX_SEED:
        bad(f"--seed must be between 0 and {MAX_SEED}, got {cfg.seed}")
    for name in ("track_every", "eval_every", "checkpoint_every", "sharpness_every", "per_sample_every", "probe_every"):
        if getattr(cfg, name) > MAX_EVERY:
            bad(f"{flag(name)} must be at most {MAX_EVERY}, got {getattr(cfg, name)}")
    for name in ("track", "sharpness_subset", "batch_size", "chunk_size"):
        v = getattr(cfg, name)
        if v is not None and v > MAX_SIZE:
            bad(f"{flag(name)} must be at most {MAX_SIZE} (any size at least the number of samples means all), got {v}")
    mem = memory_bytes()
    for name in ("n", "n_test"):
        v = getattr(cfg, name)
        if v is not None and v * SAMPLE_BYTES > mem:
            bad(f"{flag(name)} {v} needs about {_gib(v * SAMPLE_BYTES)} for its samples, more than this machine's "
                f"{_gib(mem)}; use at most {mem // SAMPLE_BYTES}")
    n = cfg.n if cfg.n is not None else DEFAULT_N
    window_bytes = cfg.group_window * n * 8  # float32 loss changes and int32 predictions per window step
    if cfg.group_window > MAX_STEPS or window_bytes > mem // 4:
        bad(f"--group-window {cfg.group_window} needs about {_gib(window_bytes)} for {n} samples, more than a quarter "
            f"of this machine's {_gib(mem)}; use at most {max(2, mem // 4 // (n * 8))}")
    if cfg.outliers_k > max(n, 24):  # 24: the default, which small runs keep (it is clamped to N)
        bad(f"--outliers-k must be at most the number of samples ({max(n, 24)}), got {cfg.outliers_k}")
    if cfg.width is not None:
        base = PARAMS_AT_WIDTH_1.get(cfg.model, 10**6)
        params = base * max(cfg.width, 1.0) ** 2
        if params * PARAM_BYTES > mem:
            largest = (mem / PARAM_BYTES / base) ** 0.5
            bad(f"--width {cfg.width:g} gives the {cfg.model} about {params:.3g} parameters, needing about "
                f"{_gib(params * PARAM_BYTES)}, more than this machine's {_gib(mem)}; use at most {largest:.3g}")
    if cfg.eig_k > MAX_EIG_K:
        bad(f"--eig-k must be at most {MAX_EIG_K} (Lanczos keeps at most 100 vectors), got {cfg.eig_k}")
    if cfg.nproc > 1:
        _check_nproc(cfg, bad)


def _check_nproc(cfg, bad: Callable[[str], None]) -> None:
    """One process per core on a CPU, per GPU on CUDA."""
    if cfg.device.startswith("cuda") or cfg.device == "auto":
        import torch  # only here: a distributed run imports torch anyway
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if gpus and cfg.nproc > gpus:
            bad(f"--nproc must be at most the {gpus} GPUs present, got {cfg.nproc}")
        if gpus:
            return
        if cfg.device.startswith("cuda"):
            return  # resolve_device says no GPU is there
    cores = os.cpu_count() or 1
    if cfg.nproc > cores:
        bad(f"--nproc must be at most the {cores} CPU cores present, got {cfg.nproc}")
