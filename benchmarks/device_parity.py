"""Does a run give the same numbers on another device, precision or compiler? Shared by
benchmarks/gpu_check.py (which prints the numbers) and tests/test_gpu.py (which asserts on them).

Every check trains through the engine itself (Engine, start_fresh / start_resume, run), on a tiny
job, and compares what the engine computed: the float32 per-sample losses of each step (captured
before the store rounds them to float16), the stored train_loss and sharpness. Each function takes
device names, so the same code runs CPU-against-CPU on a machine without CUDA (the harness) and
CPU-against-CUDA on a GPU (the check).
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

import osig_core as osig
from osig_core.engine.training import Engine, _start
from osig_core.store.run_dirs import prepare_run_dir

# a tiny full-batch GD job: sharpness every 2 steps, recording every step, chunks smaller than n
TINY = dict(model="mlp", width=0.1, n=96, n_test=32, steps=4, lr=0.05, chunk_size=32, eval_every=0,
            checkpoint_every=0, groups=False, sharpness_every=2)


def has_cuda() -> bool:
    return torch.cuda.is_available()


def tiny_config(**changes) -> osig.RunConfig:
    return osig.RunConfig(**{**TINY, **changes}).validate()


@contextmanager
def ieee_fp32():
    """TF32 off for matmuls and cuDNN convolutions, so CUDA float32 is the CPU's float32 (cuDNN
    uses TF32 for convolutions by default, which alone differs from the CPU by ~1e-3)."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _capture_rows(engine: Engine) -> list[np.ndarray]:
    """The float32 per-sample loss row of every recorded step, as the engine handed it to the recorder."""
    rows: list[np.ndarray] = []
    record = engine.recorder.record

    def capture(step, res):
        rows.append(res.losses.detach().float().cpu().numpy().copy())
        return record(step, res)

    engine.recorder.record = capture
    return rows


def train(cfg: osig.RunConfig, run_dir: Path) -> tuple[osig.Run, np.ndarray]:
    """A fresh run through the engine (as osig.train does) -> (the run, float32 loss rows [T, N])."""
    cfg = cfg.validate()
    run_dir = Path(run_dir)
    prepare_run_dir(run_dir, force=False)
    engine = Engine(cfg, run_dir)
    rows = _capture_rows(engine)
    _start(engine, engine.start_fresh)
    status = engine.run()
    if status != "finished":
        raise RuntimeError(f"the run in {run_dir} ended {status}")
    return osig.open_run(run_dir), np.stack(rows)


def resume_on(run_dir: Path, device: str, steps: int) -> tuple[osig.Run, np.ndarray]:
    """Continue a run from its newest checkpoint on `device` (as osig.resume does, with the device
    replaced: a run written with --device cuda resumes on the CPU and vice versa)."""
    reader = osig.open_run(run_dir)
    cfg = reader.config.replace(device=device, steps=steps).validate()
    reader.close()
    engine = Engine(cfg, Path(run_dir))
    rows = _capture_rows(engine)
    _start(engine, engine.start_resume)
    status = engine.run()
    if status != "finished":
        raise RuntimeError(f"the resumed run in {run_dir} ended {status}")
    return osig.open_run(run_dir), np.stack(rows)


def max_rel(a, b, floor: float = 1e-6) -> float:
    """max |a - b| / max(|b|, floor) over all entries (NaN where the shapes differ)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("nan")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor))) if a.size else 0.0


def _sharpness(run: osig.Run) -> np.ndarray:
    s = np.asarray(run.metrics().get("sharpness", []), np.float64)
    return s[np.isfinite(s)]


# ---------------------------------------------------------------------- the checks
def fp32_parity(root: Path, device_a: str = "cpu", device_b: str = "cuda", **changes) -> dict:
    """The same fp32 run on two devices: per-sample losses (goal: 1e-4 relative) and sharpness
    (goal: 1e-3 relative) of every step."""
    root = Path(root)
    with ieee_fp32():
        run_a, rows_a = train(tiny_config(device=device_a, **changes), root / f"fp32-a-{device_a}")
        run_b, rows_b = train(tiny_config(device=device_b, **changes), root / f"fp32-b-{device_b}")
    sa, sb = _sharpness(run_a), _sharpness(run_b)
    return {"loss_rel": max_rel(rows_b, rows_a), "sharpness_rel": max_rel(sb, sa),
            "estimates": int(min(len(sa), len(sb))), "steps": int(len(rows_a))}


def bf16_tracks_fp32(root: Path, device: str = "cuda", **changes) -> dict:
    """train_loss of a bf16 run against the same run in fp32 (goal: within 2% at every step)."""
    root = Path(root)
    base = tiny_config(device=device, sharpness_every=0, **changes)
    a = train(base, root / f"fp32-{device}")[0].metrics()["train_loss"]
    b = train(base.replace(precision="bf16"), root / f"bf16-{device}")[0].metrics()["train_loss"]
    return {"loss_rel": max_rel(b, a), "steps": int(len(a))}


def compile_matches_eager(root: Path, device: str = "cuda", **changes) -> dict:
    """Per-sample losses of a --compile run against eager (goal: 1e-4 relative: the same losses
    up to the reordering of float sums a fused kernel may do)."""
    root = Path(root)
    base = tiny_config(device=device, sharpness_every=0, **changes)
    with ieee_fp32():
        rows_e = train(base, root / f"eager-{device}")[1]
        rows_c = train(base.replace(compile=True), root / f"compiled-{device}")[1]
    return {"loss_rel": max_rel(rows_c, rows_e), "steps": int(len(rows_e))}


def resume_across(root: Path, write: str = "cuda", resume: str = "cpu", **changes) -> dict:
    """A run checkpointed on `write` and resumed on `resume`, against the same run uninterrupted on
    `write`: the resumed steps' per-sample losses (goal: 1e-4 relative, exact when both are the CPU)."""
    root = Path(root)
    cfg = tiny_config(device=write, steps=4, checkpoint_every=2, **changes)
    with ieee_fp32():
        ref_rows = train(cfg.replace(steps=6), root / f"whole-{write}")[1]
        train(cfg, root / f"split-{write}-{resume}")
        run, resumed = resume_on(root / f"split-{write}-{resume}", resume, steps=6)
    steps = np.asarray(run.loss_steps())
    return {"loss_rel": max_rel(resumed, ref_rows[-len(resumed):]), "resumed_steps": int(len(resumed)),
            "stored_steps": int(len(steps)), "status": run.status()[0]}


def step_copies(root: Path, device: str = "cuda", **changes) -> dict | None:
    """Host<->device traffic of one full-batch GD step through the engine (goal: one device->host copy,
    the per-sample loss row, and no other synchronisation). None without CUDA.

    Counted twice: synchronising calls under torch.cuda.set_sync_debug_mode("warn") (each warns),
    and memcpy activities in a torch.profiler trace of the step."""
    if torch.device(device).type != "cuda" or not has_cuda():
        return None
    from torch.profiler import ProfilerActivity, profile
    cfg = tiny_config(device=device, sharpness_every=0, steps=100, groups=True, **changes)
    run_dir = Path(root) / f"copies-{device}"
    prepare_run_dir(run_dir, force=False)
    engine = Engine(cfg, run_dir)
    _start(engine, engine.start_fresh)
    try:
        for _ in range(3):  # warm up: allocator, cuBLAS handles, the recorder's first rows
            engine._one_step()
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                engine._one_step()
            finally:
                torch.cuda.set_sync_debug_mode("default")
        syncs = [str(w.message).splitlines()[0] for w in caught if "synchroniz" in str(w.message).lower()]
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            engine._one_step()
            torch.cuda.synchronize()
        names = [e.name.lower() for e in prof.events()]
    finally:
        engine.writer.close()
    return {"syncs": len(syncs), "sync_messages": syncs[:5],
            "dtoh": sum("memcpy dtoh" in n for n in names), "htod": sum("memcpy htod" in n for n in names),
            "memcpy_calls": sum(n.startswith("cudamemcpy") for n in names)}
