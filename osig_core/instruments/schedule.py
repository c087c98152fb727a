"""Which instruments a run uses: built once from explicit settings, each keeps its own schedule (`due`)."""
from __future__ import annotations

from osig_core.instruments.inputs import InstrumentSettings, Problem


def build_instruments(problem: Problem, settings: InstrumentSettings) -> list:
    """Order matters: sharpness first (it publishes the top eigenvector), then what uses it."""
    out = []
    if settings.sharpness.every > 0:
        from osig_core.instruments.per_sample import PerSampleInstrument
        from osig_core.instruments.sharpness import SharpnessInstrument
        sharpness = SharpnessInstrument(problem, settings.sharpness)
        per_sample = PerSampleInstrument(problem, settings.per_sample)
        per_sample.source = sharpness  # its eigenvectors, also right after a resume
        out += [sharpness, per_sample]
    if settings.probes.probes and problem.data.kind == "image":
        from osig_core.instruments.probes import ProbeInstrument
        out.append(ProbeInstrument(problem, settings.probes))
    return out
