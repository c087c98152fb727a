"""What a preset is: Member, Preset and PresetRef, its scales and data suites.

Kept apart from the preset lists (osig_core.presets.paper and osig_core.presets.real) so that both build on
these types without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from osig_core.config.run_config import ConfigError

SCALES = ("tiny", "quick", "default", "full")
SUITES = ("synthetic", "fashion-mnist", "cifar10")  # which data a preset runs on: `osig reproduce --data SUITE`


@dataclass(frozen=True)
class Member:
    """One run of a preset: its own overrides, and per-scale extras on top of them."""
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    scales: dict[str, dict[str, Any]] = field(default_factory=dict)
    est_s: float = 30.0  # rough seconds at the quick scale on one core: `osig reproduce` starts long runs first
    only: tuple[str, ...] = ()  # scales at which `osig reproduce` runs it (empty: all)

    def runs_at(self, scale: str) -> bool:
        return not self.only or scale in self.only


MAIN = (Member("main"),)


@dataclass(frozen=True)
class Preset:
    name: str
    description: str  # one line, shown by `osig presets`
    claim: str  # the paper's finding the report checks
    figure: str  # where it is in the paper
    base: dict[str, Any]  # the CPU-friendly default
    scales: dict[str, dict[str, Any]] = field(default_factory=dict)  # "tiny" / "quick" / "full" overrides
    members: tuple[Member, ...] = MAIN
    suite: str = "synthetic"  # one of SUITES: the built-in data, or real images (osig_core/presets/real.py)

    @property
    def multi(self) -> bool:
        return len(self.members) > 1

    def member(self, name: str | None) -> Member:
        if name is None:
            return self.members[0]
        for m in self.members:
            if m.name == name:
                return m
        raise ConfigError(f"preset '{self.name}' has no run '{name}'; its runs are: {', '.join(m.name for m in self.members)}")

    def config(self, member: str | None = None, scale: str = "default") -> dict[str, Any]:
        """The RunConfig overrides of one member at one scale (base < scale < member < member@scale)."""
        if scale not in SCALES:
            raise ConfigError(f"unknown preset scale '{scale}'; choose one of: {', '.join(SCALES)}")
        m = self.member(member)
        out = {**PRESET_DEFAULTS, **self.base}
        out.update(self.scales.get(scale, {}))
        out.update(m.overrides)
        out.update(m.scales.get(scale, {}))
        return out

    def spec(self, member: str | None = None, scale: str = "default") -> str:
        """The canonical preset string of a member, as stored in the run's config."""
        text = self.name if not self.multi and member in (None, "main") else f"{self.name}/{self.member(member).name}"
        return text if scale == "default" else f"{text}:{scale}"


# Beneath every preset: the paper's pictures measure the sharpness on each of the 5 steps after it
# crosses the threshold (a plain `osig run` leaves that off: it is what makes estimates cheap to leave on).
PRESET_DEFAULTS: dict[str, Any] = {"sharpness_follow": 5}


@dataclass(frozen=True)
class PresetRef:
    """A parsed `NAME[/MEMBER][:SCALE]`."""
    preset: Preset
    member: str
    scale: str

    def config(self) -> dict[str, Any]:
        return self.preset.config(self.member, self.scale)
