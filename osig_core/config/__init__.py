"""RunConfig, the one description of a run, and the bounds its settings are checked against.

`from osig_core.config import RunConfig, ConfigError` stays a valid spelling (osig's own modules
import `osig_core.config.run_config`)."""
from osig_core.config.run_config import ConfigError, RunConfig

__all__ = ["RunConfig", "ConfigError"]
