"""fig6b-optimizers: GD, SGD, momentum and Adam iterates projected on one fixed top eigenvector.

As in the paper's Figure 6(b): v is the top Hessian eigenvector of the GD run at its first crossing
of 2/eta (computed here from the GD checkpoint at or before that step, by Lanczos), theta* the GD
weights there; every run's checkpoints give the projection <theta_t - theta*, v>. All runs share
the initialisation and batch order (same seed). Adam's effective step along v is
|<lr / (sqrt(v_hat) + eps), v>| from each Adam checkpoint's second-moment state.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from osig_core.report.figures import PALETTE, save, subplots
from osig_core.report.model import Report, fmt
from osig_core.report.runs import RunSet
from osig_core.report.stats import first_crossing, flip_events, series, sign_flip_rate, threshold_of
from osig_core.store.layout import RunStoreError

GD_FLIPS = 0.6  # GD bounces across the valley: its projection reverses direction this often
ADAM_FLIPS = 0.4  # Adam moves smoothly: fewer reversals than this
ONE_SIDE = 0.9  # Adam stays on one side of the valley floor this share of the time
STEP_RATIO = 0.5  # Adam's moves along v are below this share of GD's


@dataclass
class Trajectory:
    steps: np.ndarray
    proj: np.ndarray  # <theta_t - theta*, v>
    eff_step: np.ndarray | None = None  # Adam only


def _flat(state: dict[str, torch.Tensor], names: list[str]) -> torch.Tensor:
    return torch.cat([state[n].reshape(-1).double() for n in names])


def top_vector(gd_run, step: int):
    """(v, theta*, eigenvalue, checkpoint step) at the GD checkpoint at or before `step`."""
    from osig_core.instruments.hvp import LossHessian, flat_params, trainable
    from osig_core.instruments.lanczos import lanczos_top, warm_start_vector
    from osig_core.components.build import loss_name
    ckpts = gd_run.checkpoints()
    if not ckpts:
        raise RunStoreError(f"'{gd_run.dir}' has no checkpoint; run it with --checkpoint-every K")
    before = [c for c in ckpts if c[0] <= step]
    at = before[-1][0] if before else ckpts[0][0]  # no checkpoint before the crossing: the earliest one
    net = gd_run.model(at)
    data = gd_run.dataset()
    cfg = gd_run.config
    op = LossHessian(net, data.x, data.y, loss_name(cfg, data), cfg.label_smoothing, cfg.chunk_size)
    theta = flat_params(net)
    gen = torch.Generator().manual_seed(cfg.seed + 7919)
    res = lanczos_top(op.hvp, warm_start_vector(None, op.dim, theta.device, theta.dtype, generator=gen),
                      k=1, tol=1e-4, max_iter=100, generator=gen)
    names = [n for n, _ in trainable(net)]
    return res.vectors[0].double(), theta.double(), res.eigenvalues[0], at, names


def trajectory(run, v: torch.Tensor, theta_star: torch.Tensor, names: list[str], adam: bool) -> Trajectory:
    from osig_core.store.checkpoint import load_checkpoint
    steps, proj, eff = [], [], []
    for step, path in run.checkpoints():
        state = load_checkpoint(path)
        theta = _flat(state["model"], names)
        steps.append(step)
        proj.append(float(torch.dot(theta - theta_star, v)))
        if adam:
            eff.append(_adam_effective_step(state, run.config, v))
    return Trajectory(np.array(steps), np.array(proj), np.array(eff) if adam else None)


def _adam_effective_step(state: dict, cfg, v: torch.Tensor) -> float:
    """|<lr / (sqrt(v_hat) + eps), v>| from the checkpoint's Adam state; NaN before the first step."""
    optim = state["optim"]
    if optim is None or not optim["state"]:
        return math.nan
    group = optim["param_groups"][0]
    beta2, eps, lr = group["betas"][1], group["eps"], group["lr"]
    pieces = []
    for idx in sorted(optim["state"]):
        st = optim["state"][idx]
        t = float(st["step"])
        v_hat = st["exp_avg_sq"].double() / (1 - beta2 ** t)
        pieces.append((lr / (v_hat.sqrt() + eps)).reshape(-1))
    sizes = torch.cat(pieces)
    return abs(float(torch.dot(sizes, v))) if sizes.numel() == v.numel() else math.nan


def build(rs: RunSet, out: Path, report: Report) -> None:
    gd = rs.get("gd")
    if gd is None:
        report.unavailable("iterates projected on GD's top eigenvector",
                           "the 'gd' member run is missing (report the folder that holds all of the preset's runs)")
        return
    m = gd.metrics()
    steps, sharp = series(gd, "sharpness", m)
    thr = threshold_of(gd, m)
    cross = first_crossing(steps, sharp, thr) if sharp.size else None
    if cross is None:
        report.unavailable("iterates projected on GD's top eigenvector", "the GD run never reached 2/η")
        return
    v, theta_star, lam, at, names = top_vector(gd, cross)
    report.notes.append(f"v: top eigenvector of the GD loss Hessian at step {at} (λ = {lam:.4g}, 2/η = {thr:.4g}; "
                        f"the sharpness first reached 2/η at step {cross})")
    trajs = {name: trajectory(run, v, theta_star, names, run.config.optim == "adam") for name, run in rs.runs.items()}
    g = trajs["gd"]
    after = g.steps >= at
    floor = float(np.mean(g.proj[after])) if after.any() else 0.0
    gd_flips = sign_flip_rate(g.proj[after])
    gd_events = flip_events(g.proj[after])  # pairs of consecutive moves whose directions were compared
    gd_moves = max(int(after.sum()) - 1, 0)
    report.check(f"GD bounces across the valley along v after the crossing (≥ {GD_FLIPS:.0%} of moves reverse)",
                 f"{gd_flips:.0%} of {gd_events} checkpoint-to-checkpoint moves reverse",
                 gd_flips >= GD_FLIPS, value=gd_flips, events=gd_events, unit="moves")
    if "sgd" in trajs:
        s = trajs["sgd"]
        k = s.steps >= at
        flips = sign_flip_rate(s.proj[k])
        n = flip_events(s.proj[k])
        report.check("SGD tracks GD: it also bounces across the valley (reversal rate within 0.2 of GD's)",
                     f"SGD {flips:.0%} of {n} moves vs GD {gd_flips:.0%} of {gd_events}", abs(flips - gd_flips) <= 0.2,
                     value=flips, events=min(n, gd_events), unit="moves")
    if "momentum" in trajs and "sgd" in trajs:
        mo, sg = trajs["momentum"], trajs["sgd"]
        dm, ds = np.diff(mo.proj[mo.steps >= at]), np.diff(sg.proj[sg.steps >= at])
        ratio = np.median(np.abs(dm)) / np.median(np.abs(ds))
        report.check("momentum mitigates the jumps: its moves along v are smaller than SGD's",
                     f"median |Δ projection| momentum / SGD = {ratio:.2f} ({dm.size} and {ds.size} moves)", ratio < 1,
                     value=ratio, events=min(dm.size, ds.size), unit="moves")
    if "adam" in trajs:
        a = trajs["adam"]
        k = a.steps >= at
        side = np.sign(a.proj[k] - floor)
        share = float(max((side > 0).mean(), (side < 0).mean())) if k.any() else math.nan
        flips = sign_flip_rate(a.proj[k])
        n = flip_events(a.proj[k])  # <= the checkpoints the side share counts
        report.check(f"Adam oscillates smoothly along one side of the valley (≥ {ONE_SIDE:.0%} of checkpoints on "
                     f"one side of GD's floor, < {ADAM_FLIPS:.0%} reversals)",
                     f"{share:.0%} of {int(k.sum())} checkpoints on one side, {flips:.0%} of {n} moves reverse "
                     f"(GD floor at {fmt(floor)})",
                     share >= ONE_SIDE and flips < ADAM_FLIPS, value=share, events=n, unit="moves")
        da = np.diff(a.proj[k])
        moves = np.median(np.abs(da)) / np.median(np.abs(np.diff(g.proj[after])))
        report.check(f"Adam takes smaller steps along v than GD (median |Δ projection| < {STEP_RATIO:.0%} of GD's)",
                     f"Adam / GD = {moves:.2f} ({da.size} and {gd_moves} moves)", moves < STEP_RATIO, value=moves,
                     events=min(da.size, gd_moves), unit="moves")
    plot(report, trajs, at, floor, out)


def plot(report: Report, trajs: dict[str, Trajectory], at: int, floor: float, out: Path) -> None:
    has_adam = "adam" in trajs and trajs["adam"].eff_step is not None
    fig, ax = subplots(2 if has_adam else 1, 1, height=3.0)
    for i, (name, t) in enumerate(trajs.items()):
        ax[0, 0].plot(t.steps, t.proj, ".-", ms=2.5, lw=0.9, color=PALETTE[i % len(PALETTE)], label=name)
    ax[0, 0].axvline(at, color="k", ls=":", lw=1, label="GD reaches 2/η")
    ax[0, 0].axhline(floor, color="0.5", lw=0.8)
    ax[0, 0].set_ylabel("⟨θ − θ*, v⟩")
    ax[0, 0].legend(fontsize=8)
    if has_adam:
        t = trajs["adam"]
        ax[1, 0].plot(t.steps, t.eff_step, ".-", ms=2.5, lw=0.9, color=PALETTE[3], label="|⟨η/(√v̂+ε), v⟩|")
        ax[1, 0].set_ylabel("Adam effective step along v")
        moves = ax[1, 0].twinx()
        moves.plot(t.steps[1:], np.abs(np.diff(t.proj)), lw=0.8, color="0.5", label="|Δ projection|")
        moves.set_ylabel("|Δ projection|")
        ax[1, 0].legend(fontsize=7, loc="upper left")
        moves.legend(fontsize=7, loc="upper right")
    ax[-1, 0].set_xlabel("step")
    save(fig, report, out, "fig6b", "Iterates of each optimizer projected on the GD run's top Hessian eigenvector at "
         "its first crossing of 2/η (same initialisation and batch order); below, Adam's effective step along it.")
