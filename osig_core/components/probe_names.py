"""The probe names the probe instrument understands (torch-free: RunConfig.validate checks them too)."""
from __future__ import annotations

PROBE_BLOCKS = ("sky", "red", "green", "white", "black")  # whole images of one colour (probes.PROBE_COLOURS)
FEATURE_PROBE = "feature:"  # `feature:sky`: the dataset's planted feature drawn alone (Dataset.feature_images)
