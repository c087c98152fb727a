"""Where the curvature lives: the share of the top eigenvector's squared norm in each layer.

Following the paper's "fraction of curvature" (Appendix D): partition the top Hessian eigenvector v
by parameter tensor; the squared norm of each piece is that tensor's share (shares sum to 1).
Modules aggregate their own parameters (the module that owns the tensor: "features.0" for
"features.0.weight"); top-level modules aggregate everything beneath them ("features").
"""
from __future__ import annotations

import torch

ROOT = "(root)"  # parameters registered directly on the model


def owner_module(param_name: str) -> str:
    return param_name.rsplit(".", 1)[0] if "." in param_name else ROOT


def top_module(param_name: str) -> str:
    return param_name.split(".", 1)[0] if "." in param_name else ROOT


def curvature_shares(names: list[str], pieces: list[torch.Tensor]) -> dict[str, dict[str, float]]:
    """{"params": {name: share}, "modules": {owner: share}, "top_modules": {top: share}}.

    `pieces` are the eigenvector's parts shaped like the parameters named in `names`.
    """
    squares = torch.stack([p.detach().float().pow(2).sum() for p in pieces]).cpu().double()
    total = squares.sum()
    shares = (squares / total if float(total) > 0 else torch.zeros_like(squares)).tolist()
    params = dict(zip(names, shares))
    modules: dict[str, float] = {}
    tops: dict[str, float] = {}
    for name, share in params.items():
        modules[owner_module(name)] = modules.get(owner_module(name), 0.0) + share
        tops[top_module(name)] = tops.get(top_module(name), 0.0) + share
    return {"params": params, "modules": modules, "top_modules": tops}
