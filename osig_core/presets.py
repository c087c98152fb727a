"""Named presets: the paper's experiments as RunConfig overrides (see `osig presets`, docs/presets.md).

A preset has a one-line description, the finding its report checks, a CPU-friendly default, and
overrides per scale: "tiny" (tests: seconds), "quick" (`osig reproduce --quick`: the whole set in
about 15 minutes on 2 cores), "full" (the paper's scale, for a GPU). Multi-run presets (optimizer
comparisons, sweeps, model families) list their member runs; every member shares the preset's base.

A preset is named `NAME[/MEMBER][:SCALE]`, e.g. `fig1-gd`, `fig1-gd:full`, `fig6b-optimizers/adam:quick`.
A bare multi-run NAME means its first member.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from osig_core.config import ConfigError

SCALES = ("tiny", "quick", "default", "full")


@dataclass(frozen=True)
class Member:
    """One run of a preset: its own overrides, and per-scale extras on top of them."""
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    scales: dict[str, dict[str, Any]] = field(default_factory=dict)


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
        out = dict(self.base)
        out.update(self.scales.get(scale, {}))
        out.update(m.overrides)
        out.update(m.scales.get(scale, {}))
        return out

    def spec(self, member: str | None = None, scale: str = "default") -> str:
        """The canonical preset string of a member, as stored in the run's config."""
        text = self.name if not self.multi and member in (None, "main") else f"{self.name}/{self.member(member).name}"
        return text if scale == "default" else f"{text}:{scale}"


@dataclass(frozen=True)
class PresetRef:
    """A parsed `NAME[/MEMBER][:SCALE]`."""
    preset: Preset
    member: str
    scale: str

    def config(self) -> dict[str, Any]:
        return self.preset.config(self.member, self.scale)


# ---------------------------------------------------------------------- the presets
_GD_MLP = {"model": "mlp", "data": "synthetic", "optim": "gd", "loss": "ce"}

PRESET_LIST: list[Preset] = [
    Preset(
        name="fig1-gd",
        description="Full-batch GD on an MLP: loss with its top opposing pairs, sharpness against 2/eta.",
        claim="GD sharpens up to 2/eta and then hovers there (edge of stability) while the losses of "
              "paired outlier groups oscillate in opposition, far more than the overall loss.",
        figure="Figure 1",
        base={**_GD_MLP, "width": 0.25, "n": 1000, "n_test": 500, "lr": 0.02, "steps": 400,
              "sharpness_every": 10, "eval_every": 50, "checkpoint_every": 100},
        scales={"tiny": {"n": 120, "n_test": 50, "width": 0.05, "steps": 12, "sharpness_every": 4, "eval_every": 0},
                "quick": {},
                "full": {"model": "resnet18", "width": 1.0, "data": "cifar10", "n": 50000, "n_test": 10000,
                         "lr": 0.05, "steps": 8000, "sharpness_every": 50, "sharpness_subset": 5000,
                         "eval_every": 200, "checkpoint_every": 1000}},
    ),
]

PRESETS: dict[str, Preset] = {p.name: p for p in PRESET_LIST}


def parse_preset(text: str) -> PresetRef:
    """`NAME[/MEMBER][:SCALE]` -> PresetRef; one clear sentence for anything unknown."""
    rest, _, scale = text.partition(":")
    name, _, member = rest.partition("/")
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}'; choose one of: {', '.join(PRESETS) or '(none)'}")
    preset = PRESETS[name]
    scale = scale or "default"
    if scale not in SCALES:
        raise ConfigError(f"unknown preset scale '{scale}' in '{text}'; choose one of: {', '.join(SCALES)}")
    return PresetRef(preset, preset.member(member or None).name, scale)


def preset_config(name: str, full: bool = False, scale: str | None = None) -> dict[str, Any]:
    """RunConfig overrides for `NAME[/MEMBER][:SCALE]`; `full=True` (or scale) picks the scale."""
    ref = parse_preset(name)
    chosen = "full" if full else (scale or ref.scale)
    out = ref.preset.config(ref.member, chosen)
    out["preset"] = ref.preset.spec(ref.member, chosen)
    return out
