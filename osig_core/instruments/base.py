"""What an instrument gives back to be stored (its inputs: osig_core/instruments/inputs.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Measurement:
    scalars: dict[str, float] = field(default_factory=dict)  # per-step scalars (become export keys)
    records: dict[str, Any] = field(default_factory=dict)  # kind -> JSON-able payload stored for this step
