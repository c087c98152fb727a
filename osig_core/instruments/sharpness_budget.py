"""An optional cap on what sharpness estimates may cost (`--sharpness-budget`; 0, the default: none).

Accuracy comes first: by default every estimate runs until its band is closed (docs/curvature.md).
A user who wants a fixed cost sets a budget: an estimate between full ones then takes further
Lanczos steps only while the products spent since the first estimate stay within `per_step`
training steps per step of the run; one cut short keeps a band that still holds, only wider. Costs are counted,
never timed: HVP_COST gradient passes per HVP over the step's samples, so two identical runs (and a
resumed one) refine exactly the same estimates. The first estimate (cold, run to the tolerance) is
not counted; full estimates are, and the cheap ones after them refine less until the run catches up.
"""
from __future__ import annotations

import math

# One HVP in gradient passes over the same samples (benchmarks/bench_fused_hvp.py on CPU: 2.1 for the
# MLP by double backward, 3.2 for VGG-11 by forward-over-reverse; fused into the step's pass, the
# extra over the step was 1.1 and 2.3).
HVP_COST = {"double-backward": 2.0, "fwd-rev": 3.0}


class ProductBudget:
    def __init__(self, per_step: float, hvp_samples: int, step_samples: int):
        """per_step: training steps' worth of products allowed per step (inf: no cap, for tests).
        hvp_samples / step_samples: an HVP covers hvp_samples, a training step step_samples."""
        self.per_step = float(per_step)
        self.scale = max(1, int(hvp_samples)) / max(1, int(step_samples))
        self.spent = 0.0  # training steps' worth of products spent so far

    def hvp(self, method: str) -> float:
        """One standalone HVP, in training steps."""
        return HVP_COST.get(method, 3.0) * self.scale

    def fused(self, method: str) -> float:
        """One product computed in the step's own pass: the gradient part is the step's."""
        return (HVP_COST.get(method, 3.0) - 1.0) * self.scale

    def steps_allowed(self, step: int, method: str, fused_rows: int) -> int | None:
        """Lanczos steps an estimate at `step` may take (>= 1: its first product is the floor
        every estimate pays), or None: no cap (per_step 0, the default, or inf)."""
        if math.isinf(self.per_step) or self.per_step <= 0:
            return None
        first = self.fused(method) * fused_rows if fused_rows else self.hvp(method)
        room = self.per_step * (step + 1) - self.spent - first
        return 1 + max(0, int(room // self.hvp(method)))

    def spend(self, method: str, standalone: int, fused: int) -> None:
        self.spent += standalone * self.hvp(method) + fused * self.fused(method)
