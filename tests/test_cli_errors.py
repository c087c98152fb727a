"""Every bad input: one clear sentence on stderr, exit code 2, no traceback, nothing overwritten."""
from __future__ import annotations

import numpy as np
import pytest


def _one_sentence(err: str) -> str:
    lines = [l for l in err.strip().splitlines() if l.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("osig: error: ")
    return lines[0]


@pytest.mark.parametrize("args,needle", [
    (["--model", "resnet9"], "unknown model 'resnet9'; choose one of: cnn, gpt"),
    (["--data", "imagenet"], "unknown dataset 'imagenet'"),
    (["--optim", "lbfgs"], "unknown optimizer 'lbfgs'; choose one of: adam, gd"),
    (["--lr", "-0.1"], "--lr must be positive"),
    (["--lr", "0"], "--lr must be positive"),
    (["--steps", "0"], "--steps must be positive"),
    (["--n", "-5"], "--n must be positive"),
    (["--optim", "gd", "--batch-size", "32"], "gd is full-batch"),
    (["--momentum", "1.5"], "--momentum must be in [0, 1)"),
    (["--head-scale", "-1"], "--head-scale must be zero or positive"),
    (["--probe", "feature:clouds"], "no planted feature 'clouds' to probe (it has: grass, sky, wheels)"),
    (["--data", "cifar10", "--data-dir", "/nonexistent/cifar"], "cifar"),
    (["--data", "npz:/nonexistent/file.npz"], "/nonexistent/file.npz"),
    (["--data", "text:/nonexistent/corpus.txt"], "/nonexistent/corpus.txt"),
])
def test_bad_run_flags(cli, tmp_path, args, needle):
    code, _, err = cli("run", "--run-dir", tmp_path / "r", "--quiet", "--steps", "2", *args)
    assert code == 2
    assert needle in _one_sentence(err)


def test_npz_with_mismatched_shapes_and_bad_labels(cli, tmp_path):
    p = tmp_path / "bad.npz"
    np.savez(p, x=np.zeros((10, 8, 8, 3), np.uint8), y=np.zeros(9, np.int64))
    code, _, err = cli("run", "--data", f"npz:{p}", "--run-dir", tmp_path / "r", "--quiet")
    assert code == 2 and "bad.npz" in _one_sentence(err)
    np.savez(p, x=np.zeros((10, 8, 8, 3), np.uint8), y=np.array([0] * 9 + [-1]))
    code, _, err = cli("run", "--data", f"npz:{p}", "--run-dir", tmp_path / "r2", "--quiet")
    assert code == 2 and "label" in _one_sentence(err)


def test_unreadable_and_unknown_toml(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("lr = = 3\n")
    code, _, err = cli("run", "--config", bad, "--run-dir", tmp_path / "r", "--quiet")
    assert code == 2 and "not valid TOML" in _one_sentence(err)
    unknown = tmp_path / "u.toml"
    unknown.write_text("learning_rate = 0.1\n")
    code, _, err = cli("run", "--config", unknown, "--run-dir", tmp_path / "r", "--quiet")
    assert code == 2 and "unknown setting 'learning_rate'" in _one_sentence(err)
    typed = tmp_path / "t.toml"
    typed.write_text('lr = "fast"\n')
    code, _, err = cli("run", "--config", typed, "--run-dir", tmp_path / "r", "--quiet")
    assert code == 2 and "'lr' must be a number" in _one_sentence(err)
    code, _, err = cli("run", "--config", tmp_path / "missing.toml", "--run-dir", tmp_path / "r", "--quiet")
    assert code == 2 and "does not exist" in _one_sentence(err)


def test_toml_config_with_flag_override(cli, tmp_path):
    import osig_core as osig
    cfgfile = tmp_path / "run.toml"
    cfgfile.write_text('model = "mlp"\nwidth = 0.05\nn = 60\nsteps = 3\nlr = 0.01\n')
    code, _, err = cli("run", "--config", cfgfile, "--lr", "0.02", "--run-dir", tmp_path / "r", "--quiet")
    assert code == 0, err
    cfg = osig.open_run(tmp_path / "r").config
    assert cfg.lr == 0.02 and cfg.n == 60 and cfg.width == 0.05


def test_existing_run_is_never_overwritten(cli, tiny_gd_run):
    before = (tiny_gd_run.dir / "losses.f16").read_bytes()
    code, _, err = cli("run", "--run-dir", tiny_gd_run.dir, "--quiet", "--steps", "2")
    assert code == 2 and "already holds a run" in _one_sentence(err)
    assert (tiny_gd_run.dir / "losses.f16").read_bytes() == before


def test_show_and_export_on_a_path_that_is_not_a_run(cli, tmp_path):
    code, _, err = cli("show", tmp_path)
    assert code == 2 and "not an osig run" in _one_sentence(err)
    code, _, err = cli("export", tmp_path / "nope", tmp_path / "o.npz")
    assert code == 2 and "not a directory" in _one_sentence(err)


def test_resume_refuses_config_changes(cli, tiny_gd_run):
    code, _, err = cli("resume" if False else "run", "--resume", tiny_gd_run.dir, "--lr", "0.5", "--quiet")
    assert code == 2 and "only --steps may change" in _one_sentence(err)
