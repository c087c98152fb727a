"""Starting members: each is an `osig run` process, started here (a simple pool) or through submitit.

A launcher only starts a member and signals it; the pool in osig_core/sweeps/pool.py decides when,
and reads every member's progress from its run directory, whatever started it.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

ENGINE_LOG = "engine.log"  # the member's own output, where `osig watch` keeps it too
LAUNCHERS = ("processes", "submitit", "submitit-local")


def member_command(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "osig_tui.cli", "run", *argv, "--quiet"]


class Handle(Protocol):
    def poll(self) -> int | None: ...  # the exit code once it ended (-1: no code known)
    def interrupt(self, sig: int) -> None: ...


class _Process:
    def __init__(self, proc: subprocess.Popen):
        self.proc = proc

    def poll(self) -> int | None:
        return self.proc.poll()

    def interrupt(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)


def _start(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """`osig run` in its own session: a Ctrl-C in the terminal reaches the sweep only, which forwards
    it once (a member that got it twice would stop without its final checkpoint)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        return subprocess.Popen(member_command(argv), stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"})


class ProcessLauncher:
    name = "processes"

    def start(self, argv: list[str], log: Path, env: dict[str, str]) -> Handle:
        return _Process(_start(argv, log, env))


def run_member(argv: list[str], log: str, env: dict[str, str]) -> int:
    """A submitit job: run one member and return its exit code. The first SIGINT / SIGTERM the job
    gets (the cluster cancelling it, or submitit's local executor) is forwarded once, then it waits."""
    proc = _start(argv, Path(log), env)
    seen: set[int] = set()

    def forward(signum, _frame):
        if signum not in seen:
            seen.add(signum)
            proc.send_signal(signum)
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, forward)
    return proc.wait()


class _Job:
    def __init__(self, job):
        self.job = job

    def poll(self) -> int | None:
        if not self.job.done():
            return None
        try:
            return int(self.job.result())
        except Exception:  # killed or cancelled: the run directory says what happened
            return -1

    def interrupt(self, sig: int) -> None:
        if not self.job.done():
            self.job.cancel(check=False)


class SubmititLauncher:
    """Each member is a submitit job (a Slurm job; `submitit-local` runs it on this machine, as the
    tests do). Parameters are submitit's (`slurm_partition`, `timeout_min`, `gpus_per_node`, ...)."""

    def __init__(self, folder: Path, cluster: str | None, params: dict[str, Any]):
        try:
            import submitit
        except ModuleNotFoundError:
            from osig_core.sweeps.grid import SweepError
            raise SweepError('--launcher submitit needs submitit: pip install "osig[slurm]"') from None
        self.name = "submitit" if cluster is None else f"submitit-{cluster}"
        self.executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
        defaults = {"timeout_min": 7 * 24 * 60} if cluster == "local" else {}
        try:
            self.executor.update_parameters(**{**defaults, **params})
        except (ValueError, TypeError) as e:
            from osig_core.sweeps.grid import SweepError
            raise SweepError(f"submitit refused the parameters ({str(e).splitlines()[0][:200]})") from None

    def start(self, argv: list[str], log: Path, env: dict[str, str]) -> Handle:
        return _Job(self.executor.submit(run_member, argv, str(log), env))


def make_launcher(kind: str, sweep_dir: Path, params: dict[str, Any]):
    if kind == "processes":
        return ProcessLauncher()
    if kind in ("submitit", "submitit-local"):
        return SubmititLauncher(sweep_dir / ".submitit", "local" if kind == "submitit-local" else None, params)
    from osig_core.sweeps.grid import SweepError
    raise SweepError(f"unknown launcher '{kind}'; choose one of: {', '.join(LAUNCHERS)}")


def cuda_devices() -> list[str]:
    """The CUDA devices members may take, without importing torch (CUDA_VISIBLE_DEVICES, else nvidia-smi)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i in range(sum(1 for line in out.splitlines() if line.startswith("GPU ")))]


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def plan_slots(jobs: int | None, threads: int | None, gpus: list[str], n_members: int) -> tuple[int, int | None]:
    """(members at once, CPU threads per member). On GPUs one member per device; on CPUs as many as the
    cores allow at `threads` each (1 unless given)."""
    cpus = usable_cpus()
    if jobs is None:
        jobs = len(gpus) if gpus else max(1, cpus // (threads or 1))
    if threads is None:
        threads = max(1, cpus // max(1, jobs))
    return max(1, min(jobs, n_members)), threads


def slot_env(slot: int, threads: int | None, gpus: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
    return env
