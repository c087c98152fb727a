"""ConfigError, in a module that imports nothing of osig: RunConfig.validate() calls plugin resolution
and data checks that raise it, and they must not import osig_core.config.run_config back (no import cycle).
osig_core.config.run_config re-exports it, so `from osig_core.config.run_config import ConfigError` stays the usual spelling."""
from __future__ import annotations


class ConfigError(ValueError):
    """A user-facing configuration problem; its message is one sentence shown as-is."""

