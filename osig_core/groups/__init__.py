"""Opposing-signal groups, from per-sample losses to pairs: numpy only (no torch), so that the engine,
the Monitor and the front end (`osig watch`, `osig groups`) share it without loading the training code.

extremes (the step's largest loss changes) -> window (recent changes) -> find (paired groups) ->
tracking (pairs across steps) -> detector (GroupDetector, what a run records); pair_stats,
pair_summary, render and evaluate read stored pairs back; synth plants pairs for the tests.
"""
