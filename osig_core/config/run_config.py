"""RunConfig: the one description of a run, shared by the CLI, the Python API and the run directory.

Every field has a CLI flag of the same name (underscores become dashes). `validate()` is the single
edge where bad values become one clear sentence (ConfigError); the engine trusts a validated config.
"""
from __future__ import annotations

import dataclasses
import json
import math
import reprlib
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from osig_core.config.bounds import FLOAT_FIELDS as _FLOAT_FIELDS, check_bounds
from osig_core.errors import ConfigError
from osig_core.components.probe_names import FEATURE_PROBE, PROBE_BLOCKS  # noqa: F401 - also osig_core.config.run_config's


@dataclass
class RunConfig:
    # what to train
    model: str = "mlp"
    width: float | None = None  # None: 1.0 on a GPU, a per-model CPU default (CPU_WIDTHS) otherwise
    head_scale: float = 1.0  # multiplies the output layer's initial weights: < 1 starts flatter (lower sharpness)
    data: str = "synthetic"
    data_dir: str | None = None
    n: int | None = 2000
    n_test: int | None = 1000
    # how to train
    optim: str = "gd"
    lr: float = 0.05
    steps: int = 300
    batch_size: int | None = None  # None: full batch for gd, 128 otherwise; 0 means full batch
    momentum: float = 0.0
    dampening: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    lr2: float = 1e-3  # SplitSGD: fixed signed step size (eta_2)
    split_quantile: float = 0.1  # SplitSGD: threshold r = this quantile of |first gradient|
    loss: str | None = None  # "ce" or "mse"; None picks the dataset's natural loss
    label_smoothing: float = 0.0
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    compile: bool = False
    chunk_size: int = 1000  # samples per forward chunk for full-batch passes
    # what to record
    track: int | None = None  # minibatch optimizers: size of a fixed tracked subset (None: all)
    track_every: int = 1
    eval_every: int = 10
    checkpoint_every: int = 100
    sharpness_every: int = 0  # 0 disables sharpness tracking
    eig_k: int = 1
    sharpness_subset: int | None = None
    sharpness_tol: float = 1e-4
    sharpness_cheap_tol: float = 0.05  # stop an estimate once its band [value, upper] is within this share of the value; 0: always to sharpness_tol too
    sharpness_budget: float = 0.0  # 0: no cap; > 0: training steps' worth of HVPs per step estimates may spend (a capped band is wider)
    sharpness_follow: int = 0  # after an estimate crosses the threshold upwards, also estimate on each of the next K steps
    per_sample_every: int = 0  # per-sample / per-group curvature metrics; 0 = every 20th sharpness interval
    outliers_k: int = 24
    group_window: int = 20
    groups: bool = True
    probes: list[str] = field(default_factory=list)
    probe_every: int = 10
    preset: str | None = None
    nproc: int = 1
    opt_args: str | None = None  # JSON object of extra optimizer arguments (torch:NAME and plugin optimizers)

    # ------------------------------------------------------------------ derived
    @property
    def full_batch(self) -> bool:
        return self.resolved_batch_size() == 0

    def resolved_width(self, device_type: str) -> float:
        """The width a run uses: as given, else full width on a GPU and a size that keeps a live CPU
        demo above ~1 step/s at n=2000 (measured: VGG-11 0.4 s/step at width 1/4, ResNet-18 22 s at 1)."""
        if self.width is not None:
            return self.width
        return 1.0 if device_type == "cuda" else CPU_WIDTHS.get(self.model, 1.0)

    def resolved_batch_size(self) -> int:
        if self.batch_size is None:
            return 0 if self.optim == "gd" else 128
        return self.batch_size

    # ------------------------------------------------------------------ validation
    def validate(self) -> "RunConfig":
        """Check every field; raise ConfigError with one sentence on the first problem."""
        def bad(msg: str) -> None:
            raise ConfigError(msg)

        from osig_core.components.registry import BUILTIN_DATASETS, BUILTIN_MODELS, BUILTIN_OPTIMIZERS
        if not (self.model in BUILTIN_MODELS and self.data in BUILTIN_DATASETS and self.optim in BUILTIN_OPTIMIZERS
                and not self.opt_args):  # built-in names need no lookup, nor torch (`osig sweep` checks its grid light)
            from osig_core.components.catalog import names
            from osig_core.components.plugins import dataset_builder, model_builder, opt_args, optimizer_spec
            if model_builder(self.model) is None:  # built-in, an osig.models entry point, or pkg.module:factory
                bad(f"unknown model '{self.model}'; choose one of: {', '.join(names('models'))} (or pkg.module:factory)")
            if dataset_builder(self.data) is None:
                bad(f"unknown dataset '{self.data}'; choose one of: {', '.join(names('datasets'))} "
                    "(npz:PATH and text:PATH take a file; pkg.module:factory builds your own)")
            if optimizer_spec(self.optim) is None:
                bad(f"unknown optimizer '{self.optim}'; choose one of: {', '.join(names('optimizers'))} (or torch:NAME)")
            opt_args(self)
        for name in sorted(_FLOAT_FIELDS):  # inf/nan would only surface later as a diverged or broken run
            if getattr(self, name) is not None and not math.isfinite(getattr(self, name)):
                bad(f"--{name.replace('_', '-')} must be a finite number, got {getattr(self, name)}")
        if not self.sharpness_tol > 0:
            bad(f"--sharpness-tol must be positive, got {self.sharpness_tol}")
        if not self.sharpness_budget >= 0:
            bad(f"--sharpness-budget must be 0 or more, got {self.sharpness_budget}")
        if not 0 <= self.sharpness_cheap_tol < 1:
            bad(f"--sharpness-cheap-tol must be in [0, 1) (0 runs every estimate to --sharpness-tol), got {self.sharpness_cheap_tol}")
        if not self.head_scale >= 0:
            bad(f"--head-scale must be zero or positive, got {self.head_scale}")
        if self.width is not None and not self.width > 0:
            bad(f"--width must be positive, got {self.width}")
        for name in ("lr", "steps"):
            if not getattr(self, name) > 0:
                bad(f"--{name} must be positive, got {getattr(self, name)}")
        for name in ("n", "n_test", "track", "sharpness_subset"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                bad(f"--{name.replace('_', '-')} must be positive, got {v}")
        for name in ("chunk_size", "track_every", "eig_k", "outliers_k", "group_window", "probe_every", "nproc"):
            if getattr(self, name) < 1:
                bad(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name in ("eval_every", "checkpoint_every", "sharpness_every", "per_sample_every", "sharpness_follow"):
            if getattr(self, name) < 0:
                bad(f"--{name.replace('_', '-')} must be 0 (off) or positive, got {getattr(self, name)}")
        if self.batch_size is not None and self.batch_size < 0:
            bad(f"--batch-size must be 0 (full batch) or positive, got {self.batch_size}")
        if self.optim == "gd" and self.resolved_batch_size() != 0:
            bad("gd is full-batch by definition; use --optim sgd for minibatches")
        for name in ("momentum", "dampening", "beta1", "beta2", "label_smoothing"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                bad(f"--{name.replace('_', '-')} must be in [0, 1), got {v}")
        if not 0.0 < self.split_quantile < 1.0:
            bad(f"--split-quantile must be in (0, 1), got {self.split_quantile}")
        if not self.lr2 > 0 or not self.eps > 0:
            bad("--lr2 and --eps must be positive")
        if self.weight_decay < 0:
            bad(f"--weight-decay must be non-negative, got {self.weight_decay}")
        if self.loss not in (None, "ce", "mse"):
            bad(f"unknown loss '{self.loss}'; choose ce or mse")
        if self.device not in ("auto", "cpu", "cuda", "mps") and not (self.device.startswith("cuda:") and self.device[5:].isascii() and self.device[5:].isdigit()):
            bad(f"unknown device '{self.device}'; choose auto, cpu, cuda or mps")
        if self.precision not in ("fp32", "bf16"):
            bad(f"unknown precision '{self.precision}'; choose fp32 or bf16")
        for p in self.probes:
            if p.startswith(FEATURE_PROBE) and not p[len(FEATURE_PROBE):]:
                bad(f"probe '{p}' names no feature; write {FEATURE_PROBE}NAME, e.g. {FEATURE_PROBE}sky")
            if p not in PROBE_BLOCKS and not p.startswith(FEATURE_PROBE) and not Path(p).is_file():
                bad(f"probe image '{p}' does not exist (built-in probes: {', '.join(PROBE_BLOCKS)}, "
                    f"or {FEATURE_PROBE}NAME for a planted feature)")
        check_bounds(self, bad)
        return self

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "config") -> "RunConfig":
        """Build from a mapping, refusing unknown keys and wrong types with one sentence."""
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        if not isinstance(d, dict):
            raise ConfigError(f"{source}: settings must be a table of names and values, got {type(d).__name__}")
        check_nesting(d, source)
        for key, value in d.items():
            name = key.replace("-", "_")
            if name not in known:
                raise ConfigError(f"{source}: unknown setting '{key}'")
            kwargs[name] = _coerce(name, value, getattr(cls(), name), source)
        return cls(**kwargs)

    @classmethod
    def from_toml(cls, path: str | Path) -> "RunConfig":
        return cls.from_dict(read_toml(path), source=str(path))

    def replace(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, **changes)


CPU_WIDTHS = {"vgg11": 0.25, "vgg11-bn": 0.25, "resnet18": 0.125, "vit": 0.5}

# Settings a model gets on CPU when neither a flag, a --config file nor a preset sets them, so that
# its bare command shows the paper's picture live on 2 cores (docs/cpu-defaults.md has the numbers).
# VGG-11 (`osig watch --model vgg11 --optim gd`, the paper's Figure 1): at width 1/8 the output layer
# scaled by 0.3 starts the sharpness at 10, far below 2/eta = 100; GD sharpens up to it by step ~70
# and then hovers there (median within a few % of 2/eta; a larger eta hovers 15-35% above it) while
# the loss keeps falling unevenly. n = 500 keeps a step ~0.15 s and the first frame a few seconds.
CPU_MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "vgg11": {"width": 0.125, "head_scale": 0.3, "n": 500, "lr": 0.02, "sharpness_every": 10},
}


def cpu_model_defaults(model: str, device_type: str) -> dict[str, Any]:
    """The settings `model` gets by default on `device_type` (empty on a GPU); callers apply them
    beneath everything the user set (osig_tui.config_flags.build_config)."""
    return {} if device_type == "cuda" else dict(CPU_MODEL_DEFAULTS.get(model, {}))


_OPTIONAL_FLOAT = {"width"}
_OPTIONAL_INT = {"n", "n_test", "batch_size", "track", "sharpness_subset"}


_SHORT = reprlib.Repr()  # a value quoted in a message: short, whatever its size or depth
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict = 2, 60, 60, 4, 4


def _coerce(name: str, value: Any, default: Any, source: str) -> Any:
    """Accept TOML/JSON values of the right kind (ints for floats too); refuse the rest clearly."""
    def wrong(kind: str) -> ConfigError:
        return ConfigError(f"{source}: '{name}' must be {kind}, got {_SHORT.repr(value)}")

    if name in _OPTIONAL_FLOAT and value is None:
        return None
    if name in _FLOAT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong("a number")
        return float(value)
    if name in _OPTIONAL_INT:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return value
    if name == "opt_args" and isinstance(value, dict):  # a TOML table
        return json.dumps(value, sort_keys=True)
    if name == "probes":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise wrong("a list of strings")
        return list(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return value
    # strings and optional strings
    if value is None and default is None:
        return None
    if not isinstance(value, str):
        raise wrong("a string")
    return value


MAX_NESTING = 3  # the deepest a config goes: [run] table > probes list > string


def check_nesting(value: Any, source: str) -> None:
    """Refuse values nested deeper than any setting (iteratively: a hostile file may nest thousands
    deep, which recursion, repr and json.dumps cannot handle)."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ConfigError(f"{source}: values are nested more than {MAX_NESTING} deep; no osig setting is")
        if isinstance(v, dict):
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend((x, depth + 1) for x in v)


def read_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file '{p}' does not exist")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file '{p}' is not valid TOML: {e}") from None
    except RecursionError:
        raise ConfigError(f"config file '{p}': values are nested more than {MAX_NESTING} deep; no osig setting is") from None
    except OSError as e:
        raise ConfigError(f"config file '{p}' cannot be read ({e.strerror or e})") from None
    check_nesting(data, f"config file '{p}'")
    # allow either flat keys or a [run] table
    if set(data) == {"run"} and isinstance(data["run"], dict):
        data = data["run"]
    return data
