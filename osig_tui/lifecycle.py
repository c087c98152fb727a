"""Start, find, stop and wait for runs: what `osig watch` does around the app.

`osig watch FLAGS` starts `osig run FLAGS --run-dir D --quiet` as a detached process (its own
session, stdin from /dev/null, stdout/stderr into D/engine.log) so closing the terminal or the SSH
connection leaves training running; the app then only reads D. Nothing here imports torch.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from osig_core.store.layout import CONFIG_FILE, RunStoreError
from osig_core.store.reader import LIVE_STATUSES, RunReader

ENGINE_LOG = "engine.log"


class EngineStartError(Exception):
    """The detached engine did not come up; `.log_tail` holds the end of its engine.log."""

    def __init__(self, message: str, log_tail: str = "", exit_code: int = 2):
        super().__init__(message)
        self.log_tail = log_tail
        self.exit_code = exit_code


def is_live(status: str) -> bool:
    return status in LIVE_STATUSES


# ---------------------------------------------------------------------- finding runs
def list_runs(root: Path) -> list[Path]:
    """Run directories under `root`, oldest first (by when their config was written)."""
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if (p / CONFIG_FILE).is_file()]
    return sorted(runs, key=lambda p: (p / CONFIG_FILE).stat().st_mtime)


def latest_run(root: Path) -> Path:
    runs = list_runs(root)
    if not runs:
        raise RunStoreError(f"no runs under '{root}'; start one with `osig watch --model mlp` "
                            "or name a run directory: `osig watch RUN_DIR`")
    return runs[-1]


def new_run_dir(model: str, optim: str, root: Path) -> Path:
    """runs/<timestamp>-<model>-<optim>, made unique with a counter if needed."""
    base = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{model}-{optim}"
    path, k = root / base, 2
    while path.exists():
        path, k = root / f"{base}-{k}", k + 1
    return path


# ---------------------------------------------------------------------- flags -> argv
def flags_to_argv(flags: dict[str, Any]) -> list[str]:
    """The `osig run` arguments that reproduce these parsed flags (None = not given)."""
    argv: list[str] = []
    for name, value in flags.items():
        if value is None or name == "quiet" or (name == "force" and not value):
            continue
        flag = "--probe" if name == "probes" else "--" + name.replace("_", "-")
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + name.replace("_", "-"))
        elif isinstance(value, (list, tuple)):
            for v in value:
                argv += [flag, str(v)]
        else:
            argv += [flag, str(value)]
    return argv


def engine_command(run_argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "osig_tui.cli", "run", *run_argv, "--quiet"]


# ---------------------------------------------------------------------- start / wait / stop
def start_detached(run_argv: list[str], run_dir: Path, *, resume: bool = False) -> subprocess.Popen:
    """Start `osig run` in its own session; its output goes to run_dir/engine.log, never the terminal."""
    run_dir.mkdir(parents=True, exist_ok=True)
    argv = list(run_argv) if resume else [*run_argv, "--run-dir", str(run_dir)]
    log = open(run_dir / ENGINE_LOG, "ab")
    try:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("NO_COLOR", None)
        return subprocess.Popen(engine_command(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, env=env)
    finally:
        log.close()


def log_tail(run_dir: Path, lines: int = 12) -> str:
    try:
        text = (run_dir / ENGINE_LOG).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _engine_error(tail: str) -> str | None:
    """The engine's own one-sentence error ('osig: error: ...') from its log, if it printed one."""
    for line in reversed(tail.splitlines()):
        if line.startswith("osig: error: "):
            return line[len("osig: error: "):].strip()
    return None


def _engine_registered(run_dir: Path, pid: int | None) -> bool:
    """Whether run_dir is a readable run whose meta names this engine (any engine if pid is None)."""
    if not (run_dir / CONFIG_FILE).is_file():
        return False
    try:
        reader = RunReader(run_dir)
    except RunStoreError:
        return False  # config written, database not yet
    try:
        got = reader.meta().get("pid")
    except RunStoreError:
        return False
    finally:
        reader.close()
    return got is not None and (pid is None or got == pid)


def wait_until_ready(run_dir: Path, proc: subprocess.Popen | None, timeout: float = 600.0,
                     on_wait: Callable[[float], None] | None = None, poll: float = 0.1) -> None:
    """Block until run_dir is a readable run registered by `proc` (which may also have ended already).

    Raises EngineStartError (with the log tail) if the engine exits before that or the time runs out.
    """
    t0 = time.monotonic()
    pid = None if proc is None else proc.pid
    while True:
        code = proc.poll() if proc is not None else None
        if _engine_registered(run_dir, pid):
            return
        if code is not None:
            _raise_early_exit(run_dir, code)
        waited = time.monotonic() - t0
        if waited > timeout:
            raise EngineStartError(f"the engine did not start a run in '{run_dir}' within {timeout:.0f} s "
                                   f"(see {run_dir / ENGINE_LOG})", log_tail(run_dir))
        if on_wait is not None:
            on_wait(waited)
        time.sleep(poll)


def _raise_early_exit(run_dir: Path, code: int) -> None:
    tail = log_tail(run_dir)
    sentence = _engine_error(tail)
    only_log = run_dir.is_dir() and [p.name for p in run_dir.iterdir()] == [ENGINE_LOG]
    if only_log:  # nothing was created but our log: leave no empty run behind
        (run_dir / ENGINE_LOG).unlink(missing_ok=True)
        try:
            run_dir.rmdir()
        except OSError:
            pass
    if sentence:
        raise EngineStartError(sentence, "" if only_log else tail, 2)
    raise EngineStartError(f"the engine exited (code {code}) before starting the run", tail, 2)


def stop_run(run_dir: Path, wait: float = 15.0) -> str:
    """Ask the engine to stop (it checkpoints first) and wait for its final status."""
    reader = RunReader(run_dir)
    try:
        status, _ = reader.status()
        if not is_live(status):
            return status
        reader.send_control("stop")  # a paused engine handles it too
        t0 = time.monotonic()
        while time.monotonic() - t0 < wait:
            status, _ = reader.status()
            if not is_live(status):
                return status
            time.sleep(0.1)
        return status
    finally:
        reader.close()
