"""Open what a report is about: one run directory, or a folder of a multi-run preset's member runs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from osig_core.api import Run, open_run
from osig_core.config.run_config import ConfigError
from osig_core.presets.paper import Preset, parse_preset
from osig_core.store.layout import CONFIG_FILE, RunStoreError


@dataclass
class RunSet:
    preset: Preset | None
    scale: str
    runs: dict[str, Run]  # member name -> opened run, in the preset's member order
    path: Path

    def get(self, member: str) -> Run | None:
        return self.runs.get(member)

    @property
    def first(self) -> Run:
        return next(iter(self.runs.values()))


def _preset_of(run: Run) -> tuple[Preset | None, str, str]:
    """(preset, member, scale) from the run's stored config; (None, run id, 'default') without one."""
    text = run.config.preset
    if not text:
        return None, "main", "default"
    try:
        ref = parse_preset(text)
    except ConfigError:
        return None, "main", "default"
    return ref.preset, ref.member, ref.scale


def load_runs(path: str | Path) -> RunSet:
    """A run directory, or a folder holding run directories of one preset (e.g. `osig reproduce`'s)."""
    p = Path(path)
    if not p.is_dir():
        raise RunStoreError(f"'{p}' is not a directory, so it is not an osig run")
    if (p / CONFIG_FILE).is_file():
        run = open_run(p)
        preset, member, scale = _preset_of(run)
        return RunSet(preset, scale, {member: run}, p)
    children = [c for c in sorted(p.iterdir()) if c.is_dir() and (c / CONFIG_FILE).is_file()]
    if not children:
        raise RunStoreError(f"'{p}' holds no osig run (no {CONFIG_FILE} in it or its sub-folders)")
    found: dict[str, tuple[Preset | None, str, str, Run]] = {}
    for c in children:
        run = open_run(c)
        preset, member, scale = _preset_of(run)
        found[c.name] = (preset, member, scale, run)
    names = {None if v[0] is None else v[0].name for v in found.values()}
    if len(names) != 1 or None in names:
        raise RunStoreError(f"'{p}' holds runs of several presets (or runs without one); report one run directory at a time")
    preset = next(iter(found.values()))[0]
    by_member = {v[1]: v[3] for v in found.values()}
    order = [m.name for m in preset.members if m.name in by_member]
    scales = {v[2] for v in found.values()}
    return RunSet(preset, scales.pop() if len(scales) == 1 else "mixed", {m: by_member[m] for m in order}, p)
