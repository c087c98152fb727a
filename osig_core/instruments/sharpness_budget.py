"""What the sharpness estimates may cost: a running allowance, in training steps, that caps how far a
cheap estimate may refine itself (`--sharpness-budget`).

Every estimate between full ones costs at least one product (a Rayleigh quotient and its certified
residual; free of its gradient part when fused into the step's own pass). Each further Lanczos step
is a whole HVP: on CPU 2-3 gradient passes, so a few of them every 10 steps would cost as much as the
training. The budget lets a cheap estimate take further steps only while the products spent since
the first estimate stay within `per_step` training steps per step of the run. Costs are counted,
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
        """Lanczos steps a cheap estimate at `step` may take (>= 1: its first product is the floor
        every estimate pays), or None: no cap."""
        if math.isinf(self.per_step):
            return None
        first = self.fused(method) * fused_rows if fused_rows else self.hvp(method)
        room = self.per_step * (step + 1) - self.spent - first
        return 1 + max(0, int(room // self.hvp(method)))

    def spend(self, method: str, standalone: int, fused: int) -> None:
        self.spent += standalone * self.hvp(method) + fused * self.fused(method)
