"""Soak test (not in CI): a long tiny run with readers attaching and detaching all the time.

An `osig run` engine trains a tiny MLP for --steps steps (default 10,000) in a subprocess. Meanwhile
this process keeps (a) opening the run with the store reader, reading what a monitor reads
(new scalars, the newest loss rows, extremes, pairs, events, status) and closing it again, in a
loop, and (b) if the Textual monitor exists, attaching `WatchApp` headlessly (`App.run_test`),
waiting for its first update, stepping back and forth, and detaching. The engine's RSS is sampled
throughout. At the end: every step is there exactly once, the loss matrix has a finite row per
step, the run finished, no reader/app cycle raised, and the RSS is flat.

    python benchmarks/soak.py [--steps 10000] [--no-groups] [--out soak.json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import osig_core as osig
from osig_core.store import RunStoreError


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Sampler(threading.Thread):
    """(seconds, steps done, engine RSS MB, this process's RSS MB) every `every` seconds."""

    def __init__(self, pid: int, run_dir: Path, stop: threading.Event, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.run_dir, self.stop, self.every = pid, run_dir, stop, every
        self.samples: list[tuple[float, int, float, float]] = []

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.stop.is_set():
            engine = rss_mb(self.pid)
            if engine is None:
                break
            try:
                r = osig.open_run(self.run_dir)
                done = r.steps_done()
                r.close()
            except RunStoreError:
                done = 0
            self.samples.append((time.monotonic() - t0, done, engine, rss_mb(os.getpid()) or 0.0))
            self.stop.wait(self.every)


class ReaderLoop(threading.Thread):
    """Attach, read like a monitor, detach; again and again."""

    def __init__(self, run_dir: Path, stop: threading.Event):
        super().__init__(daemon=True)
        self.run_dir, self.stop = run_dir, stop
        self.cycles = 0
        self.errors: list[str] = []
        self.max_seen = -1

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                r = osig.open_run(self.run_dir)
                try:
                    m = r.metrics(since=max(self.max_seen - 50, -1))
                    steps = r.loss_steps()
                    losses = r.losses()
                    if len(steps):
                        tail = np.asarray(losses[max(0, len(steps) - 20):], np.float32)
                        if not np.isfinite(tail).all():
                            self.errors.append(f"non-finite loss row near step {steps[-1]}")
                        if len(steps) > losses.shape[0]:
                            self.errors.append("a step points past the loss matrix")
                        r.loss_history([0, r.n - 1])
                    r.record_at("extremes"), r.pairs_at(), r.events(), r.status()
                    if len(m["step"]):
                        self.max_seen = max(self.max_seen, int(m["step"][-1]))
                finally:
                    r.close()
                self.cycles += 1
            except RunStoreError as e:
                if (self.run_dir / "run.sqlite").exists():
                    self.errors.append(f"RunStoreError: {e}")
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                self.errors.append(f"{type(e).__name__}: {e}")
            time.sleep(0.02)


async def app_cycles(run_dir: Path, stop: threading.Event, out: dict) -> None:
    """Attach the monitor headlessly, let it show the run, move around, detach; repeat."""
    from osig_tui.app import WatchApp
    while not stop.is_set():
        try:
            app = WatchApp(run_dir, image_mode="halfcell", poll_interval=0.1)
            async with app.run_test(size=(140, 45)) as pilot:
                t0 = time.monotonic()
                while app.updates == 0 and time.monotonic() - t0 < 20:
                    await pilot.pause(0.05)
                if app.updates == 0:
                    out["errors"].append("the monitor got no update within 20 s")
                for key in ("left_square_bracket", "left_square_bracket", "right_square_bracket", "g"):
                    await pilot.press(key)
                    await pilot.pause(0.05)
                await pilot.pause(0.5)
                app.exit(None)
            out["cycles"] += 1
        except Exception as e:  # noqa: BLE001
            out["errors"].append(f"{type(e).__name__}: {e}")
            await asyncio.sleep(0.5)
        await asyncio.sleep(0.2)


def flatness(samples: list[tuple[float, int, float, float]], col: int) -> dict:
    """Engine RSS at warm-up end vs the end, and the fitted slope in MB per 1000 steps."""
    warm = [s for s in samples if s[1] >= 200] or samples
    if len(warm) < 4:
        return {}
    q = max(len(warm) // 4, 1)
    first, last = [s[col] for s in warm[:q]], [s[col] for s in warm[-q:]]
    steps = np.array([s[1] for s in warm], float)
    rss = np.array([s[col] for s in warm], float)
    slope = float(np.polyfit(steps, rss, 1)[0] * 1000) if np.ptp(steps) > 0 else 0.0
    return {"first_quarter_median_mb": round(statistics.median(first), 1),
            "last_quarter_median_mb": round(statistics.median(last), 1),
            "max_mb": round(float(rss.max()), 1), "slope_mb_per_1000_steps": round(slope, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--no-groups", action="store_true")
    ap.add_argument("--no-app", action="store_true", help="Only the store reader loop, not the Textual monitor.")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="osig-soak-"))
    run_dir = tmp / "soak"
    argv = [sys.executable, "-m", "osig_tui.cli", "run", "--model", "mlp", "--width", "0.05", "--n", "100",
            "--n-test", "50", "--steps", str(a.steps), "--eval-every", "50", "--checkpoint-every", "1000",
            "--run-dir", str(run_dir), "--quiet"] + (["--no-groups"] if a.no_groups else [])
    t0 = time.monotonic()
    engine = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stop = threading.Event()
    while not (run_dir / "run.sqlite").exists() and engine.poll() is None:
        time.sleep(0.05)
    sampler = Sampler(engine.pid, run_dir, stop)
    reader = ReaderLoop(run_dir, stop)
    sampler.start()
    reader.start()
    app_out = {"cycles": 0, "errors": []}
    use_app = not a.no_app and (Path(__file__).resolve().parents[1] / "osig_tui" / "app.py").exists()

    async def drive() -> None:
        task = asyncio.create_task(app_cycles(run_dir, stop, app_out)) if use_app else None
        while engine.poll() is None:
            await asyncio.sleep(0.2)
        stop.set()
        if task is not None:
            await task
    asyncio.run(drive())
    wall = time.monotonic() - t0
    stop.set()
    reader.join(30)
    sampler.join(30)
    out, err = engine.communicate()

    run = osig.open_run(run_dir)
    m = run.metrics()
    steps = m["step"]
    losses = np.asarray(run.losses(), np.float32)
    result = {
        "steps": a.steps, "groups": not a.no_groups, "wall_s": round(wall, 1),
        "steps_per_s": round(a.steps / wall, 1),
        "engine_exit_code": engine.returncode, "engine_stderr_tail": err.decode(errors="replace")[-500:],
        "status": run.status()[0],
        "steps_recorded": int(len(steps)), "steps_exact": bool(list(steps) == list(range(a.steps))),
        "loss_rows": int(losses.shape[0]), "loss_rows_finite": bool(np.isfinite(losses).all()),
        "checkpoints": [s for s, _ in run.checkpoints()],
        "reader_cycles": reader.cycles, "reader_errors": reader.errors[:10], "reader_error_count": len(reader.errors),
        "app_cycles": app_out["cycles"] if use_app else None, "app_errors": app_out["errors"][:10],
        "rss_samples": len(sampler.samples),
        "engine_rss": flatness(sampler.samples, 2),
        "reader_process_rss": flatness(sampler.samples, 3),
        "run_dir_mb": round(sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file()) / 2**20, 1),
    }
    run.close()
    ok = (result["engine_exit_code"] == 0 and result["status"] == "finished" and result["steps_exact"]
          and result["loss_rows"] == a.steps and result["loss_rows_finite"] and not reader.errors
          and not app_out["errors"])
    result["ok"] = ok
    text = json.dumps(result, indent=2)
    print(text)
    if a.out:
        a.out.write_text(text)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
