"""Run every benchmark in turn: `python benchmarks/run_all.py [--quick]`.

Each prints ratios measured within one process plus absolute numbers labelled with the device.
The GPU benchmark runs only when CUDA is available (otherwise it says so).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    quick = "--quick" in sys.argv
    jobs = [
        ("per-sample recording overhead", ["bench_recording.py", "--model", "vgg11", "--width", "0.25", "--n", "1000"]),
        ("sharpness estimator and overhead", ["bench_sharpness.py"] + (["--quick"] if quick else [])),
        ("group detection cost", ["bench_groups.py"]),
        ("storage at scale", ["bench_store.py"] + (["--n", "5000", "--steps", "1000"] if quick else [])),
        ("1 vs 2 CPU processes", ["bench_distributed.py"]),
        ("monitor: open/key latency and attached slowdown", ["bench_tui.py"]),
        ("start-up of the read-only commands", ["bench_startup.py"]),
        ("monitor: first frame of a finished run", ["bench_first_frame.py"]),
        ("osig sweep bookkeeping and osig compare", ["bench_sweep.py"] + (["--quick"] if quick else [])),
    ]
    import torch
    if torch.cuda.is_available():
        jobs.append(("ResNet-18 full-batch GD vs FLOP bound", ["bench_gpu_resnet.py"]))
    else:
        print("(no CUDA device: skipping bench_gpu_resnet.py; run it on a GPU machine)")
    for title, args in jobs:
        script = HERE / args[0]
        if not script.exists():
            print(f"\n== {title}: {args[0]} missing")
            continue
        print(f"\n== {title}: python benchmarks/{' '.join(args)}", flush=True)
        subprocess.run([sys.executable, str(script), *args[1:]], check=False)


if __name__ == "__main__":
    main()
