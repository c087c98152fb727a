"""`Monitor(on_step=...)`: each recorded step's measurements handed to the user's tracker.

The callback gets a fresh dict (osig_core.export.step_measurements: "step", the run's scalar names,
`band_lower`/`band_upper`, `layer_share/NAME`) after the step is written and checkpointed, and
before pause/stop from `osig watch` are handled, so a tracker sees every step the run holds.
An exception from the callback is not swallowed: a tracker that silently stops logging is worse
than a loop that stops. It propagates from `mon.step()` unchanged (its type is the tracker's own),
with a note naming the step; the step itself is already recorded.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from osig_core.config.run_config import ConfigError
from osig_core.export.step_measurements import step_measurements


def check_callback(on_step: Any) -> Callable[[dict], Any] | None:
    if on_step is not None and not callable(on_step):
        raise ConfigError(f"on_step must be a function taking one dict of measurements, got {type(on_step).__name__}")
    return on_step


def notify(on_step: Callable[[dict], Any] | None, step: int, scalars: Mapping[str, Any],
           records: Mapping[str, Any]) -> None:
    if on_step is None:
        return
    try:
        on_step(step_measurements(step, scalars, records))
    except Exception as e:
        if hasattr(e, "add_note"):  # Python 3.11+
            e.add_note(f"(raised by the Monitor's on_step callback at step {step}; the step was recorded)")
        raise
