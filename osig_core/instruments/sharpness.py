"""Sharpness: the top Hessian eigenvalue(s) of the training loss, against the stability threshold.

Due every `--sharpness-every` steps (step 0 included), on a loss spike, and (`--sharpness-follow K`,
off by default) on each of the K steps after an estimate that crossed the threshold. Each estimate runs warm-started
Lanczos on HVPs of the loss the optimiser minimises (GD: the full-batch mean in chunks; minibatch
optimizers: the full training set, or a fixed `--sharpness-subset`). For Adam it also estimates the
preconditioned sharpness lambda_max(P^-1 H) that Adam's threshold applies to.

Every estimate starts warm (the last estimate's top Ritz vector and its guards) with a fresh Gaussian
part, and runs until its band [value, upper] is within `--sharpness-cheap-tol` of the value: the
lower end is certain, the upper end holds with probability >= 99.9% (eig_band.py), so a crossing is
caught rather than followed. The first estimate and every FULL_EVERY-th interval also run every
top-k residual to `--sharpness-tol`. See docs/curvature.md for the keys.
"""
from __future__ import annotations

import math

import torch

from osig_core.instruments.base import Measurement
from osig_core.instruments.hvp import LossHessian, auto_method, flat_params, trainable, unflatten
from osig_core.instruments.eig_band import BAND_KIND, BAND_PROBABILITY, mixed_start
from osig_core.instruments.inputs import Problem, SharpnessLink, SharpnessSettings, StepInputs
from osig_core.instruments.lanczos import EigResult, lanczos_top
from osig_core.instruments.sharpness_budget import ProductBudget
from osig_core.instruments.layer_curvature import curvature_shares
from osig_core.instruments.sharpness_parts import align_signs, as_flat, counting_products, sharpness_indices

BASIS_BYTES = 1.5e9  # cap on the Lanczos basis memory (sets the iteration limit for big models)
WARM_HISTORY = 2  # previous estimates whose eigenvectors may seed the next Lanczos run
DEFAULT_BAND = 0.05  # the band's relative width an estimate stops at when --sharpness-cheap-tol is 0
FULL_EVERY = 20  # at steps that are multiples of FULL_EVERY * sharpness_every, Lanczos runs to the tolerance


class SharpnessInstrument:
    name = "sharpness"

    def __init__(self, problem: Problem, settings: SharpnessSettings):
        self.settings, self.model = settings, problem.model
        model, data = problem.model, problem.data
        self.device = torch.device(problem.device)
        self.chunk_size, self.label_smoothing = problem.chunk_size, problem.label_smoothing
        self._report = None  # set per estimate from the step's `report`
        ids = sharpness_indices(settings.subset, settings.seed, data)
        self.x, self.y = (data.x, data.y) if ids is None else (data.x[ids], data.y[ids])
        # the products of an estimate's start can come from the step's own gradient pass when that
        # pass differentiates exactly this loss: full-batch, all samples, no dropout (the step's
        # forward would drop units the HVPs keep)
        dropout = any(isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > 0 for m in model.modules())
        self.fusable = problem.full_batch and ids is None and not dropout
        self._promised: tuple[int, torch.Tensor, float] | None = None  # (step, start, overlap bound) promised to the step's pass
        self.loss = problem.loss
        self.method = auto_method(model)
        self.history: list[tuple[int, torch.Tensor]] = []  # (step, top-k eigenvectors [k, dim]), newest first
        self.precond_history: list[tuple[int, torch.Tensor]] = []
        self.vectors: torch.Tensor | None = None  # the last estimate's Ritz vectors [k, dim] (published as top_eigvecs)
        self.last_values: dict[str, float] = {}  # the last top eigenvalue per operator ("raw", "precond")
        self.theta_ref: torch.Tensor | None = None
        self.last_burst = -10**9
        self.last_estimate = -10**9
        self.follow_until = -1
        self.last_side: bool | None = None  # was the last estimate above the threshold?
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(settings.seed) + 7919)
        self.budget = ProductBudget(settings.budget, len(self.x), problem.samples_per_step())
        self.capped: dict[str, bool] = {}  # per operator: did --sharpness-budget stop the last estimate?
        self.fused_rows = 0  # products of the last raw estimate that came from the step's own pass

    # ------------------------------------------------------------------ state (checkpoints)
    def state_dict(self) -> dict:
        """Everything that shapes later estimates: warm-start vectors, reference weights, the random
        generator, the schedule. {"tensors": plain CPU tensors (safetensors), "json": JSON-able}."""
        tensors = {"generator": self.generator.get_state().clone()}
        doc = {"method": self.method, "last_burst": self.last_burst, "last_estimate": self.last_estimate,
               "follow_until": self.follow_until, "last_side": self.last_side, "last_values": self.last_values,
               "budget_spent": self.budget.spent}
        for key, history in (("history", self.history), ("precond_history", self.precond_history)):
            doc[key] = [step for step, _ in history]
            tensors.update({f"{key}.{i}": v.detach().cpu().contiguous().clone() for i, (_, v) in enumerate(history)})
        for key in ("theta_ref", "vectors"):
            if getattr(self, key) is not None:
                tensors[key] = getattr(self, key).detach().cpu().contiguous().clone()
        return {"tensors": tensors, "json": doc}

    def load_state_dict(self, state: dict) -> None:
        tensors, doc = state.get("tensors", {}), state.get("json", {})
        if "generator" in tensors:
            self.generator.set_state(tensors["generator"].cpu().to(torch.uint8))
        self.method = str(doc.get("method", self.method))
        for key in ("last_burst", "last_estimate", "follow_until"):
            if key in doc:
                setattr(self, key, int(doc[key]))
        self.last_values = {str(k): float(v) for k, v in doc.get("last_values", {}).items()}
        self.budget.spent = float(doc.get("budget_spent", 0.0))
        side = doc.get("last_side")
        self.last_side = None if side is None else bool(side)
        like = self.x.new_empty(0, dtype=next(self.model.parameters()).dtype)
        for key in ("history", "precond_history"):
            steps = doc.get(key, [])
            setattr(self, key, [(int(step), tensors[f"{key}.{i}"].to(device=like.device, dtype=like.dtype))
                                for i, step in enumerate(steps)])
        for key in ("theta_ref", "vectors"):
            if key in tensors:
                setattr(self, key, tensors[key].to(device=like.device, dtype=like.dtype))

    # ------------------------------------------------------------------ schedule
    def due(self, step: int, loss_spike: bool) -> bool:
        every = int(self.settings.every)
        if every <= 0:
            return False
        # a loss spike asks for an estimate unless one was taken in the last half interval
        spike = loss_spike and step - self.last_estimate >= max(1, every // 2)
        return step % every == 0 or spike or step <= self.follow_until

    # ------------------------------------------------------------------ measurement
    @staticmethod
    def _warm(history: list[tuple[int, torch.Tensor]], step: int) -> torch.Tensor | None:
        """The directions a warm start sums: the last estimate's tracked Ritz vectors (the top one and
        the guards close below it, so a crossing among them is caught); after an odd number of steps
        also those of the estimate before, when that one is an even number of steps back (at the edge
        of stability the weights alternate with period 2). None: no history, a cold start."""
        if not history:
            return None
        rows = [history[0][1]]
        if len(history) >= 2 and (step - history[0][0]) % 2 == 1 and (step - history[1][0]) % 2 == 0:
            rows.append(history[1][1])
        return torch.cat([r.reshape(-1, r.shape[-1]) for r in rows])

    def fused_start(self, step: int) -> torch.Tensor | None:
        """The start vector [1, dim] of the estimate due at `step`, for the engine to multiply by H in
        the step's own gradient pass (the estimate then spends no HVP on its start: one gradient
        pass fewer per estimate). None when no estimate is scheduled, none can start warm, or the
        step's loss is not the estimated one. Only for steps that are due whatever the loss does."""
        every = int(self.settings.every)
        scheduled = every > 0 and (step % every == 0 or step <= self.follow_until)
        if not (self.fusable and scheduled and self.history):
            return None
        like = flat_params(self.model)
        v0, t = self._start(self.history, step, like)
        self._promised = (step, v0, t)
        return v0.reshape(1, like.numel())

    def _start(self, history, step: int, like: torch.Tensor) -> tuple[torch.Tensor, float]:
        return mixed_start(self._warm(history, step), like.numel(), like.device, like.dtype, self.generator)

    def full_due(self, step: int, history: list[tuple[int, torch.Tensor]]) -> bool:
        """Run Lanczos to the residual tolerance too (not only to the band): cold, or on every
        FULL_EVERY-th interval."""
        return not history or step % (FULL_EVERY * max(1, int(self.settings.every))) == 0

    def _lanczos(self, matvec, history: list[tuple[int, torch.Tensor]], step: int, dim: int,
                 like: torch.Tensor, k: int, full: bool, kind: str = "raw",
                 given: torch.Tensor | None = None) -> EigResult:
        """Lanczos from a warm start with a Gaussian part, until the band [theta1, upper] is within
        `--sharpness-cheap-tol` of theta1 (full estimates: also every top-k residual within
        `--sharpness-tol`). given: H v0 for the start promised by `fused_start` at this step."""
        max_iter = int(min(100, max(k + 10, BASIS_BYTES // (dim * like.element_size()))))
        tol, band = float(self.settings.tol), float(self.settings.cheap_tol)
        full = full or band <= 0
        promised = self._promised if kind == "raw" and self._promised is not None and self._promised[0] == step else None
        self._promised = None
        if promised is not None:
            _, v0, t = promised
        else:
            (v0, t), given = self._start(history, step, like), None
        rows = self.fused_rows = 0 if given is None else 1  # products the step made
        limit = None if full else self.budget.steps_allowed(step, self.method, rows)
        capped_at = max(k, limit) if limit is not None and limit < max_iter else None
        if capped_at is not None:
            max_iter = capped_at
        matvec = counting_products(matvec, self._report, max_iter, "" if kind == "raw" else "preconditioned, ")
        band_tol = band if band > 0 else DEFAULT_BAND
        res = lanczos_top(matvec, v0, k=k, tol=tol, max_iter=max_iter, generator=self.generator,
                          accept_tol=None if full else band_tol, products=given,
                          start_overlap=t, band_tol=band_tol, min_iter=2)
        self.last_values[kind] = res.eigenvalues[0]
        # stopped by the budget before the band closed: the band still holds, it is just wider
        self.capped[kind] = capped_at is not None and res.upper - res.eigenvalues[0] > band_tol * abs(res.eigenvalues[0])
        return res

    def measure(self, ctx: StepInputs) -> Measurement:
        settings = self.settings
        self._report = ctx.report  # the engine's progress line; None under osig.Monitor
        x, y, reduce = self.x, self.y, None
        if ctx.dist is not None:  # this rank's shard; sums are all-reduced
            lo, hi = ctx.dist.shard(len(self.x))
            x, y, reduce = x[lo:hi], y[lo:hi], ctx.dist.all_reduce_
        op = LossHessian(self.model, x, y, self.loss, self.label_smoothing, self.chunk_size, self.method,
                         reduce=reduce, n_total=len(self.x))
        theta = flat_params(self.model)
        cold = not self.history  # the first estimate: run to the tolerance, outside the budget
        full = self.full_due(ctx.step, self.history)
        fused = ctx.step_hvp[1] if ctx.step_hvp is not None else None
        res = self._lanczos(op.hvp, self.history, ctx.step, op.dim, theta, max(1, int(settings.eig_k)), full, given=fused)
        fused_hvps = self.fused_rows
        self.method = op.method  # keep a fallback to double-backward for later estimates
        previous = self.history[0][1][: res.vectors.shape[0]] if self.history else None
        vectors = self.vectors = align_signs(res.vectors, previous)
        self.last_estimate = ctx.step
        # the next estimate starts from the top Ritz vector and its guards (a crossing among them is
        # then inside the Krylov space from the first step)
        self.history = [(ctx.step, res.guard)] + self.history[: WARM_HISTORY - 1]
        raw_hvps = op.hvps + fused_hvps
        if not cold:
            self.budget.spend(op.method, op.hvps, fused_hvps)
        threshold = ctx.optim.threshold()

        scalars: dict[str, float] = {
            "sharpness": res.eigenvalues[0],
            "threshold": threshold,
            "eig_residual": res.residuals[0],
            "eig_bound": res.bounds[0],
            "sharpness_upper": res.upper,
            "eig_converged": float(res.converged),
            "sharpness_subset": float(op.n_total),
        }
        for i, lam in enumerate(res.eigenvalues[1:], start=2):
            scalars[f"sharpness_{i}"] = lam
        eig_record = {"eigenvalues": res.eigenvalues, "residuals": res.residuals, "bounds": res.bounds,
                      "hvps": raw_hvps, "converged": res.converged,
                      "mode": "full" if full or settings.cheap_tol <= 0 else "cheap",
                      "method": op.method, "subset": op.n_total, "fused": fused_hvps,
                      "budget_capped": self.capped.get("raw", False),
                      "band": {"lower": res.eigenvalues[0], "upper": res.upper, "kind": BAND_KIND,
                               "probability": BAND_PROBABILITY}}

        scalars["proj_top"] = self._projection(ctx, theta, vectors[0], eig_record)
        watched = res.eigenvalues[0]
        if ctx.optim.preconditioned:
            watched = self._preconditioned(ctx, op, vectors[0], scalars, eig_record)
        scalars["eig_hvps"] = float(op.hvps + fused_hvps)
        self._follow_crossing(ctx.step, watched, threshold)

        params = [p for _, p in trainable(self.model)]
        names = [name for name, _ in trainable(self.model)]
        ctx.links.sharpness = SharpnessLink(vectors=vectors, eigenvalue=res.eigenvalues[0], step=ctx.step,
                                            hvp_method=op.method, theta_ref=self.theta_ref)
        records = {"eig": eig_record,
                   "layer_curvature": curvature_shares(names, unflatten(vectors[0], params))}
        return Measurement(scalars=scalars, records=records)

    def _projection(self, ctx: StepInputs, theta: torch.Tensor, v: torch.Tensor, record: dict) -> float:
        """<theta_t - theta_ref, v> with theta_ref the weights at the first estimate of this run."""
        if self.theta_ref is None:
            given = ctx.links.theta_ref
            restored = as_flat(given, theta) if given is not None else None
            if restored is not None:
                self.theta_ref = restored
            else:
                if ctx.step > 0:
                    record["note"] = (f"theta_ref was not restored after resume; projections are "
                                      f"relative to the weights at step {ctx.step}")
                self.theta_ref = theta.clone()
        return float(torch.dot(theta - self.theta_ref, v))

    def _preconditioned(self, ctx: StepInputs, op: LossHessian, v: torch.Tensor,
                        scalars: dict[str, float], record: dict) -> float:
        """lambda_max(P^-1/2 H P^-1/2) and Adam's effective step along v; NaN before Adam's first step."""
        params = [p for _, p in trainable(self.model)]
        denom = ctx.optim.adam_denominators(params)
        if denom is None:
            scalars["precond_sharpness"] = scalars["adam_eff_step"] = scalars["precond_bound"] = float("nan")
            self.precond_history = []
            return float("nan")
        before, cold = op.hvps, not self.precond_history
        full = self.full_due(ctx.step, self.precond_history)
        pres = self._lanczos(op.diag_sandwich(denom.rsqrt()), self.precond_history, ctx.step, op.dim, denom, 1,
                             full, "precond")
        self.precond_history = [(ctx.step, pres.guard)] + self.precond_history[: WARM_HISTORY - 1]
        if not cold:
            self.budget.spend(op.method, op.hvps - before, 0)
        step_sizes = ctx.optim.learning_rates(params) / denom
        scalars["precond_sharpness"] = pres.eigenvalues[0]
        scalars["adam_eff_step"] = abs(float(torch.dot(step_sizes, v)))
        scalars["precond_bound"] = pres.bounds[0]
        scalars["precond_upper"] = pres.upper
        record["precond"] = {"eigenvalue": pres.eigenvalues[0], "residual": pres.residuals[0], "upper": pres.upper,
                             "bound": pres.bounds[0], "hvps": op.hvps - before, "converged": pres.converged,
                             "budget_capped": self.capped.get("precond", False)}
        return pres.eigenvalues[0]

    def _follow_crossing(self, step: int, value: float, threshold: float) -> None:
        """Measure on the next `--sharpness-follow` steps when this estimate crossed the threshold upwards.

        At the edge of stability the sharpness hovers around the threshold and crosses it often;
        a new burst is allowed only 5 regular intervals after the last, so the cost stays bounded."""
        if math.isnan(value) or math.isnan(threshold):
            return
        side = value > threshold
        quiet = step - self.last_burst >= 5 * max(1, int(self.settings.every))
        if self.last_side is False and side and quiet:
            self.follow_until = step + int(self.settings.follow)
            self.last_burst = step
        self.last_side = side
