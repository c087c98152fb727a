"""One command for osig's GPU path: every check of the GPU issue and the paper-scale timings, one table.

    python benchmarks/gpu_check.py            # on a CUDA machine: the full check (minutes on an H200)
    python benchmarks/gpu_check.py --smoke    # tiny sizes (anywhere); CUDA-only rows read "n/a (no CUDA)"

Sections, each written to --out as soon as it is done (gpu_check.md: the table, gpu_check.json: the
numbers, profile-*.txt: a kernel table of one ResNet-18 step), so a run cut short keeps what it measured:
1. matmul ceilings of the device (bf16, tf32, fp32 TFLOP/s, measured);
2. correctness: CPU vs CUDA fp32 (per-sample losses 1e-4, sharpness 1e-3), bf16 tracks fp32 (2%),
   a checkpoint written on CUDA resumes on the CPU and vice versa, and the host<->device copies of
   one step (one: the per-sample loss row);
3. full-width ResNet-18 and VGG-11 on 50,000 synthetic 32x32 images, full-batch GD through the engine:
   steps/s, samples/s, achieved TFLOP/s against the ceiling, HVP cost in gradients, seconds per warm
   sharpness estimate, peak GPU memory, per-sample loss recording overhead;
4. --compile equals eager (last: torch.compile's first build is the slowest part).
The correctness checks are benchmarks/device_parity.py (tests/test_gpu.py asserts on the same functions).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import device_parity as P  # noqa: E402
from gpu_throughput import time_model  # noqa: E402

NA = "n/a (no CUDA)"
FULL = dict(n=50_000, width=1.0, chunk=1000, every=4, subset=5000, matmul=8192, reps=30)
SMOKE = dict(n=128, width=0.0625, chunk=64, every=2, subset=64, matmul=256, reps=3)


class Table:
    """Rows of (check, value, goal, verdict), rewritten to OUT/gpu_check.md after every row."""

    def __init__(self, out: Path, header: list[str]):
        self.out, self.header, self.rows, self.numbers = out, header, [], {}

    def add(self, check: str, value: str, goal: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("ok" if ok else "FAIL")
        self.rows.append((check, value, goal, verdict))
        print(f"{check:<46} {value:<30} {goal:<14} {verdict}", flush=True)
        self.save()

    def render(self) -> str:
        lines = list(self.header) + ["", "| check | value | goal | |", "|---|---|---|---|"]
        lines += [f"| {c} | {v} | {g} | {k} |" for c, v, g, k in self.rows]
        return "\n".join(lines) + "\n"

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "gpu_check.md").write_text(self.render())
        (self.out / "gpu_check.json").write_text(json.dumps(self.numbers, indent=2, default=str))


def matmul_tflops(device: torch.device, dtype: torch.dtype, size: int, reps: int, tf32: bool = False) -> float:
    """Dense square matmul throughput: the device's practical ceiling for this dtype."""
    saved = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        a = torch.randn(size, size, device=device, dtype=dtype)
        b = torch.randn(size, size, device=device, dtype=dtype)
        for _ in range(2):
            a @ b
        _sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            a @ b
        _sync(device)
        return 2 * size**3 * reps / (time.perf_counter() - start) / 1e12
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fmt(x: float, digits: int = 3) -> str:
    return "nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def guarded(table: Table, name: str, fn):
    """Run one check; an exception becomes a FAIL row (with its first line) instead of ending the script."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 -- one broken check must not hide the others
        table.add(name, f"error: {type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''}", ok=False)
        table.numbers.setdefault("errors", {})[name] = traceback.format_exc()
        return None


# ---------------------------------------------------------------------- sections
def ceilings(table: Table, dev: torch.device, size: int, reps: int) -> dict:
    out = {}
    for name, dtype, tf32 in (("bf16", torch.bfloat16, False), ("tf32", torch.float32, True), ("fp32", torch.float32, False)):
        if dev.type != "cuda" and name == "tf32":
            continue
        out[name] = matmul_tflops(dev, dtype, size, reps, tf32)
        table.add(f"matmul ceiling {name} ({size}x{size}, {dev.type})", f"{out[name]:.3g} TFLOP/s")
    table.numbers["ceilings_tflops"] = out
    return out


def correctness(table: Table, root: Path, cuda: bool) -> None:
    """CUDA vs CPU where CUDA exists; without it the same harness runs CPU against CPU (shown in brackets)."""
    other = "cuda" if cuda else "cpu"
    num = table.numbers.setdefault("correctness", {})

    def shown(value: float, fmt_: str = ".1e") -> str:
        return format(value, fmt_) if cuda else f"{NA} [cpu/cpu harness: {value:{fmt_}}]"

    for model in ("mlp", "cnn"):
        r = guarded(table, f"fp32 CPU vs CUDA ({model})", lambda: P.fp32_parity(root / f"parity-{model}", "cpu", other, model=model))
        if r:
            num[f"fp32_parity_{model}"] = r
            table.add(f"fp32 CPU vs CUDA ({model}): per-sample loss rel", shown(r["loss_rel"]), "<= 1e-4",
                      r["loss_rel"] <= 1e-4 if cuda else None)
            table.add(f"fp32 CPU vs CUDA ({model}): sharpness rel", shown(r["sharpness_rel"]), "<= 1e-3",
                      r["sharpness_rel"] <= 1e-3 if cuda else None)
    r = guarded(table, "bf16 tracks fp32", lambda: P.bf16_tracks_fp32(root / "bf16", other))
    if r:
        num["bf16_vs_fp32"] = r
        table.add(f"bf16 vs fp32 train_loss rel ({other})", f"{r['loss_rel']:.2e}", "<= 2e-2", r["loss_rel"] <= 0.02)
    for write, resume in (("cuda", "cpu"), ("cpu", "cuda")):
        w, rs = (write, resume) if cuda else ("cpu", "cpu")
        r = guarded(table, f"checkpoint {write}->{resume}", lambda: P.resume_across(root / f"resume-{write}-{resume}", w, rs))
        if r:
            num[f"resume_{write}_{resume}"] = r
            ok = r["status"] == "finished" and r["loss_rel"] <= 1e-4
            table.add(f"checkpoint {write.upper()} -> resume {resume.upper()}: loss rel", shown(r["loss_rel"]),
                      "<= 1e-4", ok if cuda else None)
    r = guarded(table, "host<->device copies in a step", lambda: P.step_copies(root / "copies", "cuda" if cuda else "cpu"))
    if cuda and r:
        num["step_copies"] = r
        table.add("one GD step: synchronising calls", str(r["syncs"]), "1", r["syncs"] == 1)
        table.add("one GD step: memcpy DtoH / HtoD", f"{r['dtoh']} / {r['htod']}", "1 / 0", r["dtoh"] == 1 and r["htod"] == 0)
    elif not cuda:
        table.add("one GD step: host<->device copies", NA)


def compile_check(table: Table, root: Path, cuda: bool) -> None:
    """Last: torch.compile's first build takes a minute or more (on 2 CPU cores too)."""
    other = "cuda" if cuda else "cpu"
    r = guarded(table, "--compile vs eager", lambda: P.compile_matches_eager(root / "compile", other))
    if r:
        table.numbers.setdefault("correctness", {})["compile_vs_eager"] = r
        table.add(f"--compile vs eager per-sample loss rel ({other})", f"{r['loss_rel']:.1e}", "<= 1e-4",
                  r["loss_rel"] <= 1e-4)


def throughput(table: Table, a, dev: torch.device, sizes: dict, peaks: dict, out: Path) -> None:
    cuda = dev.type == "cuda"
    results = table.numbers.setdefault("throughput", [])
    for i, precision in enumerate(a.precisions.split(",")):  # bf16 of every model first: the goal
        for model in a.models.split(","):
            tag = f"{model} {precision}" + (" NHWC" if a.channels_last else "")
            prof = out / f"profile-{model}-{precision}.txt" if (a.profile and i == 0) else None
            r = guarded(table, tag, lambda: time_model(model, precision, device=dev.type, n=sizes["n"], width=sizes["width"],
                                                     chunk=sizes["chunk"], every=sizes["every"], subset=sizes["subset"],
                                                     lr=a.lr, compile=a.compile, profile_to=prof,
                                                     channels_last=a.channels_last))
            if not r:
                continue
            results.append(r)
            ceiling = peaks.get(precision if precision == "bf16" else "tf32", peaks.get("fp32", float("nan")))
            frac = r["tflops"] / ceiling if ceiling else float("nan")
            mem = (lambda g: f"{g:.1f} GiB") if cuda else (lambda g: NA)
            table.add(f"{tag}: steps/s  (N={r['n']}, chunk {r['chunk']})", f"{r['steps_per_s']:.3g} ({r['step_s']:.3g} s/step)")
            table.add(f"{tag}: samples/s", f"{r['samples_per_s']:,.0f}")
            table.add(f"{tag}: achieved TFLOP/s (fwd+bwd)",
                      f"{r['tflops']:.3g} = {frac:.1%} of {precision if precision == 'bf16' else 'tf32' if cuda else 'fp32'} ceiling",
                      ">= 50%" if precision == "bf16" else "", (frac >= 0.5) if (cuda and precision == "bf16") else None)
            table.add(f"{tag}: HVP cost in gradients ({r['hvp_method']})", fmt(r["hvp_in_gradients"]))
            table.add(f"{tag}: warm sharpness estimate (subset {r['sharpness_subset']})",
                      f"{fmt(r['sharpness_warm_s'])} s (cold {fmt(r['sharpness_cold_s'])} s); "
                      f"HVPs {'/'.join(str(int(h)) for h in r['eig_hvps'])}")
            table.add(f"{tag}: peak GPU memory step / sharpness", f"{mem(r['peak_gib_step'])} / {mem(r['peak_gib_sharpness'])}")
            table.add(f"{tag}: recording overhead (engine / bare step)", f"{r['recording_ratio']:.3f}", "<= 1.02",
                      (r["recording_ratio"] <= 1.02) if cuda else None)
            table.add(f"{tag}: group detection on the host", f"{fmt(r['groups_host_ms'])} ms/step")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", "--dry-run", dest="smoke", action="store_true", help="tiny sizes: checks the script, not the device")
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "runs/gpu_check"))
    ap.add_argument("--sections", default="ceilings,correctness,throughput,compile",
                    help="which to run; they always run in this order (compile last: its first build is slow)")
    ap.add_argument("--models", default="resnet18,vgg11")
    ap.add_argument("--precisions", default="bf16,fp32")
    ap.add_argument("--n", type=int)
    ap.add_argument("--width", type=float)
    ap.add_argument("--chunk", type=int)
    ap.add_argument("--every", type=int, help="sharpness every K steps (2K+1 engine steps are timed; 0: none)")
    ap.add_argument("--subset", type=int, help="sharpness subset size")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--compile", action="store_true", help="time the throughput runs with --compile")
    ap.add_argument("--no-profile", dest="profile", action="store_false")
    ap.add_argument("--threads", type=int, help="torch CPU threads (a shared CPU machine: 1)")
    ap.add_argument("--cudnn-benchmark", action="store_true", help="let cuDNN time its convolution algorithms")
    ap.add_argument("--channels-last", action="store_true",
                    help="probe: model and images in NHWC layout (a candidate speed-up, not what the engine does)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True
    sizes = dict(SMOKE if a.smoke else FULL)
    sizes.update({k: getattr(a, k) for k in ("n", "width", "chunk", "every", "subset") if getattr(a, k) is not None})
    cuda = torch.cuda.is_available()
    dev = torch.device("cuda" if cuda else "cpu")
    name = torch.cuda.get_device_name(dev) if cuda else f"CPU ({torch.get_num_threads()} threads), no CUDA"
    header = [f"# osig GPU check{' (smoke)' if a.smoke else ''}", "",
              f"device: {name}; torch {torch.__version__}, CUDA {torch.version.cuda}; "
              f"sizes: {sizes}; cudnn.benchmark {torch.backends.cudnn.benchmark}, "
              f"tf32 convs {torch.backends.cudnn.allow_tf32}, tf32 matmul {torch.backends.cuda.matmul.allow_tf32}"]
    table = Table(a.out, header)
    table.numbers.update(device=name, torch=torch.__version__, sizes=sizes, smoke=a.smoke)
    print("\n".join(header), flush=True)
    started = time.perf_counter()
    sections = set(a.sections.split(","))
    peaks = ceilings(table, dev, sizes["matmul"], sizes["reps"]) if "ceilings" in sections else {}
    with tempfile.TemporaryDirectory(prefix="osig-gpu-check-") as tmp:
        if "correctness" in sections:
            correctness(table, Path(tmp) / "parity", cuda)
        if "throughput" in sections:
            throughput(table, a, dev, sizes, peaks, a.out)
        if "compile" in sections:
            compile_check(table, Path(tmp) / "compile", cuda)
    table.add("total time of this check", f"{time.perf_counter() - started:.0f} s")
    print(f"\ntable: {a.out / 'gpu_check.md'}")
    failed = [r for r in table.rows if r[3] == "FAIL"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
