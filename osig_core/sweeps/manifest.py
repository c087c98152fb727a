"""sweep.json: what a sweep directory holds (the grid, each member's flags, run directory and status),
and what each member needs next (skip, resume, start).

Only the process running the sweep writes it (atomically: a temporary file, then a rename), so a
reader or a second `osig sweep` always sees a whole file. Member run directories are ordinary runs;
their own config.json is the truth about what they trained, checked against sweep.json before
anything starts.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from osig_core.store import layout as L
from osig_core.sweeps.grid import Grid, Member, SweepError, flag, members

SWEEP_FILE = "sweep.json"
FORMAT = "osig-sweep"
VERSION = 1
DONE = ("finished", "diverged")  # a diverged member is a result, not something to retry


@dataclass
class Sweep:
    dir: Path
    grid: Grid
    members: list[Member]
    status: dict[str, dict[str, Any]] = field(default_factory=dict)  # member name -> {"status", "message", ...}
    created: str = ""

    def run_dir(self, m: Member) -> Path:
        return self.dir / m.name

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "created": self.created, "updated": datetime.now().isoformat(timespec="seconds"),
                "grid": self.grid.to_json(),
                "members": [{"name": m.name, "run_dir": m.name, "flags": m.flags, "varying": m.varying,
                             **self.status.get(m.name, {"status": "pending"})} for m in self.members]}

    def save(self) -> None:
        tmp = self.dir / (SWEEP_FILE + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")
        os.replace(tmp, self.dir / SWEEP_FILE)

    def set(self, m: Member, status: str, **extra: Any) -> None:
        self.status[m.name] = {"status": status, **{k: v for k, v in extra.items() if v is not None}}


def is_sweep(path: Path) -> bool:
    return (Path(path) / SWEEP_FILE).is_file()


def load(path: Path) -> Sweep:
    """Read a sweep directory; SweepError (one sentence) if it is not one."""
    path = Path(path)
    f = path / SWEEP_FILE
    if not path.is_dir():
        raise SweepError(f"'{path}' is not a directory, so it is not an osig sweep")
    if not f.is_file():
        raise SweepError(f"'{path}' is not an osig sweep (no {SWEEP_FILE})")
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT:
            raise ValueError("not a sweep")
        if int(doc.get("version", 0)) > VERSION:
            raise SweepError(f"'{path}' was written by a newer osig (sweep format {doc['version']}); upgrade osig to read it")
        grid = Grid.from_json(doc["grid"])
        expected = members(grid)
        stored = doc["members"]
        if len(stored) != len(expected) or any(_norm(s["flags"]) != _norm(m.flags) for s, m in zip(stored, expected)):
            raise ValueError("members do not match the grid")
        for s, m in zip(stored, expected):  # the names it was created with (an older osig may have named them otherwise)
            if not isinstance(s["name"], str) or Path(s["name"]).name != s["name"] or s["name"] in ("", ".", ".."):
                raise ValueError("bad member name")
            m.name = s["name"]
        status = {s["name"]: {k: v for k, v in s.items() if k not in ("name", "run_dir", "flags", "varying")}
                  for s in stored}
    except SweepError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError):
        raise SweepError(f"'{f}' is corrupt (not the sweep.json osig writes)") from None
    return Sweep(path, grid, expected, status, str(doc.get("created", "")))


def create(path: Path, grid: Grid) -> Sweep:
    """A new sweep directory (or an empty existing one) with its sweep.json."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SweepError(f"'{path}' exists and is not a directory")
    if path.is_dir() and any(path.iterdir()):
        raise SweepError(f"'{path}' is not an osig sweep (no {SWEEP_FILE}) and not empty; choose a new --sweep-dir")
    path.mkdir(parents=True, exist_ok=True)
    s = Sweep(path, grid, members(grid), created=datetime.now().isoformat(timespec="seconds"))
    s.save()
    return s


def same_grid(a: Grid, b: Grid) -> bool:
    return _norm(a.to_json()) == _norm(b.to_json())


def find_matching(root: Path, grid: Grid) -> Path | None:
    """The newest sweep under `root` with this very grid (re-running a command continues it)."""
    if not Path(root).is_dir():
        return None
    found = []
    for d in Path(root).iterdir():
        if is_sweep(d):
            try:
                if same_grid(load(d).grid, grid):
                    found.append(d)
            except SweepError:
                continue
    return max(found, key=lambda d: (d / SWEEP_FILE).stat().st_mtime, default=None)


def default_dir(root: Path) -> Path:
    base = Path(root) / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-sweep"
    path, k = base, 2
    while path.exists():
        path, k = base.with_name(f"{base.name}-{k}"), k + 1
    return path


def next_action(sweep: Sweep, m: Member) -> str:
    """'skip' (done), 'resume' (has a checkpoint), 'fresh' (nothing there) or 'restart' (a start that
    left no checkpoint). SweepError if the directory holds other settings or a live run."""
    d = sweep.run_dir(m)
    if not (d / L.CONFIG_FILE).is_file():
        return "restart" if (d / L.DB_FILE).exists() else "fresh"
    from osig_core.store.reader import RunReader
    try:
        r = RunReader(d)
    except L.RunStoreError as e:
        raise SweepError(f"member '{d}' cannot be read ({e}); remove it to start that member again") from None
    try:
        cfg = r.config.to_dict()
        diff = [k for k, v in m.flags.items() if _norm(cfg.get(k)) != _norm(v)]
        if diff:
            k = diff[0]
            raise SweepError(f"member '{d}' holds a run with {flag(k)} {cfg.get(k)!r}, but {SWEEP_FILE} says "
                             f"{m.flags[k]!r}; move it away or use another --sweep-dir")
        status, _ = r.status()
        if status in ("running", "paused", "starting"):
            raise SweepError(f"member '{d}' is being trained by another live process; wait for it or stop it first")
        if status in DONE and (status == "diverged" or r.steps_done() >= r.config.steps):
            return "skip"
        return "resume" if r.checkpoints() and r.steps_done() > 0 else "restart"
    finally:
        r.close()


def _norm(v: Any) -> Any:
    return json.loads(json.dumps(v, sort_keys=True))


def wait_quiet(d: Path, timeout: float = 120.0) -> None:
    """Wait (bounded) until a member's run has no live writer, after its launcher says it ended."""
    from osig_core.store.reader import LIVE_STATUSES, RunReader
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            r = RunReader(d)
            live = r.status()[0] in LIVE_STATUSES
            r.close()
        except L.RunStoreError:
            return
        if not live:
            return
        time.sleep(0.2)
