"""`osig sweep`: a grid over any `osig run` flag, each member an ordinary run under one sweep directory.

    osig sweep --model mlp --lr 0.01,0.02,0.04 --optim gd,adam --steps 300 --sharpness-every 10

Every run flag is accepted here as text, so a comma lists several values (the grid is their
cartesian product); on/off flags take on,off. Re-running the same command continues the same sweep.
The work is in osig_core/sweeps/; this module parses, checks and shows progress.
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from pathlib import Path
from typing import Any, Optional

import typer

from osig_tui import console as C
from osig_tui.config_flags import FLAG_HELP, _FLAG_NAMES, _annotation, _default_text, _kw

_METAVARS = {float: "FLOAT,…", int: "INT,…", bool: "on,off", list[str]: "TEXT"}


def grid_parameters() -> list[inspect.Parameter]:
    """Every RunConfig flag as text (so `--lr 0.01,0.02` parses), in the panels of `osig run --help`."""
    from osig_core.config.run_config import RunConfig
    params = []
    for f in dataclasses.fields(RunConfig):
        help_text, panel = FLAG_HELP.get(f.name, ("", "Other"))
        name = _FLAG_NAMES.get(f.name, "--" + f.name.replace("_", "-"))
        run_kind = _annotation(f)  # what `osig run` takes: Optional[float], Optional[list[str]], ...
        kind = typing.get_args(run_kind)[0]
        ann = Optional[list[str]] if kind == list[str] else Optional[str]
        metavar = _METAVARS.get(kind, "TEXT,…")
        params.append(_kw(f.name, ann, typer.Option(None, name, help=help_text, metavar=metavar,
                                                    rich_help_panel=panel, show_default=_default_text(f))))
        if kind is bool:
            params.append(_kw("no_" + f.name, bool, typer.Option(False, "--no-" + f.name.replace("_", "-"),
                                                                 help=f"Same as {name} off.", rich_help_panel=panel)))
    return params


SWEEP_PARAMETERS = [
    _kw("sweep_dir", Optional[Path], typer.Option(None, "--sweep-dir", help="The sweep directory (default: the newest under runs/ with this grid, else runs/<timestamp>-sweep); with no other flags, continue the sweep there.", rich_help_panel="Sweep")),
    _kw("jobs", Optional[int], typer.Option(None, "--jobs", "-j", help="Members at once (default: one per CUDA device, else the CPU cores / --threads).", rich_help_panel="Sweep")),
    _kw("threads", Optional[int], typer.Option(None, "--threads", help="CPU threads per member (default: the cores / --jobs).", rich_help_panel="Sweep")),
    _kw("launcher", str, typer.Option("processes", "--launcher", help="processes (here), submitit (a Slurm job each) or submitit-local.", rich_help_panel="Sweep")),
    _kw("slurm", Optional[list[str]], typer.Option(None, "--slurm", help="A submitit parameter KEY=VALUE (repeatable), e.g. slurm_partition=gpu, timeout_min=600, gpus_per_node=1.", rich_help_panel="Sweep")),
    _kw("config", Optional[Path], typer.Option(None, "--config", help="TOML file of settings every member reads (flags override it).", rich_help_panel="Sweep")),
]


def _grid_flags(flags: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in flags.items():
        if k.startswith("no_") and k[3:] in flags:
            continue
        if flags.get("no_" + k):
            if v is not None:
                from osig_core.sweeps.grid import SweepError, flag
                raise SweepError(f"{flag(k)} and --no-{k.replace('_', '-')} contradict each other")
            v = "off"
        out[k] = v
    return out


def _check_members(grid) -> None:
    """Every member must be a valid `osig run` before the first one starts (loads torch once)."""
    from osig_core.config.run_config import ConfigError
    from osig_core.sweeps.grid import SweepError, _text, flag, members
    from osig_tui.config_flags import build_config
    config = Path(grid.config) if grid.config else None
    for m in members(grid):
        try:
            build_config(m.flags, config)
        except ConfigError as e:
            point = " ".join(f"{flag(k)} {_text(v)}" for k, v in m.varying.items())
            raise SweepError(f"the grid is inconsistent: its member {point} is not a valid run ({str(e).rstrip('.')})") from None


def _open_sweep(sweep_dir: Path | None, config: Path | None, flags: dict[str, Any]):
    from osig_core.sweeps import manifest as M
    from osig_core.sweeps.grid import SweepError, parse_grid
    given = {k: v for k, v in _grid_flags(flags).items() if v is not None}
    if not given and config is None:
        if sweep_dir is None:
            raise SweepError("the grid is empty: give at least one flag several comma-separated values, e.g. --lr 0.01,0.02")
        return M.load(sweep_dir), "continuing"
    grid = parse_grid(given, str(config.resolve()) if config is not None else None)
    if sweep_dir is None:
        sweep_dir = M.find_matching(Path("runs"), grid) or M.default_dir(Path("runs"))
    if M.is_sweep(sweep_dir):
        sweep = M.load(sweep_dir)
        if not M.same_grid(sweep.grid, grid):
            raise SweepError(f"'{sweep_dir}' holds another sweep ({sweep.grid.describe()}); give its flags, none "
                             "(to continue it), or another --sweep-dir")
        return sweep, "continuing"
    if sweep_dir.exists() and (not sweep_dir.is_dir() or any(sweep_dir.iterdir())):
        M.create(sweep_dir, grid)  # raises the sentence for a directory that is not a sweep
    _check_members(grid)
    return M.create(sweep_dir, grid), "new"


def _params(pairs: list[str] | None) -> dict[str, Any]:
    from osig_core.sweeps.grid import SweepError
    out = {}
    for p in pairs or []:
        key, eq, value = p.partition("=")
        if not eq or not key.strip():
            raise SweepError(f"--slurm takes KEY=VALUE, got '{p}'")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def sweep_impl(sweep_dir: Optional[Path] = None, jobs: Optional[int] = None, threads: Optional[int] = None,
               launcher: str = "processes", slurm: Optional[list[str]] = None, config: Optional[Path] = None, **flags) -> None:
    from osig_core.sweeps import launch as LA
    from osig_core.sweeps.grid import SweepError
    from osig_core.sweeps.manifest import next_action
    from osig_core.sweeps.pool import MemberState, read_progress, run_pool
    for name, v in (("--jobs", jobs), ("--threads", threads)):
        if v is not None and v < 1:
            raise SweepError(f"{name} must be at least 1, got {v}")
    if launcher not in LA.LAUNCHERS:
        raise SweepError(f"unknown launcher '{launcher}'; choose one of: {', '.join(LA.LAUNCHERS)}")
    if slurm and not launcher.startswith("submitit"):
        raise SweepError("--slurm is for --launcher submitit")
    sweep, how = _open_sweep(sweep_dir, config, flags)
    states = [MemberState(m, next_action(sweep, m)) for m in sweep.members]
    runner = LA.make_launcher(launcher, sweep.dir, _params(slurm))
    devices = [] if any(str(m.flags.get("device", "auto")) in ("cpu", "mps") for m in sweep.members) else LA.cuda_devices()
    if launcher == "processes":
        slots, per_member = LA.plan_slots(jobs, threads, devices, len(states))
    else:
        slots, per_member, devices = jobs or len(states), threads, []
    for st in (s for s in states if s.action == "skip"):  # done before: shown with their last step and loss
        read_progress(st, sweep)
        st.status = st.reader.status()[0] if st.reader is not None else "finished"
        if st.reader is not None:
            st.reader.close()
            st.reader = None
        sweep.set(st.member, st.status, steps_done=st.step)  # sweep.json may not know yet (a sweep killed with -9)
    todo = sum(st.action != "skip" for st in states)
    C.info(f"sweep {sweep.dir} ({how}): {len(states)} members, {sweep.grid.describe()}; {todo} to run, "
           f"{slots} at once" + (f", {per_member} thread{'s' if per_member > 1 else ''} each" if per_member else "") + f" ({runner.name})")
    view = SweepView(states)
    with view:
        complete = run_pool(sweep, states, runner, slots, per_member, devices, view.update)
    counts = {s: sum(st.status == s for st in states) for s in ("finished", "diverged", "stopped", "failed", "pending")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if not complete:
        C.error(f"sweep interrupted ({summary}); run the same command again to continue it")
        raise typer.Exit(130)
    failed = [st for st in states if st.status == "failed"]
    if failed:
        C.error(f"{len(failed)} of {len(states)} members failed, first {failed[0].member.name}: "
                f"{failed[0].message or 'see its engine.log'}")
        raise typer.Exit(1)
    C.info(f"sweep {sweep.dir}: {summary}; compare them with: osig compare {sweep.dir}")


class SweepView:
    """One line per member: a table redrawn in place on a terminal; in a log, a line when a member
    starts, every tenth of its steps, and when it ends."""

    def __init__(self, states: list) -> None:
        self.states = states
        self.live = None
        self.shown: dict[str, int] = {}

    def __enter__(self) -> "SweepView":
        if C.out.is_terminal:
            from rich.live import Live
            self.live = Live(self._table(), console=C.out, refresh_per_second=4, transient=False)
            self.live.__enter__()
        else:
            for st in self.states:
                if st.action == "skip":
                    C.info(self.line(st) + " (done before)")
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(*exc)

    def line(self, st) -> str:
        loss = "-" if st.loss is None else f"{st.loss:.4g}"
        total = st.total or st.member.flags.get("steps") or "?"
        msg = f"  {st.message}" if st.message and st.status not in ("running", "finished") else ""
        return f"{st.member.name}  {st.step}/{total}  loss {loss}  {st.status}{msg}"

    def update(self, kind: str, st) -> None:
        if self.live is not None:
            self.live.update(self._table())
            return
        tenth = max(1, (st.total or 10) // 10)
        if kind == "progress" and (st.step // tenth <= self.shown.get(st.member.name, 0) // tenth or st.step >= st.total):
            return
        self.shown[st.member.name] = st.step
        C.info(self.line(st))

    def _table(self):
        from rich.table import Table
        t = Table(box=None, pad_edge=False, header_style="bold")
        for col in ("member", "steps", "loss", "status"):
            t.add_column(col, no_wrap=col != "status", overflow="ellipsis")
        for st in self.states:
            total = st.total or st.member.flags.get("steps") or "?"
            status = st.status + (f" ({st.message})" if st.message and st.status not in ("running", "finished") else "")
            t.add_row(C.safe(st.member.name), f"{st.step}/{total}", "-" if st.loss is None else f"{st.loss:.4g}", C.safe(status))
        return t


def register(app: typer.Typer) -> None:
    def sweep_command(**kwargs) -> None:
        """Run a grid over any `osig run` flag: comma-separated values (--lr 0.01,0.02 --optim gd,adam)
        make one member each, an ordinary run directory under one sweep directory with its sweep.json.

        On/off flags take on,off. Re-running the same command continues the sweep (finished members are
        skipped, stopped ones resumed); Ctrl-C stops every member resumably. Then: osig compare SWEEP."""
        sweep_impl(**kwargs)
    sweep_command.__signature__ = inspect.Signature(SWEEP_PARAMETERS + grid_parameters())
    app.command("sweep")(sweep_command)
