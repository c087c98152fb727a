"""Models, datasets and optimizers from outside osig: `pkg.module:factory`, `torch:NAME`, entry points.

Resolution turns a name from RunConfig into the same kind of builder the registries hold, and
caches it there, so the engine, resume and `run.model()` use it like a built-in one:

- model   `pkg.module:factory` or an `osig.models` entry point: a callable returning an nn.Module,
          called with those of (data, width, num_outputs, num_classes, input_shape, cfg) it names
          (no parameters: called bare; unnamed positional ones: (data, width), the registry's form).
- dataset `pkg.module:factory` or an `osig.datasets` entry point: returns an osig Dataset, (x, y),
          (x, y, classes) or a torch Dataset of (x, y); called with cfg if it takes a parameter.
- optim   `torch:NAME` (any torch.optim optimizer) or an `osig.optimizers` entry point (an
          OptimizerSpec, an Optimizer class, or a callable(params, cfg) -> Optimizer). Built with
          lr=cfg.lr, the RunConfig settings it accepts that differ from their defaults, then
          cfg.opt_args (a JSON object) on top.
Every failure (no such module, an entry point that raises, a factory returning the wrong type)
is one ConfigError sentence, raised before anything is written to the run directory.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
from typing import TYPE_CHECKING, Any, Callable

import torch

from osig_core.components.catalog import GROUPS, TORCH_OPTIM, entry_points
from osig_core.errors import ConfigError
from osig_core.optim.base import OptimizerSpec
from osig_core.components.registry import DATASETS, MODELS, OPTIMIZERS, dataset_base_name

if TYPE_CHECKING:
    from osig_core.config.run_config import RunConfig


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:160]}" if text else type(e).__name__


def _entry_point(kind: str, name: str) -> Any | None:
    for ep in entry_points(kind):
        if ep.name == name:
            try:
                return ep.load()
            except Exception as e:
                raise ConfigError(f"the {GROUPS[kind]} entry point '{name}' ({ep.value}) failed to load "
                                  f"({_first_line(e)})") from None
    return None


def _import_target(spec: str, what: str) -> Any:
    module, _, attr = spec.partition(":")
    if not module or not attr or not all(p.isidentifier() for p in module.split(".") + attr.split(".")):
        raise ConfigError(f"{what} '{spec}' is not of the form pkg.module:factory")
    try:
        obj = importlib.import_module(module)
    except Exception as e:
        raise ConfigError(f"{what} '{spec}': module '{module}' cannot be imported ({_first_line(e)})") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{what} '{spec}': module '{module}' has no '{attr}'")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"{what} '{spec}' is not callable")
    return obj


def _call(fn: Callable, what: str, available: dict[str, Any], fallback: tuple) -> Any:
    """Call fn with the available values it names; bare if it takes nothing; else the fallback."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        params = None
    try:
        if params is not None:
            required = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            named = {p.name: available[p.name] for p in params if p.name in available}
            if all(p.name in named for p in required) and (named or not required):
                return fn(**named)
        return fn(*fallback)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"{what} raised an error ({_first_line(e)})") from None


def _plugin_target(group: str, name: str, what: str):
    """An installed entry point of that name, else a `pkg.module:factory` path; None when it is neither."""
    target = _entry_point(group, name)
    if target is None and ":" in name:
        target = _import_target(name, what)
    return target


# ---------------------------------------------------------------------- models
def model_builder(name: str) -> Callable[[Any, float], torch.nn.Module]:
    if name in MODELS:
        return MODELS[name]
    target = _plugin_target("models", name, "model factory")
    if target is None:
        return None
    label = f"model '{name}'"

    def build(data, width: float) -> torch.nn.Module:
        available = {"data": data, "width": width, "num_outputs": data.num_outputs, "input_shape": data.input_shape,
                     "num_classes": data.num_outputs}
        net = _call(target, label, available, (data, width))
        if not isinstance(net, torch.nn.Module):
            raise ConfigError(f"{label} returned {type(net).__name__}, not a torch.nn.Module")
        return net

    MODELS[name] = build
    return build


# ---------------------------------------------------------------------- datasets
def dataset_builder(spec: str) -> Callable[[RunConfig, str | None], Any] | None:
    base = dataset_base_name(spec)
    if base in DATASETS:
        return DATASETS[base]
    if spec in DATASETS:
        return DATASETS[spec]
    target = _plugin_target("datasets", spec, "dataset factory")
    if target is None:
        return None
    label = f"dataset '{spec}'"

    def build(cfg: RunConfig, _arg: str | None):
        from osig_core.data.base import Dataset
        from osig_core.data.user import as_dataset
        out = _call(target, label, {"cfg": cfg}, (cfg,))
        if isinstance(out, Dataset):
            return out
        if not (isinstance(out, (tuple, list)) or (hasattr(out, "__getitem__") and hasattr(out, "__len__"))):
            raise ConfigError(f"{label} returned {type(out).__name__}, not (x, y), (x, y, classes), "
                              "a torch Dataset or an osig Dataset")
        return as_dataset(out, name=spec)

    DATASETS[spec] = build
    return build


# ---------------------------------------------------------------------- optimizers
def opt_args(cfg: Any) -> dict[str, Any]:
    text = getattr(cfg, "opt_args", None)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"--opt-args must be a JSON object, e.g. '{{\"weight_decay\": 0.1}}' ({e.msg})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"--opt-args must be a JSON object, e.g. '{{\"weight_decay\": 0.1}}', got {text}")
    return value


def optimizer_kwargs(cls: type, cfg: Any) -> dict[str, Any]:
    """lr, the RunConfig settings cls accepts that the user changed, then --opt-args."""
    accepted = set(inspect.signature(cls.__init__).parameters)
    default = type(cfg)()  # RunConfig's defaults (not imported here: RunConfig.validate imports this module)
    kw: dict[str, Any] = {"lr": cfg.lr}
    for name in ("momentum", "dampening", "weight_decay", "eps"):
        if name in accepted and getattr(cfg, name) != getattr(default, name):
            kw[name] = getattr(cfg, name)
    if "betas" in accepted and (cfg.beta1, cfg.beta2) != (default.beta1, default.beta2):
        kw["betas"] = (cfg.beta1, cfg.beta2)
    kw.update(opt_args(cfg))
    unknown = sorted(set(kw) - accepted) if not any(p.kind == p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values()) else []
    if unknown:
        raise ConfigError(f"{cls.__name__} takes no argument '{unknown[0]}' (from --opt-args or a flag)")
    return kw


def _building(name: str, build: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """build(params, cfg), where whatever the optimizer raises while it is built (a torch check of
    its arguments, a plugin's own error) is one sentence naming the setting, not a traceback."""
    def checked(params, cfg):
        try:
            return build(params, cfg)
        except ConfigError:
            raise
        except Exception as e:
            args = f" with --opt-args {cfg.opt_args}" if getattr(cfg, "opt_args", None) else ""
            message = str(e).strip().splitlines()
            raise ConfigError(f"--optim {name}{args} failed: {message[0][:200] if message else type(e).__name__}") from None
    return checked


def _class_spec(name: str, cls: type) -> OptimizerSpec:
    """The threshold is read from the built optimizer's param_groups (osig_core/optim/thresholds.py)."""
    from osig_core.optim.thresholds import ADAM_LIKE
    return OptimizerSpec(name=name, summary=f"{cls.__module__}.{cls.__name__}",
                         build=_building(name, lambda params, cfg: cls(params, **optimizer_kwargs(cls, cfg))),
                         preconditioned=cls.__name__ in ADAM_LIKE)


def optimizer_spec(name: str) -> OptimizerSpec | None:
    if name in OPTIMIZERS:
        return OPTIMIZERS[name]
    spec: OptimizerSpec | None = None
    if name.startswith(TORCH_OPTIM):
        cls = getattr(torch.optim, name[len(TORCH_OPTIM):], None)
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)) or cls is torch.optim.Optimizer:
            raise ConfigError(f"torch.optim has no optimizer '{name[len(TORCH_OPTIM):]}' (e.g. torch:SGD, torch:AdamW)")
        spec = _class_spec(name, cls)
    else:
        target = _entry_point("optimizers", name)
        if isinstance(target, OptimizerSpec):
            spec = dataclasses.replace(target, build=_building(name, target.build))
        elif isinstance(target, type) and issubclass(target, torch.optim.Optimizer):
            spec = _class_spec(name, target)
        elif callable(target):
            spec = OptimizerSpec(name=name, summary=f"entry point {name}",
                                 build=_building(name, lambda params, cfg: _checked_optimizer(name, target(params, cfg))))
        elif target is not None:
            raise ConfigError(f"the osig.optimizers entry point '{name}' is a {type(target).__name__}, "
                              "not an OptimizerSpec, an Optimizer class or a factory")
    if spec is not None:
        OPTIMIZERS[name] = spec
    return spec


def _checked_optimizer(name: str, opt: Any) -> torch.optim.Optimizer:
    if not isinstance(opt, torch.optim.Optimizer):
        raise ConfigError(f"optimizer '{name}' returned {type(opt).__name__}, not a torch.optim.Optimizer")
    return opt
