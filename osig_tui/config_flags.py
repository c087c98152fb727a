"""RunConfig fields as CLI flags: one table of help texts, one signature shared by `run` and `watch`.

Every flag defaults to None so we know which ones the user gave; those override `--config` TOML
and preset values. The Typer signature is generated from the dataclass so a new config field is a
new flag automatically (with a help line here).
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from pathlib import Path
from typing import Any, Optional

import typer

from osig_core.config.run_config import RunConfig

# field -> (help, panel)
FLAG_HELP: dict[str, tuple[str, str]] = {
    "model": ("Model: mlp, cnn, vgg11, vgg11-bn, resnet18, vit, gpt, linear2, an installed plugin (osig list) or pkg.module:factory.", "What to train"),
    "head_scale": ("Multiply the output layer's initial weights by this (< 1 starts with lower sharpness, below 2/eta).", "What to train"),
    "width": ("Scale every hidden size (0.02 gives a few units per layer; on CPU a model may default to a size that keeps runs live).", "What to train"),
    "data": ("Dataset: synthetic, cifar10, fashion-mnist, chebyshev, toy-linear, text, npz:PATH, text:PATH, an installed plugin (osig list) or pkg.module:factory.", "What to train"),
    "data_dir": ("Where cifar10 / fashion-mnist files live (downloaded there when online).", "What to train"),
    "n": ("Training samples (deterministic class-balanced subset).", "What to train"),
    "n_test": ("Held-out test samples, where the source has a test split.", "What to train"),
    "optim": ("Optimizer: gd (full batch), sgd, adam, signsgd, splitsgd, torch:NAME (any torch.optim optimizer, e.g. torch:AdamW) or an installed plugin (osig list).", "How to train"),
    "opt_args": ("Extra optimizer arguments as a JSON object, e.g. '{\"weight_decay\": 0.1}' (torch:NAME and plugin optimizers).", "How to train"),
    "lr": ("Learning rate eta (SplitSGD: the SGD step eta1).", "How to train"),
    "steps": ("Total optimizer steps.", "How to train"),
    "batch_size": ("Minibatch size (0 = full batch; default 128, gd is always full batch).", "How to train"),
    "momentum": ("Heavy-ball momentum beta.", "How to train"),
    "dampening": ("Momentum dampening tau: m = beta*m + (1-tau)*g.", "How to train"),
    "beta1": ("Adam beta1.", "How to train"),
    "beta2": ("Adam beta2.", "How to train"),
    "eps": ("Adam epsilon.", "How to train"),
    "weight_decay": ("Weight decay.", "How to train"),
    "lr2": ("SplitSGD signed step size eta2.", "How to train"),
    "split_quantile": ("SplitSGD threshold r = this quantile of the first gradient's magnitudes.", "How to train"),
    "loss": ("Loss: ce or mse (default: the dataset's natural loss).", "How to train"),
    "label_smoothing": ("Cross-entropy label smoothing.", "How to train"),
    "seed": ("Seed for data generation, initialisation and batch order.", "How to train"),
    "device": ("auto, cpu, cuda or mps (auto picks CUDA when present).", "How to train"),
    "precision": ("fp32 or bf16 (bf16 forward/backward, fp32 accumulation).", "How to train"),
    "compile": ("torch.compile the model.", "How to train"),
    "chunk_size": ("Samples per forward chunk in full-batch passes (bounds memory).", "How to train"),
    "track": ("Minibatch optimizers: record only a fixed subset of this many samples.", "What to record"),
    "track_every": ("Minibatch optimizers: record per-sample losses every K steps.", "What to record"),
    "eval_every": ("Evaluate the test split every K steps (0 = never).", "What to record"),
    "checkpoint_every": ("Checkpoint every K steps (0 = only at the end).", "What to record"),
    "sharpness_every": ("Estimate the sharpness every K steps (0 = off).", "What to record"),
    "eig_k": ("Number of top Hessian eigenvalues to estimate.", "What to record"),
    "sharpness_subset": ("Estimate sharpness on a fixed subset of M samples.", "What to record"),
    "sharpness_tol": ("Lanczos residual tolerance (relative certified bound) of full estimates.", "What to record"),
    "sharpness_cheap_tol": ("Stop each estimate once its band [sharpness, upper] is within this share of the value (the upper end holds with probability 99.9%, docs/curvature.md); 0 = every estimate also to --sharpness-tol.", "What to record"),
    "sharpness_budget": ("0 (default) = no cap. Otherwise the Hessian-vector products estimates may spend, in training steps per step; an estimate cut short keeps an honest but wider band and is marked not converged.", "What to record"),
    "sharpness_follow": ("After an estimate crosses the threshold upwards, also estimate on each of the next K steps (0 = off; each costs as much as a regular estimate).", "What to record"),
    "per_sample_every": ("Per-sample/group curvature every K steps (0 = every 20th sharpness interval).", "What to record"),
    "outliers_k": ("Most increased/decreased samples kept per step.", "What to record"),
    "group_window": ("Sliding window (steps) for opposing-group detection.", "What to record"),
    "groups": ("Detect opposing groups.", "What to record"),
    "probes": ("Probe input: sky, red, green, white, black, feature:NAME (a planted feature, e.g. feature:sky) or an image path (repeatable).", "What to record"),
    "probe_every": ("Measure probes every K steps.", "What to record"),
    "preset": ("Start from a named preset (see `osig presets`); flags override it.", "What to train"),
    "nproc": ("Processes for a distributed run (torch.distributed, gloo on CPU).", "How to train"),
}

_FLAG_NAMES = {"probes": "--probe"}


@functools.cache
def _config_hints() -> dict[str, Any]:
    """RunConfig's evaluated annotations, once: evaluating them per field cost most of `osig --help`."""
    return typing.get_type_hints(RunConfig)


def _annotation(field: dataclasses.Field) -> Any:
    hint = _config_hints()[field.name]
    is_union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    t = next(a for a in typing.get_args(hint) if a is not type(None)) if is_union else hint
    if typing.get_origin(t) is list:
        return Optional[list[str]]
    return Optional[t]


_PLUGIN_KINDS = {"model": "models", "data": "datasets", "optim": "optimizers"}


def _plugin_note(field: str) -> str:
    """' Installed plugins: a, b.' for --model/--data/--optim, looked up only when help is shown
    (reading every installed package's entry points would slow each command's start)."""
    import sys
    if field not in _PLUGIN_KINDS or not {"-h", "--help"} & set(sys.argv[1:]):
        return ""
    from osig_core.components.catalog import plugins
    found = [e.name for e in plugins(_PLUGIN_KINDS[field])]
    return f" Installed plugins: {', '.join(found)}." if found else ""


_NONE_DEFAULTS = {"track": "all samples", "sharpness_subset": "all samples"}  # other None defaults: the help says


def _default_text(f: dataclasses.Field) -> str | bool:
    """`--help`'s "[default: ...]" for a config flag (the flag itself defaults to None so that we know
    what was given): RunConfig's default, then the models whose CPU defaults differ from it."""
    from osig_core.config.run_config import CPU_MODEL_DEFAULTS, CPU_WIDTHS
    value = f.default_factory() if f.default is dataclasses.MISSING else f.default
    if isinstance(value, bool):
        text = "on" if value else "off"
    elif value is None or value == []:
        text = _NONE_DEFAULTS.get(f.name, "")
    else:
        text = f"{value:g}" if isinstance(value, float) else str(value)
    cpu = {m: d[f.name] for m, d in CPU_MODEL_DEFAULTS.items() if f.name in d}
    if f.name == "width":
        text, cpu = "1", {**CPU_WIDTHS, **cpu}
    if cpu:
        text += "; on CPU " + ", ".join(f"{m} {v:g}" if isinstance(v, float) else f"{m} {v}" for m, v in cpu.items())
    return text or False


def config_parameters() -> list[inspect.Parameter]:
    params = []
    for f in dataclasses.fields(RunConfig):
        help_text, panel = FLAG_HELP.get(f.name, ("", "Other"))
        help_text += _plugin_note(f.name)
        flag = _FLAG_NAMES.get(f.name, "--" + f.name.replace("_", "-"))
        decls = [flag, f"--no-{f.name.replace('_', '-')}"] if f.type in ("bool", bool) else [flag]
        if f.type in ("bool", bool):
            decls = [f"{flag}/--no-{f.name.replace('_', '-')}"]
        opt = typer.Option(None, *decls, help=help_text, rich_help_panel=panel, show_default=_default_text(f))
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=_annotation(f)))
    return params


def with_config_flags(extra: list[inspect.Parameter]):
    """Decorate a command whose signature is `extra` + every RunConfig flag (passed as **kwargs)."""
    def deco(fn):
        fn.__signature__ = inspect.Signature(extra + config_parameters())
        return fn
    return deco


def build_config(flags: dict[str, Any], config_path: Path | None) -> RunConfig:
    """preset < TOML < explicit flags; then validate."""
    from osig_core.config.run_config import read_toml
    given = {k: v for k, v in flags.items() if k in RunConfig.field_names() and v is not None}
    toml = read_toml(config_path) if config_path is not None else {}
    base: dict[str, Any] = {}
    preset = given.get("preset") or toml.get("preset")
    if preset is not None and not isinstance(preset, str):
        from osig_core.config.run_config import ConfigError
        raise ConfigError(f"{config_path}: 'preset' must be a preset name (a string; see `osig presets`), got {type(preset).__name__}")
    if preset:
        from osig_core.presets.paper import preset_config
        base.update(preset_config(preset))
    merged = {**base, **toml}
    if not preset:  # a preset is a whole experiment: a model's CPU defaults would change it
        merged = {**_model_defaults({**toml, **given}), **merged}
    cfg = RunConfig.from_dict(merged, source=str(config_path) if config_path else "preset")
    cfg = cfg.replace(**given)
    return cfg.validate()


def _model_defaults(chosen: dict[str, Any]) -> dict[str, Any]:
    """The chosen model's CPU defaults (osig_core.config.run_config.CPU_MODEL_DEFAULTS) when it runs on a CPU."""
    from osig_core.config.run_config import CPU_MODEL_DEFAULTS, cpu_model_defaults
    model, device = chosen.get("model", RunConfig.model), chosen.get("device", RunConfig.device)
    if not isinstance(model, str) or model not in CPU_MODEL_DEFAULTS or not isinstance(device, str):
        return {}
    if device == "auto":
        from osig_core.components.build import resolve_device  # torch: only for a model that has CPU defaults
        device = resolve_device(device).type
    return cpu_model_defaults(model, "cuda" if device.startswith("cuda") else device)


def _kw(name: str, annotation, option) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)


# The non-config options of `osig run` (and `osig watch`, which starts `osig run`).
RUN_PARAMETERS = [
    _kw("config", Optional[Path], typer.Option(None, "--config", help="TOML file of settings (flags override it).")),
    _kw("run_dir", Optional[Path], typer.Option(None, "--run-dir", help="Run directory (default runs/<timestamp>-<model>-<optim>).")),
    _kw("resume", Optional[Path], typer.Option(None, "--resume", help="Continue this run from its newest checkpoint (only --steps may change).")),
    _kw("force", bool, typer.Option(False, "--force", help="Replace a run that already exists in --run-dir.")),
    _kw("quiet", bool, typer.Option(False, "--quiet", "-q", help="No progress bar or summary.")),
]
