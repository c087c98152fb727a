"""Registries: the built-in models, datasets and optimizers by name, as `module:attribute` targets.

The builders are plain functions (and OptimizerSpec values) that know nothing of this module: a
table here names them and imports a builder's module on first use, so the imports run one way
(registry -> builder) and listing the names (`osig list`, `--help`) imports no torch. Adding a
model, dataset or optimizer is one file plus one line in the table below. Plugins resolved by
osig_core.components.plugins are cached in the same tables, so the engine and resume use them like built-ins.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

BUILTIN_MODELS = {
    "cnn": "osig_core.models.cnn:build",
    "gpt": "osig_core.models.gpt:build",
    "linear2": "osig_core.models.linear2:build",
    "mlp": "osig_core.models.mlp:build",
    "resnet18": "osig_core.models.resnet:build",
    "vgg11": "osig_core.models.vgg:build_vgg11",
    "vgg11-bn": "osig_core.models.vgg:build_vgg11_bn",
    "vit": "osig_core.models.vit:build",
}
"""name -> `build(data: Dataset, width: float) -> nn.Module`."""

BUILTIN_DATASETS = {
    "chebyshev": "osig_core.data.chebyshev:build",
    "cifar10": "osig_core.data.cifar10:build",
    "fashion-mnist": "osig_core.data.fashion_mnist:build",
    "npz": "osig_core.data.npz:build",
    "synthetic": "osig_core.data.synthetic:build",
    "text": "osig_core.data.text:build",
    "toy-linear": "osig_core.data.toy_linear:build",
}
"""name -> `build(cfg: RunConfig, arg: str | None) -> Dataset` (arg: the part after 'name:')."""

BUILTIN_OPTIMIZERS = {
    "adam": "osig_core.optim.adam:ADAM",
    "gd": "osig_core.optim.heavy_ball:GD",
    "sgd": "osig_core.optim.heavy_ball:SGD",
    "signsgd": "osig_core.optim.signsgd:SIGNSGD",
    "splitsgd": "osig_core.optim.splitsgd:SPLITSGD",
}
"""name -> an OptimizerSpec."""


class Table(MutableMapping):
    """name -> builder: a built-in's module is imported when its entry is first read; entries set
    later (resolved plugins) are kept as given. Iterates built-ins first, then the added names."""

    def __init__(self, targets: dict[str, str]):
        self._targets = dict(targets)
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            module, _, attr = self._targets[name].partition(":")  # KeyError for an unknown name
            self._loaded[name] = getattr(importlib.import_module(module), attr)
        return self._loaded[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._loaded[name] = value

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._targets.pop(name, None)
        self._loaded.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._targets or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._targets, *self._loaded]))

    def __len__(self) -> int:
        return len(self._targets.keys() | self._loaded.keys())

    def __repr__(self) -> str:
        return f"Table({sorted(self)})"


MODELS = Table(BUILTIN_MODELS)
DATASETS = Table(BUILTIN_DATASETS)
OPTIMIZERS = Table(BUILTIN_OPTIMIZERS)


def dataset_base_name(spec: str) -> str:
    """'npz:/x/y.npz' -> 'npz'; 'synthetic' -> 'synthetic'."""
    return spec.split(":", 1)[0]


def dataset_arg(spec: str) -> str | None:
    return spec.split(":", 1)[1] if ":" in spec else None
