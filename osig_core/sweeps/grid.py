"""The grid of a sweep: `--lr 0.01,0.02 --optim gd,adam` as fixed settings and axes, and its members.

Flags arrive as the text the user typed (every `osig run` flag, so a comma can list several values);
they are typed here with RunConfig's own field types, so a member's flags mean exactly what the same
flags mean to `osig run`. Torch-free: checking a member's settings (build_config + validate) is the
caller's job (osig_tui/commands_sweep.py).
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import re
import types
import typing
from functools import cache
from typing import Any

from osig_core.config.run_config import ConfigError, RunConfig

BOOL_WORDS = {"true": True, "on": True, "yes": True, "1": True, "false": False, "off": False, "no": False, "0": False}
MAX_MEMBERS = 10_000  # far above any sweep a person starts on purpose; a typo in a range stops here


class SweepError(ConfigError):
    """A bad grid or sweep directory: one sentence for the user."""


def flag(name: str) -> str:
    return "--probe" if name == "probes" else "--" + name.replace("_", "-")


@cache
def field_kinds() -> dict[str, type]:
    """field -> bool, int, float, str or list (RunConfig's annotations, optional stripped)."""
    hints = typing.get_type_hints(RunConfig)
    out: dict[str, type] = {}
    for f in dataclasses.fields(RunConfig):
        h = hints[f.name]
        if typing.get_origin(h) in (typing.Union, types.UnionType):
            h = next(a for a in typing.get_args(h) if a is not type(None))
        out[f.name] = list if typing.get_origin(h) is list else h
    return out


def split_values(text: str) -> list[str]:
    """Split at the commas outside brackets and quotes, so `--opt-args '{"a": 1, "b": 2}'` is one value."""
    parts, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur).strip())
    return parts


def convert(name: str, text: str) -> Any:
    """One value of a flag, typed as `osig run` would type it; SweepError names the flag."""
    kind = field_kinds()[name]
    if text == "":
        raise SweepError(f"{flag(name)} has an empty value in its list; give values like {flag(name)} a,b")
    try:
        if kind is bool:
            return BOOL_WORDS[text.lower()]
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except (KeyError, ValueError):
        what = {bool: "on or off (true/false)", int: "an integer", float: "a number"}[kind]
        raise SweepError(f"{flag(name)} takes {what}, got '{text}'") from None
    return text


@dataclasses.dataclass
class Grid:
    """Settings every member shares (`fixed`) and the axes of the cartesian product, in flag order."""
    fixed: dict[str, Any]
    axes: dict[str, list[Any]]
    config: str | None = None  # a --config TOML every member reads

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps({"fixed": self.fixed, "axes": self.axes, "config": self.config}))

    @classmethod
    def from_json(cls, doc: Any) -> "Grid":
        if not isinstance(doc, dict) or not isinstance(doc.get("fixed"), dict) or not isinstance(doc.get("axes"), dict):
            raise ValueError("no grid")
        return cls(dict(doc["fixed"]), {k: list(v) for k, v in doc["axes"].items()}, doc.get("config"))

    def size(self) -> int:
        n = 1
        for values in self.axes.values():
            n *= len(values)
        return n

    def describe(self) -> str:
        return " × ".join(f"{flag(k)} {','.join(map(_text, v))}" for k, v in self.axes.items()) or "one member"


def parse_grid(raw: dict[str, Any], config: str | None = None) -> Grid:
    """Flags as Typer parsed them (text; booleans from --no-X as False; --probe as a list) -> Grid."""
    fixed: dict[str, Any] = {}
    axes: dict[str, list[Any]] = {}
    known = field_kinds()
    for name, value in raw.items():
        if value is None or name not in known:
            continue
        if name == "probes":
            items = list(value)
            if len(items) == 1 and len(split_values(items[0])) > 1:  # --probe sky,red: one probe per member
                axes[name] = [[convert(name, v)] for v in split_values(items[0])]
            elif any(len(split_values(v)) > 1 for v in items):
                raise SweepError("--probe takes either a grid (--probe sky,red: one member each) or a list for "
                                 "every member (--probe sky --probe red), not both")
            else:
                fixed[name] = [convert(name, v) for v in items]
            continue
        if isinstance(value, bool):
            fixed[name] = value
            continue
        values = [convert(name, v) for v in split_values(str(value))]
        if len(values) == 1:
            fixed[name] = values[0]
            continue
        dupes = sorted({_text(v) for v in values if values.count(v) > 1})
        if dupes:
            raise SweepError(f"{flag(name)} lists {dupes[0]} twice; each value of a grid makes one member")
        axes[name] = values
    grid = Grid(fixed, axes, config)
    if not axes:
        raise SweepError("the grid is empty: give at least one flag several comma-separated values, "
                         "e.g. --lr 0.01,0.02 (one `osig run` per value)")
    if grid.size() > MAX_MEMBERS:
        raise SweepError(f"the grid has {grid.size()} members, more than the {MAX_MEMBERS} a sweep takes")
    return grid


@dataclasses.dataclass
class Member:
    index: int
    name: str  # its run directory's name inside the sweep directory
    flags: dict[str, Any]  # every flag it runs with (fixed + its point of the grid)
    varying: dict[str, Any]  # its point of the grid


def members(grid: Grid) -> list[Member]:
    """The cartesian product in flag order (the last axis varies fastest), each with a readable name."""
    keys = list(grid.axes)
    combos = list(itertools.product(*(grid.axes[k] for k in keys)))
    width = len(str(max(0, len(combos) - 1)))
    out = []
    for i, combo in enumerate(combos):
        varying = dict(zip(keys, combo))
        label = "_".join(f"{k.replace('_', '-')}-{_text(v)}" for k, v in varying.items())
        name = f"{i:0{width}d}_" + re.sub(r"[^A-Za-z0-9._+=-]+", "-", label)[:80].strip("-")
        out.append(Member(i, name, {**grid.fixed, **varying}, varying))
    return out


def run_argv(flags: dict[str, Any], config: str | None) -> list[str]:
    """`osig run` arguments that give a member these settings."""
    argv = [] if config is None else ["--config", config]
    for name, value in flags.items():
        if isinstance(value, bool):
            argv.append(flag(name) if value else "--no-" + name.replace("_", "-"))
        elif isinstance(value, list):
            for v in value:
                argv += [flag(name), str(v)]
        else:
            argv += [flag(name), repr(value) if isinstance(value, float) else str(value)]
    return argv


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, list):
        return "+".join(map(str, v))
    return f"{v:g}" if isinstance(v, float) else str(v)
