"""Instruments built from a RunConfig the way `osig run` builds them (osig_core/engine/inputs.py)."""
from __future__ import annotations

from osig_core.engine.inputs import instrument_settings, problem_of
from osig_core.instruments.per_sample import PerSampleInstrument
from osig_core.instruments.probes import ProbeInstrument
from osig_core.instruments.sharpness import SharpnessInstrument


def sharpness_for(cfg, model, data, device="cpu") -> SharpnessInstrument:
    return SharpnessInstrument(problem_of(cfg, model, data, device), instrument_settings(cfg).sharpness)


def per_sample_for(cfg, model, data, device="cpu") -> PerSampleInstrument:
    return PerSampleInstrument(problem_of(cfg, model, data, device), instrument_settings(cfg).per_sample)


def probes_for(cfg, model, data, device="cpu") -> ProbeInstrument:
    return ProbeInstrument(problem_of(cfg, model, data, device), instrument_settings(cfg).probes)
