"""Fuzzing the config edge: any flags, any TOML, any mapping gives a valid RunConfig or a ConfigError,
never another exception; and what validates is sane (finite numbers, a usable device)."""
from __future__ import annotations

import os
import dataclasses
import math
import tempfile
import typing
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osig_core.config.run_config import ConfigError, RunConfig, read_toml
from osig_core.components.registry import DATASETS, MODELS, OPTIMIZERS
from osig_tui.config_flags import build_config

SETTINGS = settings(max_examples=int(os.environ.get("OSIG_FUZZ_EXAMPLES", 80)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
HINTS = typing.get_type_hints(RunConfig)
FIELDS = [f.name for f in dataclasses.fields(RunConfig)]

numbers = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1e-300, 1e300, 0.5, 0.999])
ints = st.integers(min_value=-2**70, max_value=2**70) | st.integers(min_value=-3, max_value=300)
texts = st.text(max_size=20) | st.sampled_from(
    sorted(MODELS) + sorted(OPTIMIZERS) + sorted(DATASETS) + ["npz:", "npz:/none.npz", "text:", "cuda:x", "cuda:0",
                                                               "cpu", "mps", "auto", "ce", "mse", "bf16", "fp32", "sky"])


def _typed(name: str) -> st.SearchStrategy:
    """What Typer can hand build_config for this field: the field's own type (or None)."""
    hint = HINTS[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    t = args[0]
    if typing.get_origin(t) is list:
        return st.lists(texts, max_size=3)
    base = {float: numbers, int: ints, bool: st.booleans(), str: texts}[t]
    return st.none() | base


flags = st.fixed_dictionaries({}, optional={name: _typed(name) for name in FIELDS})
json_values = st.recursive(st.none() | st.booleans() | ints | numbers | texts,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                           max_leaves=6)
mappings = st.dictionaries(st.sampled_from(FIELDS) | st.sampled_from([f.replace("_", "-") for f in FIELDS]) | texts,
                           json_values, max_size=6)


def _sane(cfg: RunConfig) -> None:
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if isinstance(v, float):
            assert math.isfinite(v), (f.name, v)
    assert cfg.device in ("auto", "cpu", "mps", "cuda") or cfg.device[5:].isascii() and cfg.device[5:].isdigit() and cfg.device.startswith("cuda:")


@SETTINGS
@given(flags)
def test_flags_give_a_config_or_one_config_error(given_flags):
    try:
        cfg = build_config(given_flags, None)
    except ConfigError as e:
        assert str(e)
        return
    _sane(cfg)


@SETTINGS
@given(mappings)
def test_mappings_give_a_config_or_one_config_error(d):
    try:
        cfg = RunConfig.from_dict(d, source="fuzz").validate()
    except ConfigError as e:
        assert str(e)
        return
    _sane(cfg)


toml_snippets = st.sampled_from(['lr = 0.1\n', 'model = "mlp"\n', '[run]\nsteps = 3\n', 'probes = ["sky"]\n',
                                 'n = 1e3\n', 'lr = nan\n', 'lr = inf\n', 'width = -0.0\n', 'preset = "nope"\n',
                                 '[run]\n[run.x]\ny=1\n', 'steps = 9999999999999999999999\n', 'seed = 1979-05-27\n',
                                 'a.b.c = 1\n', '"lr" = 1\n', 'device = "cuda:x"\n', 'optim = "gd"\nbatch_size = 8\n'])
toml_texts = st.lists(toml_snippets | st.text(max_size=30), max_size=5).map("".join)


@SETTINGS
@given(toml_texts | st.binary(max_size=60).map(lambda b: b.decode("latin-1")), st.booleans())
def test_toml_gives_a_config_or_one_config_error(text, as_bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.toml"
        if as_bytes:
            path.write_bytes(text.encode("latin-1", "replace"))
        else:
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            cfg = build_config({}, path)
        except ConfigError as e:
            assert str(e)
            return
        _sane(cfg)
        assert isinstance(read_toml(path), dict)
