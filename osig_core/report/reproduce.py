"""`osig reproduce`: run every preset's member runs (in parallel subprocesses), then report each preset.

Layout under the root: a single-run preset's run directory is `ROOT/<preset>/`; a multi-run preset
keeps its members in `ROOT/<preset>/<member>/`; each preset's report goes to `ROOT/<preset>/report/`;
subprocess logs to `ROOT/logs/`. Resumable: a finished (or diverged) member is skipped, one that
stopped midway is continued with `--resume`, one without a checkpoint is started again. A member
whose stored settings differ from the preset's is refused unless `force` (then it is re-run).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from osig_core.config.run_config import ConfigError, RunConfig
from osig_core.presets.paper import PRESETS, Preset, preset_config, suite_presets
from osig_core.report.model import Report
from osig_core.store.layout import CONFIG_FILE, RunStoreError

IGNORED_FIELDS = ("device", "preset", "data_dir")  # may differ without making a stored run another run


@dataclass
class Job:
    preset: Preset
    member: str
    scale: str
    run_dir: Path
    log: Path
    est_s: float
    action: str = "fresh"  # fresh | resume | skip
    status: str = "pending"  # pending | running | done | failed
    seconds: float = 0.0
    message: str = ""
    data_dir: str | None = None  # where real data lives (--data-dir), passed to the run
    seed: int | None = None  # a seed other than the preset's (`--robust`)

    @property
    def spec(self) -> str:
        return self.preset.spec(self.member, self.scale)

    @property
    def label(self) -> str:
        return self.preset.name if not self.preset.multi else f"{self.preset.name}/{self.member}"

    def config(self) -> RunConfig:
        cfg = preset_config(self.spec)
        if self.data_dir:
            cfg["data_dir"] = self.data_dir
        if self.seed is not None:
            cfg["seed"] = self.seed
        return RunConfig.from_dict(cfg, source=f"preset {self.spec}").validate()

    def command(self) -> list[str]:
        base = [sys.executable, "-m", "osig_tui.cli", "run"]
        if self.action == "resume":
            return base + ["--resume", str(self.run_dir), "--quiet"]
        extra = (["--data-dir", self.data_dir] if self.data_dir else []) + \
            (["--seed", str(self.seed)] if self.seed is not None else [])
        return base + ["--preset", self.spec, *extra, "--run-dir", str(self.run_dir), "--quiet", "--force"]


@dataclass
class Outcome:
    reports: dict[str, Report] = field(default_factory=dict)  # preset name -> report
    failures: dict[str, str] = field(default_factory=dict)  # preset name -> why it has no report
    jobs: list[Job] = field(default_factory=list)


Event = Callable[[str, Job], None]  # ("start" | "done" | "failed" | "skip", job)


def preset_dir(root: Path, preset: Preset) -> Path:
    return root / preset.name


def plan(root: str | Path, scale: str = "default", only: list[str] | None = None, force: bool = False,
         suite: str = "synthetic", data_dir: str | None = None, seed_offset: int = 0) -> list[Job]:
    """The member runs to do (`only` these presets, else those of one data `suite`), each with its action
    decided from what the root already holds; `seed_offset` moves every member's seed by that much."""
    root = Path(root)
    names = only or suite_presets(suite)
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        raise ConfigError(f"unknown preset '{unknown[0]}'; choose among: {', '.join(PRESETS)}")
    jobs = []
    for name in names:
        p = PRESETS[name]
        for m in p.members:
            if not m.runs_at(scale):
                continue
            d = preset_dir(root, p) if not p.multi else preset_dir(root, p) / m.name
            job = Job(p, m.name, scale, d, root / "logs" / f"{p.name}-{m.name}.log", m.est_s, data_dir=data_dir)
            if seed_offset:
                job.seed = int(preset_config(job.spec).get("seed", RunConfig().seed)) + seed_offset
            job.action = decide(job, force)
            jobs.append(job)
    return jobs


def decide(job: Job, force: bool) -> str:
    if not (job.run_dir / CONFIG_FILE).is_file():
        return "fresh"
    from osig_core.api import open_run
    try:
        run = open_run(job.run_dir)
    except RunStoreError:
        return "fresh"
    try:
        stored = {k: v for k, v in run.config.to_dict().items() if k not in IGNORED_FIELDS}
        wanted = {k: v for k, v in job.config().to_dict().items() if k not in IGNORED_FIELDS}
        if wanted.get("width") is None:  # the engine resolved it from the device; any stored width fits
            wanted["width"] = stored.get("width")
        status, _ = run.status()
        done, total = run.steps_done(), run.config.steps
        has_ckpt = bool(run.checkpoints())
    finally:
        run.close()
    if stored != wanted:
        if force:
            return "fresh"
        diff = sorted(k for k in wanted if stored.get(k) != wanted[k])
        raise ConfigError(f"'{job.run_dir}' holds a run with other settings ({', '.join(diff)}); "
                          "remove it, pick another --root, or pass --force to re-run it")
    if status in ("running", "paused"):
        raise ConfigError(f"'{job.run_dir}' is being written by a live process; wait for it or stop it first")
    if force:
        return "fresh"
    if status in ("finished", "diverged") and (status == "diverged" or done >= total):
        return "skip"
    return "resume" if has_ckpt and done > 0 else "fresh"


def run_jobs(jobs: list[Job], parallel: int, on_event: Event | None = None, threads: int | None = None) -> None:
    """Run the jobs' subprocesses, at most `parallel` at a time, the longest (estimated) first, each with
    `threads` CPU threads (default: the cores shared out)."""
    notify = on_event or (lambda kind, job: None)
    todo = sorted((j for j in jobs if j.action != "skip"), key=lambda j: -j.est_s)
    for j in jobs:
        if j.action == "skip":
            j.status = "done"
            notify("skip", j)
    threads = threads or max(1, (os.cpu_count() or 1) // max(1, parallel))
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    running: list[tuple[Job, subprocess.Popen, float, object]] = []
    while todo or running:
        while todo and len(running) < max(1, parallel):
            job = todo.pop(0)
            job.log.parent.mkdir(parents=True, exist_ok=True)
            job.run_dir.parent.mkdir(parents=True, exist_ok=True)
            fh = open(job.log, "w", encoding="utf-8")
            proc = subprocess.Popen(job.command(), stdout=fh, stderr=subprocess.STDOUT, env=env)
            job.status = "running"
            running.append((job, proc, time.time(), fh))
            notify("start", job)
        time.sleep(0.2)
        for entry in list(running):
            job, proc, t0, fh = entry
            if proc.poll() is None:
                continue
            fh.close()
            running.remove(entry)
            job.seconds = time.time() - t0
            _finish(job, proc.returncode)
            notify("done" if job.status == "done" else "failed", job)


def _finish(job: Job, code: int) -> None:
    """A run that diverged (exit 1) is a finished experiment; anything else non-zero failed."""
    if code == 0:
        job.status = "done"
        return
    from osig_core.api import open_run
    try:
        status, reason = open_run(job.run_dir).status()
    except RunStoreError:
        status, reason = "missing", None
    if status == "diverged":
        job.status, job.message = "done", reason or "diverged"
        return
    job.status = "failed"
    tail = job.log.read_text(encoding="utf-8", errors="replace").strip().splitlines() if job.log.is_file() else []
    job.message = tail[-1] if tail else f"exit code {code}"


def run_in_process(jobs: list[Job], on_event: Event | None = None) -> None:
    """The same jobs trained in this process, one after another (tests and debugging)."""
    import osig_core as osig
    notify = on_event or (lambda kind, job: None)
    for job in jobs:
        if job.action == "skip":
            job.status = "done"
            notify("skip", job)
            continue
        notify("start", job)
        t0 = time.time()
        try:
            if job.action == "resume":
                osig.resume(job.run_dir)
            else:
                osig.train(job.config(), job.run_dir, force=True)
            job.status = "done"
        except Exception as e:  # one failed member must not stop the others
            job.status, job.message = "failed", f"{type(e).__name__}: {e}"
        job.seconds = time.time() - t0
        notify("done" if job.status == "done" else "failed", job)


def report_all(root: Path, jobs: list[Job]) -> Outcome:
    """One report per preset whose members all finished."""
    from osig_core.report import build_report
    out = Outcome(jobs=jobs)
    seen: list[Preset] = []
    for j in jobs:
        if j.preset not in seen:
            seen.append(j.preset)
    for p in seen:
        failed = [j for j in jobs if j.preset is p and j.status != "done"]
        if failed:
            out.failures[p.name] = f"{failed[0].label} failed: {failed[0].message}"
            continue
        try:
            out.reports[p.name] = build_report(preset_dir(root, p))
        except Exception as e:  # a report bug must not hide the other presets' results
            out.failures[p.name] = f"report failed: {type(e).__name__}: {e}"
    write_summary(root, out)
    return out


def reproduce(root: str | Path, scale: str = "default", parallel: int | None = None, only: list[str] | None = None,
              force: bool = False, in_process: bool = False, on_event: Event | None = None,
              suite: str = "synthetic", data_dir: str | None = None) -> Outcome:
    """Plan, run (resumably) and report every preset of a data `suite` (or `only` these) at `scale` under `root`."""
    root = Path(root)
    jobs = plan(root, scale, only, force, suite, data_dir)
    if in_process:
        run_in_process(jobs, on_event)
    else:
        run_jobs(jobs, parallel or os.cpu_count() or 1, on_event)
    return report_all(root, jobs)


def summary_rows(out: Outcome) -> list[tuple[str, str, str, str, str]]:
    """(preset, claim, observed, decided on, verdict) for every check, and one row per preset without a report."""
    rows = []
    for name in list(out.reports) + [n for n in out.failures if n not in out.reports]:
        if name in out.reports:
            for c in out.reports[name].checks:
                rows.append((name, c.claim, c.observed, c.decided_on, c.verdict))
            if not out.reports[name].checks:
                rows.append((name, "(no checks)", "", "", "n/a"))
        else:
            rows.append((name, "runs and report", out.failures[name], "", "FAIL"))
    return rows


def write_summary(root: Path, out: Outcome) -> None:
    from osig_core.report.model import _md
    lines = ["# osig reproduce", "", "| preset | claim | observed | decided on | result |", "|---|---|---|---|---|"]
    for name, claim, observed, decided, verdict in summary_rows(out):
        link = f"[{name}]({name}/report/report.md)" if name in out.reports else name
        lines.append(f"| {link} | {_md(claim)} | {_md(observed)} | {_md(decided)} | {verdict} |")
    root.mkdir(parents=True, exist_ok=True)
    (root / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
