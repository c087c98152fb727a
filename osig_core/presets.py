"""Named presets: RunConfig overrides for the paper's experiments (see `osig presets`)."""
from __future__ import annotations

from typing import Any

from osig_core.config import ConfigError

PRESETS: dict[str, dict[str, Any]] = {}


def preset_config(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}'; choose one of: {', '.join(sorted(PRESETS)) or '(none)'}")
    return dict(PRESETS[name])
