"""appD-layers: where the curvature lives — each layer's share of the top Hessian eigenvector.

The share of a layer is the squared norm of the eigenvector's entries in that layer (record
`layer_curvature`, "modules": shares summing to 1). The paper finds the curvature moving to the
earliest layer (first conv, patch or token embedding) as training goes on: almost all of it for a
ResNet-18, more slowly for a VGG-11, overwhelmingly for a ViT, less extremely for a GPT. The CPU
sizes check the ViT and the GPT; the conv nets take longer (their members run at the full scale).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from osig_core.report.figures import PALETTE, save, subplots
from osig_core.report.model import Report
from osig_core.report.runs import RunSet

SHOWN = 0.02  # layers whose share never exceeds this are grouped as "other" in the figure


POSITION = ("(root)", "pos")  # position embeddings: part of the input layer (ViT's is a root parameter)


def input_layer(names: list[str]) -> list[str]:
    """The modules that first touch the data: the first real module plus position embeddings."""
    first = next((n for n in names if n not in POSITION), names[0])
    return [first] + [n for n in names if n in POSITION]


def shares_over_time(run) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(steps, layer names with the input layer first, shares [T, M]); the input layer merges its parts."""
    recs = run.records("layer_curvature")
    if not recs:
        return np.zeros(0, np.int64), [], np.zeros((0, 0))
    raw = list(recs[0][1]["modules"])
    head = input_layer(raw)
    names = ["+".join(head)] + [n for n in raw if n not in head]
    steps = np.array([s for s, _ in recs])
    shares = np.array([[sum(r["modules"].get(h, 0.0) for h in head)] + [r["modules"].get(n, 0.0) for n in names[1:]]
                       for _, r in recs])
    return steps, names, shares


def param_shares(run, names: list[str]) -> np.ndarray:
    """Each module's share of the parameter count: the share a random direction would give it."""
    net = run.model()
    counts = {n: 0 for n in names}
    parts = {part: names[0] for part in names[0].split("+")}
    for pname, p in net.named_parameters():
        owner = pname.rsplit(".", 1)[0] if "." in pname else "(root)"
        owner = parts.get(owner, owner)
        if owner in counts:
            counts[owner] += p.numel()
    total = sum(counts.values())
    return np.array([counts[n] / total for n in names])


def member_checks(report: Report, label: str, run) -> tuple | None:
    steps, names, shares = shares_over_time(run)
    if shares.shape[0] < 2:
        report.unavailable(f"{label}: curvature concentrates in the input layer", "fewer than two layer_curvature records "
                           "(run with --sharpness-every K)")
        return None
    first = names[0]
    late = shares[-max(1, len(steps) // 4):].mean(axis=0)  # the last quarter of the estimates
    rank = int((late > late[0]).sum()) + 1
    density = late[0] / max(param_shares(run, names)[0], 1e-12)
    grew = late[0] - shares[0, 0]
    report.check(f"{label}: the input layer ({first}) gains share of the top eigenvector during training and ends "
                 "with the largest share of any layer",
                 f"{shares[0, 0]:.0%} at step {int(steps[0])} → {late[0]:.0%} over the last estimates (rank {rank} of "
                 f"{len(names)} layers; {density:.1f}× its share of the weights)", grew > 0 and rank == 1, value=late[0],
                 events=len(steps), unit="estimates")
    return steps, names, shares


def build(rs: RunSet, out: Path, report: Report) -> None:
    panels = []
    for name, run in rs.runs.items():
        got = member_checks(report, f"{name} ({run.config.model})", run)
        if got is not None:
            panels.append((name, run.config.model, *got))
    if panels:
        plot(report, panels, out)


def plot(report: Report, panels: list, out: Path) -> None:
    fig, ax = subplots(1, len(panels), width=3.6 * len(panels), height=3.2)
    for j, (name, model, steps, names, shares) in enumerate(panels):
        a = ax[0, j]
        shown = [i for i in range(len(names)) if shares[:, i].max() > SHOWN or i in (0, len(names) - 1)]
        other = np.delete(shares, shown, axis=1).sum(axis=1)
        bottom = np.zeros(len(steps))
        for k, i in enumerate(shown):
            a.fill_between(steps, bottom, bottom + shares[:, i], color=PALETTE[k % len(PALETTE)], alpha=0.8,
                           step="post", label=names[i])
            bottom = bottom + shares[:, i]
        if other.max() > 0:
            a.fill_between(steps, bottom, bottom + other, color="0.8", step="post", label="other")
        a.set_ylim(0, 1)
        a.set_title(f"{name}: {model}", fontsize=9)
        a.set_xlabel("step")
        a.legend(fontsize=6, loc="lower right")
    ax[0, 0].set_ylabel("share of top eigenvector")
    save(fig, report, out, "appD", "Share of the top Hessian eigenvector's squared norm in each layer over training "
         "(layers that never exceed 2% are grouped as 'other').")
