"""Paper-scale full-batch GD through the engine, timed: one model at one precision.

Used by benchmarks/gpu_check.py. Builds the engine's own Engine (data on the device, the run
directory in a scratch folder), then alternates the engine's full step (gradient pass, per-sample
loss row to the host, store write) with a bare step (the same gradient pass without recording,
and the optimizer step), so the recording overhead is a ratio measured in one process. Sharpness is
due every `every` steps: the first estimate is cold (random start, HVP method calibration), later
ones are warm (started from the previous eigenvector), and each instrument's `measure` is timed.
Memory: ResNet-18 at full width saves 17.7 MB of activations per sample in fp32 (8.9 MB in bf16,
VGG-11 10.3 / 5.3 MB; measured on the CPU with saved-tensor hooks), and a Hessian-vector product over a
chunk holds about two to three times the training pass's, so HVPs over chunks of 2,500 fp32 samples
may not fit in 141 GB: the check's default chunk is the engine's 1,000.
"""
from __future__ import annotations

import gc
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

import osig_core as osig
from osig_core.engine.training import Engine, _start
from osig_core.engine.inputs import recorder_settings
from osig_core.instruments.hvp import LossHessian
from osig_core.problem.passes import full_batch_gradient
from osig_core.loop.recording import LossRecorder


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak_gib(device: torch.device) -> float:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")


def _timed(fn, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def flops_per_sample(engine: Engine, samples: int = 64) -> float:
    """Forward + backward FLOPs of one training sample (matmuls and convolutions, torch's counter)."""
    cfg, d = engine.cfg, engine.data
    m = min(samples, d.n)
    with FlopCounterMode(display=False) as counter:
        full_batch_gradient(engine.model, d.x[:m], d.y[:m], loss=engine.loss, label_smoothing=cfg.label_smoothing,
                            chunk_size=m, precision=cfg.precision, record=False)
    engine.optimizer.zero_grad(set_to_none=True)
    return counter.get_total_flops() / m


def time_model(model: str, precision: str, *, device: str, n: int, width: float, chunk: int, every: int,
               subset: int | None, lr: float = 0.01, compile: bool = False, profile_to: Path | None = None,
               channels_last: bool = False) -> dict:
    """-> the timings of one (model, precision) at paper scale (see the module doc).

    channels_last: a probe of a candidate speed-up the engine does not have: the model and the
    training images in NHWC layout (what tensor-core convolutions prefer), set here after the
    engine is built."""
    scratch = Path(tempfile.mkdtemp(prefix="osig-gpu-check-"))
    try:
        return _time_model(model, precision, scratch / "run", device=device, n=n, width=width, chunk=chunk,
                           every=every, subset=subset, lr=lr, compile=compile, profile_to=profile_to,
                           channels_last=channels_last)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        gc.collect()  # the next model starts with this one's memory returned (also after an OOM)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _time_model(model, precision, run_dir, *, device, n, width, chunk, every, subset, lr, compile, profile_to,
                channels_last) -> dict:
    cfg = osig.RunConfig(model=model, width=width, n=n, n_test=100, steps=10**6, lr=lr, chunk_size=chunk,
                         precision=precision, compile=compile, device=device, eval_every=0, checkpoint_every=0,
                         groups=False, sharpness_every=every, sharpness_subset=subset).validate()
    engine = Engine(cfg, run_dir)
    _start(engine, engine.start_fresh)
    dev = engine.device
    timings: dict[str, list[float]] = {}
    for inst in engine.instruments:  # time each instrument's measure (the engine calls the instance attribute)
        def timed_measure(ctx, _inner=inst.measure, _name=inst.name):
            _sync(dev)
            start = time.perf_counter()
            out = _inner(ctx)
            _sync(dev)
            timings.setdefault(_name, []).append(time.perf_counter() - start)
            return out
        inst.measure = timed_measure
    kept: list = []  # host PassResults of the engine's steps, replayed below through a groups recorder
    record = engine.recorder.record

    def keep_and_record(step, res):
        kept.append(res)
        return record(step, res)
    engine.recorder.record = keep_and_record

    if channels_last:
        _to_channels_last(engine)
    d = engine.data

    def engine_step():
        if not engine._one_step():
            raise RuntimeError(f"{model} {precision}: {engine._diverged}")

    def bare_step():
        engine.optimizer.zero_grad(set_to_none=True)
        full_batch_gradient(engine.grads.forward, d.x, d.y, loss=engine.loss, label_smoothing=cfg.label_smoothing,
                            chunk_size=cfg.chunk_size, precision=cfg.precision, record=False)
        engine.optimizer.step()

    try:
        flops = flops_per_sample(engine)
        first = _timed(engine_step, dev)  # step 0: compile/autotune, cold sharpness estimate
        full, bare, sharp_steps, peak_step, peak_sharp = [], [], [], [], []
        for s in range(1, 2 * every + 1 if every else 7):  # every=0: six plain steps, no sharpness
            _reset_peak(dev)
            if every and s % every == 0:
                sharp_steps.append(_timed(engine_step, dev))
                peak_sharp.append(_peak_gib(dev))
                continue
            pair = (engine_step, bare_step) if s % 2 else (bare_step, engine_step)
            for fn in pair:
                (full if fn is engine_step else bare).append(_timed(fn, dev))
            peak_step.append(_peak_gib(dev))
        try:  # a profiler that cannot start (no CUPTI) must not cost the timings above
            profile = _profile_step(engine_step, dev, profile_to) if profile_to is not None else None
        except Exception as e:  # noqa: BLE001
            profile = f"profiler failed: {type(e).__name__}: {e}"
        hvp = _hvp_cost(engine, dev)
        groups_ms = _groups_host_ms(cfg, engine, kept)
    finally:
        engine.writer.close()
    metrics = osig.open_run(run_dir).metrics()
    eig_hvps = [float(h) for h in np.asarray(metrics.get("eig_hvps", []), np.float64) if np.isfinite(h)]
    step_s, bare_s = statistics.median(full), statistics.median(bare)
    sharp = timings.get("sharpness", [])
    return {"model": model, "precision": precision, "n": n, "width": width, "chunk": chunk, "compile": compile,
            "channels_last": channels_last,
            "device": str(dev), "params": sum(p.numel() for p in engine.model.parameters()),
            "flops_per_sample": flops, "first_step_s": first, "step_s": step_s, "bare_step_s": bare_s,
            "steps_per_s": 1.0 / step_s, "samples_per_s": n / step_s, "tflops": flops * n / step_s / 1e12,
            "recording_ratio": step_s / bare_s, "groups_host_ms": groups_ms,
            "sharpness_cold_s": sharp[0] if sharp else float("nan"),
            "sharpness_warm_s": statistics.mean(sharp[1:]) if len(sharp) > 1 else float("nan"),
            "eig_hvps": eig_hvps, "sharpness_subset": subset or n,
            "per_sample_s": statistics.mean(timings["per_sample"]) if timings.get("per_sample") else float("nan"),
            "sharpness_step_s": statistics.mean(sharp_steps) if sharp_steps else float("nan"),
            "peak_gib_step": max(peak_step, default=float("nan")), "peak_gib_sharpness": max(peak_sharp, default=float("nan")),
            "profile": profile, **hvp}


def _to_channels_last(engine: Engine) -> None:
    """Model weights and the training images (where the engine's passes read them) in NHWC layout."""
    from dataclasses import replace
    engine.model.to(memory_format=torch.channels_last)
    if engine.data.x.dim() == 4:
        engine.data = replace(engine.data, x=engine.data.x.contiguous(memory_format=torch.channels_last))
        engine.grads.data = engine.data


def _hvp_cost(engine: Engine, dev: torch.device) -> dict:
    """One HVP against one gradient of the same loss (the sharpness samples, the method the run chose)."""
    sharp = next((i for i in engine.instruments if i.name == "sharpness"), None)
    if sharp is None or not sharp.history:
        return {"hvp_method": None, "hvp_in_gradients": float("nan")}
    cfg = engine.cfg
    op = LossHessian(engine.model, sharp.x, sharp.y, engine.loss, cfg.label_smoothing, cfg.chunk_size, sharp.method)
    v = sharp.history[0][1][0]
    grads = [_timed(op.gradient, dev) for _ in range(2)]
    hvps = [_timed(lambda: op.hvp(v), dev) for _ in range(2)]
    return {"hvp_method": op.method, "hvp_s": min(hvps), "gradient_s": min(grads),
            "hvp_in_gradients": min(hvps) / min(grads)}


def _groups_host_ms(cfg: osig.RunConfig, engine: Engine, kept: list) -> float:
    """Host time of recording one step's row with the group detector on (what --groups adds per step)."""
    recorder = LossRecorder(recorder_settings(cfg.replace(groups=True)), engine.data)
    times = []
    for step, res in enumerate(kept):
        start = time.perf_counter()
        recorder.record(step, res)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times[1:]) if len(times) > 1 else float("nan")


def _profile_step(engine_step, dev: torch.device, path: Path) -> str:
    """A kernel table of one engine step (what limits it), written to `path`; returns the path."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    _sync(dev)
    with profile(activities=activities) as prof:
        engine_step()
        _sync(dev)
    key = "self_device_time_total" if dev.type == "cuda" else "self_cpu_time_total"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(prof.key_averages().table(sort_by=key, row_limit=40))
    return str(path)
