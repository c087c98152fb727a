"""Registries: one dict per family, filled by the modules that define the entries.

Adding a model, dataset or optimizer is one file plus one `@register_*` line.
"""
from __future__ import annotations

from typing import Any, Callable

MODELS: dict[str, Callable[..., Any]] = {}
DATASETS: dict[str, Callable[..., Any]] = {}
OPTIMIZERS: dict[str, Any] = {}


def _register(table: dict, name: str):
    def deco(obj):
        table[name] = obj
        return obj
    return deco


def register_model(name: str):
    """Decorate `build(data: Dataset, width: float) -> nn.Module`."""
    return _register(MODELS, name)


def register_dataset(name: str):
    """Decorate `build(cfg: RunConfig, arg: str | None) -> Dataset` (arg: the part after 'name:')."""
    return _register(DATASETS, name)


def register_optimizer(name: str):
    """Decorate an OptimizerSpec instance's name."""
    return _register(OPTIMIZERS, name)


def dataset_base_name(spec: str) -> str:
    """'npz:/x/y.npz' -> 'npz'; 'synthetic' -> 'synthetic'."""
    return spec.split(":", 1)[0]


def dataset_arg(spec: str) -> str | None:
    return spec.split(":", 1)[1] if ":" in spec else None


# Fill the tables (the modules import the decorators above, which already exist).
from osig_core import data as _data  # noqa: E402,F401
from osig_core import models as _models  # noqa: E402,F401
from osig_core import optim as _optim  # noqa: E402,F401
