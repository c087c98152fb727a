"""Build what a run needs from a validated RunConfig: device, data, model, optimizer.

The same functions serve the engine, resume, `run.model()` and the tests, so a model rebuilt
from a run directory is exactly the one that was trained.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from osig_core.errors import ConfigError
from osig_core.data.base import Dataset
from osig_core.components.registry import DATASETS, MODELS, OPTIMIZERS, dataset_arg, dataset_base_name

if TYPE_CHECKING:  # the config imports this package to validate names; at run time a RunConfig is passed in
    from osig_core.config.run_config import RunConfig


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("--device mps was asked for but MPS is not available")
    return torch.device(name)


def build_data(cfg: RunConfig) -> Dataset:
    from osig_core.components.plugins import dataset_builder
    builder = dataset_builder(cfg.data) or DATASETS[dataset_base_name(cfg.data)]
    return builder(cfg, dataset_arg(cfg.data))


def loss_name(cfg: RunConfig, data: Dataset) -> str:
    return cfg.loss or data.loss


def build_model(cfg: RunConfig, data: Dataset) -> torch.nn.Module:
    """Seeded so the initialisation depends only on cfg.seed."""
    torch.manual_seed(cfg.seed)
    if cfg.model == "gpt" and data.kind != "text":
        raise ConfigError("the gpt model needs text data (--data text or text:PATH)")
    if data.kind == "text" and cfg.model != "gpt":
        raise ConfigError(f"text data needs --model gpt, not {cfg.model}")
    if cfg.model == "linear2" and "d1" not in data.meta:
        raise ConfigError("the linear2 model needs --data toy-linear")
    from osig_core.components.plugins import model_builder
    model = (model_builder(cfg.model) or MODELS[cfg.model])(data, cfg.resolved_width("cpu"))
    if cfg.head_scale != 1.0:
        # every built-in model's output layer is `model.head`; a smaller start lowers the initial sharpness,
        # so that GD at a given lr starts below 2/eta and sharpens progressively towards it
        weight = getattr(getattr(model, "head", None), "weight", None)
        if not isinstance(weight, torch.Tensor):
            raise ConfigError(f"--head-scale scales the output layer model.head.weight, which model '{cfg.model}' "
                              "does not have; leave --head-scale at 1")
        with torch.no_grad():
            weight.mul_(cfg.head_scale)
    return model


def build_optimizer(cfg: RunConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    from osig_core.components.plugins import optimizer_spec
    spec = optimizer_spec(cfg.optim) or OPTIMIZERS[cfg.optim]
    return spec.build([p for p in model.parameters() if p.requires_grad], cfg)


def data_to(data: Dataset, device: torch.device) -> Dataset:
    from dataclasses import replace
    mv = lambda t: None if t is None else t.to(device)  # noqa: E731
    return replace(data, x=mv(data.x), y=mv(data.y), x_test=mv(data.x_test), y_test=mv(data.y_test))
