"""`osig watch` responsiveness and its cost to training.

1. Builds (once, cached) a stored run of N = 50,000 samples × 10,000 steps with RunWriter — no
   training — and measures, headless (App.run_test + Pilot): time from creating the app to the first
   complete dashboard, and key latency (press → the screen shows the answer) for history stepping,
   moving between pairs, and opening / closing a pair.
2. Trains one small run and attaches the monitor during every other window of a few seconds; reports
   the attached / headless steps/s ratio of those windows (target ≥ 0.95).

Usage: python benchmarks/bench_tui.py [--n 50000 --steps 10000] [--rebuild] [--skip-throughput] [--windows 8]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fixtures.synthetic_run import SyntheticRun  # noqa: E402

from osig_core.store.reader import RunReader  # noqa: E402
from osig_tui.app import WatchApp  # noqa: E402
from osig_tui.screens.dashboard import DashboardScreen  # noqa: E402
from osig_tui.screens.group import GroupScreen  # noqa: E402
from osig_tui.widgets.pairs import PairsTable  # noqa: E402


def build(path: Path, n: int, steps: int, rebuild: bool) -> Path:
    done = path / "BUILT"
    if done.is_file() and not rebuild:
        return path
    shutil.rmtree(path, ignore_errors=True)
    t0 = time.perf_counter()
    r = SyntheticRun(path, n=n, steps=steps, kind="image", classes=None, seed=0, sharpness=True, groups=True,
                     status="finished", k=24, pid=None)
    for upto in range(1000, steps + 1000, 1000):
        r.write(upto)
        print(f"  built {min(upto, steps)}/{steps} steps ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    r.finish()
    done.write_text("ok")
    return path


async def _until(pilot, cond, timeout=30.0):
    t0 = time.perf_counter()
    while not cond():
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("condition not reached")
        await pilot.pause(0.001)


KEYS = {"left_square_bracket": "[", "right_square_bracket": "]", "enter": "\r", "escape": "\x1b", "j": "j", "k": "k"}


async def key_latency(app, key: str, answered, timeout: float = 30.0, then=None) -> float | tuple[float, float]:
    """Seconds from the key reaching the app (as the terminal driver delivers it, without the test
    pilot's own pacing) until `answered()` holds and the screen has painted the change. With `then`,
    also the seconds until `then()` holds and is painted (work that follows the answer, e.g. reads)."""
    from textual import events
    t0 = time.perf_counter()
    app._driver.send_message(events.Key(key, KEYS[key]))
    while not answered():
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"no answer to {key}")
        await asyncio.sleep(0.0005)
    await painted(app)
    first = time.perf_counter() - t0
    if then is None:
        return first
    while not then():
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"{key}: the follow-up never came")
        await asyncio.sleep(0.0005)
    await painted(app)
    return first, time.perf_counter() - t0


def _pending(app) -> bool:
    """A repaint or layout is still queued somewhere on the screen (widget → screen → compositor)."""
    s = app.screen
    if s._dirty_widgets or s._repaint_required or s._layout_required:
        return True
    return any(w._repaint_required or w._layout_required for w in s.walk_children())


class FrameWatch:
    """Notes when the app hands the driver the first frame for which a condition holds (headless
    drivers draw nothing, but the compositor's work is done and handed over just the same)."""

    def __init__(self, app) -> None:
        self.cond = None
        self.at: float | None = None
        display = app._display

        def watching(screen, renderable):
            if renderable is not None and not app._batch_count and self.cond is not None and self.at is None \
                    and self.cond():
                self.at = time.perf_counter()
            return display(screen, renderable)
        app._display = watching


async def first_frame(app, frames: FrameWatch, key: str, answered, timeout: float = 30.0) -> float:
    """Seconds from the key until the first frame that shows the answer reaches the terminal (later
    frames may still add to it: see `key_latency(..., then=...)` for the whole)."""
    from textual import events
    frames.cond, frames.at = answered, None
    t0 = time.perf_counter()
    app._driver.send_message(events.Key(key, KEYS[key]))
    while frames.at is None:
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"no frame answered {key}")
        await asyncio.sleep(0.0005)
    frames.cond = None
    return frames.at - t0


async def painted(app) -> None:
    """Wait until the screen has composited every queued change (seen idle twice in a row)."""
    quiet = 0
    while quiet < 2:
        await asyncio.sleep(0.0005)
        quiet = 0 if _pending(app) else quiet + 1


def measure_app(run_dir: Path, repeats: int) -> dict:
    out: dict = {}

    async def main():
        t0 = time.perf_counter()
        app = WatchApp(run_dir)
        frames = FrameWatch(app)
        async with app.run_test(size=(120, 36)) as pilot:
            await _until(pilot, lambda: app.view is not None and app.progress is not None
                         and isinstance(app.screen, DashboardScreen) and app.screen.query_one(PairsTable).row_count > 0)
            await painted(app)
            out["first_render_s"] = time.perf_counter() - t0
            await pilot.pause(0.5)
            last = app.progress.last_step
            lat: dict[str, list[float]] = {"step back ([)": [], "step forward (])": [], "next pair (j/k)": [],
                                           "open pair (Enter → first frame of the pair)": [],
                                           "open pair (Enter → screen idle, members drawn)": [],
                                           "back (Esc)": [], "back (Esc) while the pair is being drawn": []}
            table = app.screen.query_one(PairsTable)
            for i in range(repeats):
                target = last - 1 - i
                lat["step back ([)"].append(await key_latency(app, "left_square_bracket",
                                                              lambda: app.view.step == target))
                await pilot.pause(0.05)
            for i in range(repeats):
                target = app.view.step + 1
                lat["step forward (])"].append(await key_latency(
                    app, "right_square_bracket", lambda: app.view.step == target or app.view.following))
                await pilot.pause(0.05)
            for i in range(repeats):
                before = table.cursor_row
                lat["next pair (j/k)"].append(await key_latency(
                    app, "j" if i % 2 == 0 else "k", lambda: table.cursor_row != before or table.row_count < 2))
                await pilot.pause(0.05)
            for i in range(max(1, repeats // 4)):
                want = table.current_pair()
                on_pair = lambda: isinstance(app.screen, GroupScreen) and app.screen.pair_id == want  # noqa: E731
                lat["open pair (Enter → first frame of the pair)"].append(await first_frame(app, frames, "enter", on_pair))
                await _until(pilot, lambda: app.screen.detail is not None)
                await pilot.pause(0.1)
                lat["back (Esc)"].append(await key_latency(app, "escape", lambda: isinstance(app.screen, DashboardScreen)))
                await pilot.pause(0.1)
                lat["open pair (Enter → screen idle, members drawn)"].append((await key_latency(
                    app, "enter", on_pair, then=lambda: app.screen.detail is not None))[1])
                await pilot.pause(0.1)
                await key_latency(app, "escape", lambda: isinstance(app.screen, DashboardScreen))
                await pilot.pause(0.1)
                await first_frame(app, frames, "enter", on_pair)  # Esc as soon as the pair shows
                lat["back (Esc) while the pair is being drawn"].append(
                    await key_latency(app, "escape", lambda: isinstance(app.screen, DashboardScreen)))
                await pilot.pause(0.1)
                await key_latency(app, "j" if i % 2 == 0 else "k", lambda: table.current_pair() != want)  # another pair
                await pilot.pause(0.3)  # its read-ahead
            out["key_latency_ms"] = {k: {"median": round(1e3 * statistics.median(v), 1), "max": round(1e3 * max(v), 1)}
                                     for k, v in lat.items()}
    asyncio.run(main())
    return out


def measure_throughput(windows: int, seconds: float) -> dict:
    """One engine run; the monitor is attached during every other window of `seconds`. Comparing
    neighbouring windows of the same process keeps other load on the machine from deciding the
    answer (it shifts both alike). Steps/s per window come from the run's own step timestamps."""
    from osig_tui.lifecycle import start_detached, wait_until_ready
    tmp = Path(tempfile.mkdtemp(prefix="osig-bench-tp-"))
    run_dir = tmp / "run"
    proc = start_detached(["--model", "mlp", "--n", "1000", "--steps", "1000000", "--eval-every", "0",
                           "--checkpoint-every", "0"], run_dir)
    spans: list[tuple[str, float, float]] = []
    try:
        wait_until_ready(run_dir, proc, timeout=300)
        time.sleep(seconds)  # warm-up, not counted

        async def attached(until: float):
            app = WatchApp(run_dir)
            async with app.run_test(size=(120, 36)) as pilot:
                while time.time() < until:
                    await pilot.pause(0.2)

        monitor_cpu = 0.0
        for w in range(windows):
            mode = "attached" if w % 2 else "headless"
            t0, c0 = time.time(), time.process_time()
            if mode == "attached":
                asyncio.run(attached(t0 + seconds))
                monitor_cpu += time.process_time() - c0
            else:
                time.sleep(seconds)
            spans.append((mode, t0, time.time()))
            print(f"  window {w}: {mode}", file=sys.stderr)
        RunReader(run_dir).send_control("stop")
        proc.wait(120)
        m = RunReader(run_dir).metrics()
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    rates = {"headless": [], "attached": []}
    for mode, a, b in spans:
        inside = m["time"][(m["time"] >= a) & (m["time"] < b)]
        rates[mode].append(float((len(inside) - 1) / (inside[-1] - inside[0])) if len(inside) > 2 else float("nan"))
    h, a = statistics.median(rates["headless"]), statistics.median(rates["attached"])
    pairs = [at / hl for hl, at in zip(rates["headless"], rates["attached"])]  # neighbouring windows
    attached_s = sum(b - a for mode, a, b in spans if mode == "attached")
    return {"headless_steps_per_s": [round(r, 2) for r in rates["headless"]],
            "attached_steps_per_s": [round(r, 2) for r in rates["attached"]],
            "ratio_of_medians": round(a / h, 3),
            "median_ratio_of_neighbouring_windows": round(statistics.median(pairs), 3),
            "monitor_cpu_share_of_one_core": round(monitor_cpu / attached_s, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "osig-bench-tui")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--windows", type=int, default=8, help="alternating headless / attached windows")
    ap.add_argument("--window-seconds", type=float, default=12.0)
    a = ap.parse_args()
    run_dir = build(a.cache / f"run-{a.n}x{a.steps}", a.n, a.steps, a.rebuild)
    size = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
    res = {"device": f"cpu ({os.cpu_count()} cores), load {os.getloadavg()[0]:.1f}", "n": a.n, "steps": a.steps,
           "store_bytes": size}
    res.update(measure_app(run_dir, a.repeats))
    if not a.skip_throughput:
        res.update(measure_throughput(a.windows, a.window_seconds))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
