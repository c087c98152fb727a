"""Presets: every one resolves to a valid RunConfig at every scale, names parse, flags override them."""
from __future__ import annotations

import pytest

from osig_core.config.run_config import ConfigError, RunConfig
from osig_core.presets.paper import PRESET_LIST, PRESETS, SCALES, parse_preset, preset_config

PAPER_PRESETS = ["fig1-gd", "fig3-chebyshev", "fig5-probes", "fig36-half-up", "fig6-sgd", "fig6b-optimizers",
                 "fig38-linear", "appF-splitsgd", "appB-text", "appD-layers"]


def test_the_papers_experiments_are_all_presets():
    assert set(PAPER_PRESETS) <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESET_LIST, ids=lambda p: p.name)
def test_every_member_at_every_scale_is_a_valid_config(preset):
    assert preset.description and "\n" not in preset.description
    assert preset.claim and preset.figure
    for member in preset.members:
        for scale in SCALES:
            cfg = RunConfig.from_dict(preset_config(preset.spec(member.name, scale))).validate()
            assert cfg.preset == preset.spec(member.name, scale)
            assert parse_preset(cfg.preset).member == member.name


def test_multi_run_presets_list_their_members():
    assert [m.name for m in PRESETS["fig6b-optimizers"].members] == ["gd", "sgd", "momentum", "adam"]
    sweep = {m.name.split("-")[0] for m in PRESETS["appF-splitsgd"].members}
    assert sweep == {"adam", "splitsgd", "sgd"}
    assert len(PRESETS["appD-layers"].members) == 4


def test_members_share_the_initialisation_and_differ_in_the_optimizer():
    cfgs = {m.name: preset_config(f"fig6b-optimizers/{m.name}") for m in PRESETS["fig6b-optimizers"].members}
    assert {c["seed"] if "seed" in c else 0 for c in cfgs.values()} == {0}
    assert {c["optim"] for c in cfgs.values()} == {"gd", "sgd", "adam"}
    assert cfgs["momentum"]["momentum"] == 0.9
    assert {c["model"] for c in cfgs.values()} == {"mlp"} and len({c["n"] for c in cfgs.values()}) == 1


def test_name_member_and_scale_parse():
    ref = parse_preset("fig6b-optimizers/adam:quick")
    assert (ref.preset.name, ref.member, ref.scale) == ("fig6b-optimizers", "adam", "quick")
    assert parse_preset("fig6b-optimizers").member == "gd"  # a bare multi-run name is its first run
    assert parse_preset("fig1-gd").scale == "default"


def test_full_variant_is_the_papers_scale():
    default, full = preset_config("fig1-gd"), preset_config("fig1-gd", full=True)
    assert full == preset_config("fig1-gd:full")
    assert full["n"] > default["n"] and full["steps"] > default["steps"]
    assert full["preset"] == "fig1-gd:full"


@pytest.mark.parametrize("text, fragment", [
    ("nope", "unknown preset 'nope'"),
    ("fig1-gd:huge", "unknown preset scale 'huge'"),
    ("fig6b-optimizers/rmsprop", "has no run 'rmsprop'"),
])
def test_bad_names_are_one_clear_sentence(text, fragment):
    with pytest.raises(ConfigError) as e:
        preset_config(text)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_flags_override_the_preset():
    from osig_tui.config_flags import build_config
    cfg = build_config({"preset": "fig3-chebyshev", "lr": 0.123, "steps": 7}, None)
    assert cfg.data == "chebyshev" and cfg.loss == "mse"
    assert cfg.lr == 0.123 and cfg.steps == 7
    assert cfg.width == PRESETS["fig3-chebyshev"].base["width"]


def test_cli_lists_presets_and_runs_one(cli, tmp_path):
    code, out, _ = cli("presets")
    assert code == 0
    for name in PAPER_PRESETS:
        assert name in out
    run_dir = tmp_path / "cheb"
    code, _, err = cli("run", "--preset", "fig3-chebyshev:tiny", "--steps", "4", "--run-dir", run_dir, "--quiet")
    assert code == 0, err
    import osig_core as osig
    run = osig.open_run(run_dir)
    assert run.config.data == "chebyshev" and run.steps_done() == 4
    assert run.config.preset == "fig3-chebyshev:tiny"


def test_cli_refuses_an_unknown_preset(cli):
    code, _, err = cli("run", "--preset", "fig99")
    assert code == 2 and "unknown preset 'fig99'" in err
