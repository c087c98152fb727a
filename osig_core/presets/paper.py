"""Named presets: the paper's experiments as RunConfig overrides (see `osig presets`, docs/presets.md).

A preset has a one-line description, the finding its report checks, a CPU-friendly default, and
overrides per scale: "tiny" (tests: seconds), "quick" (`osig reproduce --quick`: the whole set in
about 15 minutes on 2 cores), "full" (the paper's scale, for a GPU). Multi-run presets (optimizer
comparisons, sweeps, model families) list their member runs; every member shares the preset's base.

A preset is named `NAME[/MEMBER][:SCALE]`, e.g. `fig1-gd`, `fig1-gd:full`, `fig6b-optimizers/adam:quick`.
A bare multi-run NAME means its first member.
"""
from __future__ import annotations

from typing import Any

from osig_core.config.run_config import ConfigError
from osig_core.presets.types import (  # noqa: F401 - the types are part of this module's API
    MAIN,
    PRESET_DEFAULTS,
    SCALES,
    SUITES,
    Member,
    Preset,
    PresetRef,
)
from osig_core.presets.real import real_presets


# ---------------------------------------------------------------------- the presets
_GD_MLP = {"model": "mlp", "data": "synthetic", "optim": "gd", "loss": "ce", "width": 0.25}
_TINY_IMG = {"n": 64, "n_test": 16, "width": 0.05, "eval_every": 0, "sharpness_tol": 1e-2}
_FULL_CIFAR = {"data": "cifar10", "n": 50000, "n_test": 10000, "width": 1.0, "eval_every": 200,
               "sharpness_subset": 5000, "checkpoint_every": 1000}
_SWEEP = (0.0001, 0.0003, 0.001, 0.003)  # Adam's lr and SplitSGD's signed step eta2
_SGD_SWEEP = (0.003, 0.01, 0.03, 0.1)  # SGD with momentum 0.9: as wide a sweep around its best


def _sweep_members() -> tuple[Member, ...]:
    split = {"optim": "splitsgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.9}
    out = [Member(f"adam-{lr:g}", {"optim": "adam", "lr": lr}, est_s=15) for lr in _SWEEP]
    out += [Member(f"splitsgd-{lr:g}", {**split, "lr2": lr}, est_s=15) for lr in _SWEEP]
    out += [Member(f"sgd-{lr:g}", {"optim": "sgd", "lr": lr, "momentum": 0.9}, est_s=15) for lr in _SGD_SWEEP]
    return tuple(out)


PRESET_LIST: list[Preset] = [
    Preset(
        name="fig1-gd",
        description="Full-batch GD on an MLP: the loss with its top opposing pairs, sharpness against 2/eta.",
        claim="GD sharpens up to 2/η and then hovers there (the edge of stability) while the losses of paired "
              "outlier groups oscillate in opposition, far more than the overall loss.",
        figure="Figure 1",
        base={**_GD_MLP, "n": 2000, "n_test": 500, "lr": 0.03, "steps": 400, "sharpness_every": 10,
              "eval_every": 50, "checkpoint_every": 100},
        scales={"tiny": {**_TINY_IMG, "steps": 12, "sharpness_every": 4},
                "full": {**_FULL_CIFAR, "model": "resnet18", "lr": 0.05, "steps": 8000, "sharpness_every": 50}},
        members=(Member("main", est_s=200),),
    ),
    Preset(
        name="fig3-chebyshev",
        description="A small ReLU MLP fits a Chebyshev polynomial with GD (mse): opposing x-intervals.",
        claim="Even without outliers in the usual sense, GD at the edge of stability oscillates on a pair of "
              "groups: a small interval of x against its neighbours, on the negative side (the paper's within [-1, -0.5]).",
        figure="Figure 3",
        base={"model": "mlp", "width": 0.25, "data": "chebyshev", "loss": "mse", "optim": "gd", "n": 100,
              "n_test": 100, "lr": 0.3, "steps": 600, "sharpness_every": 10, "eval_every": 100,
              "checkpoint_every": 200},
        scales={"tiny": {"n": 40, "n_test": 20, "steps": 15, "sharpness_every": 5},
                "full": {"width": 1.0, "n": 200, "steps": 5000, "lr": 0.1}},
        members=(Member("main", est_s=25),),
    ),
    Preset(
        name="fig5-probes",
        description="A sky probe under GD and under near gradient flow (a smaller lr, same eta*t): logits and feature norm.",
        claim="Under GD a sky probe's feature norm grows fast, its class probabilities oscillate at the edge "
              "of stability, and the norm then slowly decays; gradient flow is similar until the edge of stability "
              "and its norm keeps growing (Appendix C.3).",
        figure="Figure 5, Appendix C.3",
        # the probe is the planted sky drawn alone (feature:sky); the paper's colour block ('sky', what sky
        # looks like in CIFAR) is recorded beside it. head_scale 0.35 starts GD below 2/eta (sharpness
        # 0.27 x 2/eta at seed 0, 0.58 at seed 1) so that it sharpens into the edge of stability; the
        # gradient-flow twin covers the same eta*t (docs/presets.md).
        base={**_GD_MLP, "head_scale": 0.35, "n": 3000, "n_test": 500, "lr": 0.08, "steps": 500,
              "sharpness_every": 10, "eval_every": 100, "probes": ["feature:sky", "sky"], "probe_every": 1,
              "checkpoint_every": 100},
        scales={"tiny": {**_TINY_IMG, "steps": 10, "sharpness_every": 3},
                "full": {**_FULL_CIFAR, "model": "resnet18", "head_scale": 1.0, "lr": 0.1, "steps": 4000,
                         "sharpness_every": 50, "probes": ["sky", "red", "green"], "probe_every": 5}},
        members=(Member("gd", est_s=90),
                 Member("gf", {"lr": 0.0125, "steps": 3200, "sharpness_every": 100, "probe_every": 10},
                        scales={"tiny": {"steps": 25, "sharpness_every": 5, "probe_every": 2},
                                "full": {"lr": 0.005, "steps": 80000, "probe_every": 100, "sharpness_every": 1000}},
                        est_s=200)),
    ),
    Preset(
        name="fig36-half-up",
        description="Fraction of samples whose loss rises per step, under GD and SGD.",
        claim="Once at the edge of stability about half of the training samples go up in loss at every step, "
              "under GD and SGD alike.",
        figure="Figure 36",
        base={**_GD_MLP, "n": 1000, "n_test": 500, "lr": 0.05, "steps": 160, "sharpness_every": 10,
              "eval_every": 0, "groups": False},
        scales={"tiny": {**_TINY_IMG, "steps": 10, "sharpness_every": 3},
                "full": {**_FULL_CIFAR, "model": "vgg11-bn", "lr": 0.05, "steps": 4000, "sharpness_every": 100,
                         "groups": True}},
        members=(Member("gd", est_s=40),
                 Member("sgd", {"optim": "sgd", "batch_size": 128, "sharpness_every": 0, "steps": 300},
                        scales={"tiny": {"batch_size": 32, "steps": 10}}, est_s=20)),
    ),
    Preset(
        name="fig6-sgd",
        description="SGD (batch 128): paired groups still oscillate, more than random subsets of their size.",
        claim="With SGD the paired groups still oscillate in opposition (not every step), and their losses vary far "
              "more than those of random subsets of the same size.",
        figure="Figure 6(a)",
        base={**_GD_MLP, "optim": "sgd", "batch_size": 128, "n": 1000, "n_test": 500, "lr": 0.05, "steps": 400,
              "eval_every": 50, "checkpoint_every": 200},
        scales={"tiny": {**_TINY_IMG, "batch_size": 32, "steps": 15},
                "full": {**_FULL_CIFAR, "model": "vgg11-bn", "lr": 0.05, "steps": 10000, "track": 10000}},
        members=(Member("main", est_s=40),),
    ),
    Preset(
        name="fig6b-optimizers",
        description="GD, SGD, momentum and Adam from one initialisation: iterates on GD's top eigenvector.",
        claim="Projected on the GD run's top Hessian eigenvector at its first crossing of 2/η, GD and SGD bounce "
              "across the valley, momentum less, while Adam moves smoothly along one side with small steps.",
        figure="Figure 6(b)",
        base={**_GD_MLP, "n": 1000, "n_test": 500, "lr": 0.04, "steps": 150, "checkpoint_every": 3,
              "eval_every": 0, "groups": False},
        scales={"tiny": {**_TINY_IMG, "steps": 12, "lr": 0.5},
                "full": {"n": 5000, "data": "cifar10", "n_test": 1000, "width": 1.0, "steps": 1000,
                         "checkpoint_every": 5}},
        members=(Member("gd", {"sharpness_every": 10}, scales={"tiny": {"sharpness_every": 2}}, est_s=30),
                 Member("sgd", {"optim": "sgd", "batch_size": 128},
                        scales={"tiny": {"batch_size": 32}}, est_s=10),
                 Member("momentum", {"optim": "sgd", "batch_size": 128, "lr": 0.004, "momentum": 0.9},
                        scales={"tiny": {"batch_size": 32, "lr": 0.05}}, est_s=10),
                 Member("adam", {"optim": "adam", "batch_size": 128, "lr": 0.001},
                        scales={"tiny": {"batch_size": 32}}, est_s=10)),
    ),
    Preset(
        name="fig38-linear",
        description="The paper's two-layer linear model on data with opposing signals (Section 3.3 theorems).",
        claim="The sharpness starts in (α, 3α), first decreases (Thm 3.1), then grows past (5/8)‖β‖α (Thm 3.2); "
              "at 2/η the two outlier groups oscillate in opposition.",
        figure="Figure 38(b)",
        base={"model": "linear2", "data": "toy-linear", "loss": "mse", "optim": "gd", "n": 1000, "n_test": 200,
              "lr": 0.00025, "steps": 1200, "sharpness_every": 10, "eval_every": 0, "checkpoint_every": 400},
        scales={"tiny": {"n": 100, "n_test": 20, "steps": 30, "sharpness_every": 5},
                "full": {"n": 10000, "steps": 3000}},
        members=(Member("main", est_s=30),),
    ),
    Preset(
        name="appF-splitsgd",
        description="SplitSGD against Adam and SGD over a learning-rate sweep: loss, accuracy, signed fraction.",
        claim="SplitSGD (dampened momentum, fixed signed steps above a gradient threshold) matches Adam and is at "
              "least as robust to its learning rate; even the best SGD of a grid underperforms it; only a minority of "
              "parameters takes the signed step after the first steps.",
        figure="Appendix F, Figures 39-42",
        base={"model": "mlp", "width": 0.25, "data": "synthetic", "loss": "ce", "n": 20000, "n_test": 1000,
              "batch_size": 128, "steps": 300, "eval_every": 50, "groups": False, "track": 200,
              "track_every": 10, "checkpoint_every": 0},
        scales={"tiny": {**_TINY_IMG, "batch_size": 32, "steps": 8, "track": 32, "track_every": 2},
                "quick": {"n": 12000, "steps": 200},
                "full": {"model": "resnet18", "data": "cifar10", "n": 50000, "n_test": 10000, "width": 1.0,
                         "steps": 20000, "eval_every": 500, "track": 2000, "track_every": 100}},
        members=_sweep_members(),
    ),
    Preset(
        name="appB-text",
        description="A char-level GPT on the built-in colon corpus: the ':'->newline vs ':'->' the' pair.",
        claim="In text, a colon is followed either by a newline or by ' the'; these two groups form an opposing pair.",
        figure="Appendix B, Figure 8",
        base={"model": "gpt", "width": 0.5, "data": "text", "optim": "gd", "n": 1000, "n_test": 200, "lr": 0.5,
              "steps": 300, "eval_every": 50, "checkpoint_every": 100},
        scales={"tiny": {"n": 64, "n_test": 16, "width": 0.25, "steps": 10, "eval_every": 0},
                "quick": {"steps": 200, "eval_every": 0},
                "full": {"width": 2.0, "n": 20000, "n_test": 2000, "steps": 5000, "sharpness_every": 100}},
        members=(Member("main", est_s=120),),
    ),
    Preset(
        name="appD-layers",
        description="Share of curvature per layer (top Hessian eigenvector) for a CNN, VGG-11, ViT and GPT.",
        claim="The top Hessian eigenvector concentrates in the earliest layers (first conv, patch or token "
              "embedding) far beyond their share of the weights.",
        figure="Appendix D, Figures 32-35",
        # sharpness_every 6: the check rests on the layer_curvature estimates, at least 10 of them (steps 0, 6, ..., 54;
        # the GPT's 100 steps give 17); each estimate of the ViT costs ~20x a step on CPU
        base={"data": "synthetic", "optim": "gd", "n": 256, "n_test": 100, "lr": 0.02, "steps": 60,
              "sharpness_every": 6, "eval_every": 0, "groups": False, "checkpoint_every": 0},
        scales={"tiny": {"n": 16, "n_test": 8, "steps": 4, "sharpness_every": 3, "sharpness_tol": 1e-2},
                "full": {**_FULL_CIFAR, "n": 10000, "steps": 3000, "sharpness_every": 100}},
        members=(Member("cnn", {"model": "cnn", "width": 0.25}, scales={"tiny": {"width": 0.1}}, est_s=120,
                        only=("tiny", "full")),
                 Member("vgg11", {"model": "vgg11", "width": 0.125}, scales={"tiny": {"width": 0.05}}, est_s=150,
                        only=("tiny", "full")),
                 Member("vit", {"model": "vit", "width": 0.25}, scales={"tiny": {"width": 0.1}}, est_s=300),
                 Member("gpt", {"model": "gpt", "width": 0.5, "data": "text", "lr": 0.5, "n": 500, "steps": 100},
                        scales={"tiny": {"width": 0.25, "n": 16}}, est_s=200)),
    ),
]

PRESET_LIST += real_presets()
PRESETS: dict[str, Preset] = {p.name: p for p in PRESET_LIST}


def suite_presets(suite: str) -> list[str]:
    """The names of the presets that run on one suite's data, in listing order."""
    if suite not in SUITES:
        raise ConfigError(f"unknown preset data '{suite}'; choose one of: {', '.join(SUITES)}")
    return [p.name for p in PRESET_LIST if p.suite == suite]


def parse_preset(text: str) -> PresetRef:
    """`NAME[/MEMBER][:SCALE]` -> PresetRef; one clear sentence for anything unknown."""
    rest, _, scale = text.partition(":")
    name, _, member = rest.partition("/")
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}'; choose one of: {', '.join(PRESETS) or '(none)'}")
    preset = PRESETS[name]
    scale = scale or "default"
    if scale not in SCALES:
        raise ConfigError(f"unknown preset scale '{scale}' in '{text}'; choose one of: {', '.join(SCALES)}")
    return PresetRef(preset, preset.member(member or None).name, scale)


def preset_config(name: str, full: bool = False, scale: str | None = None) -> dict[str, Any]:
    """RunConfig overrides for `NAME[/MEMBER][:SCALE]`; `full=True` (or scale) picks the scale."""
    ref = parse_preset(name)
    chosen = "full" if full else (scale or ref.scale)
    out = ref.preset.config(ref.member, chosen)
    out["preset"] = ref.preset.spec(ref.member, chosen)
    return out
