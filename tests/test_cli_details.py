"""Small things a user meets on the command line: help pages that show defaults and nothing
Typer-internal, `export --losses` to CSV, and no accuracy in a regression run's summary."""
from __future__ import annotations

import csv
import re

import numpy as np
import pytest

import osig_core as osig


def _plain_help(cli, *command: str) -> str:
    """The help page as one line of words: panel borders gone, wrapped rows joined (a wrapped row
    continues in its last column, so its words stay in order)."""
    code, out, err = cli(*command, "--help")
    assert code == 0, err
    return " ".join(out.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def test_run_help_shows_defaults_and_no_typer_noise(cli):
    text = _plain_help(cli, "run")
    for flag, default in (("--lr", "0.05"), ("--steps", "300"), ("--n", "2000"), ("--optim", "gd"),
                          ("--sharpness-every", "0"), ("--seed", "0"), ("--model", "mlp")):
        row = re.search(rf" {flag} (INT|FLOAT|TEXT) (.*?)\[default: ([^]]*)\]", text)
        assert row and row.group(3).split(";")[0] == default, (flag, row and row.group(0))
    assert "--compile/--no-compile torch.compile the model. [default: off]" in text
    # a model's CPU defaults are listed where they differ
    from osig_core.config.run_config import CPU_MODEL_DEFAULTS
    every = CPU_MODEL_DEFAULTS["vgg11"]["sharpness_every"]
    assert f"Estimate the sharpness every K steps (0 = off). [default: 0; on CPU vgg11 {every}]" in text
    for noise in ("<bool>", "<str>", "<int>", "<float>", "<path>", "{run}"):
        assert noise not in text, noise
    assert "--force Replace" in text  # a flag takes no value: nothing between its name and its help


def test_argument_names_read_as_values_in_usage(cli):
    text = _plain_help(cli, "export")
    assert "export [OPTIONS] RUN [OUT]" in text and "{" not in text
    assert "watch [OPTIONS] [RUN]" in _plain_help(cli, "watch")


def test_export_csv_with_losses_writes_every_samples_loss(tiny_gd_run, tmp_path, cli):
    out = tmp_path / "e.csv"
    code, _, err = cli("export", tiny_gd_run.dir, out, "--losses")
    assert code == 0, err
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    run = osig.open_run(tiny_gd_run.dir)
    header, body = rows[0], rows[1:]
    assert header[0] == "step" and header[-run.n:] == [f"loss_{i}" for i in range(run.n)]
    assert len(body) == run.steps_done()
    got = np.array([[float(v) for v in r[-run.n:]] for r in body], np.float16)
    np.testing.assert_array_equal(got, np.asarray(run.losses()))  # exactly the stored float16 values
    assert [int(r[0]) for r in body] == list(run.loss_steps())
    # without --losses the CSV is the per-step scalars only
    cli("export", tiny_gd_run.dir, tmp_path / "s.csv")
    assert not any(h.startswith("loss_") for h in (tmp_path / "s.csv").read_text().splitlines()[0].split(","))


def test_a_regression_summary_shows_no_accuracy(cli, tmp_path):
    d = tmp_path / "cheb"
    code, out, err = cli("run", "--model", "mlp", "--width", "0.1", "--data", "chebyshev", "--loss", "mse",
                         "--n", "40", "--n-test", "20", "--steps", "3", "--eval-every", "1", "--run-dir", d)
    assert code == 0, err
    assert "train loss" in out and "accuracy" not in out
    code, out, err = cli("show", d)
    assert code == 0, err
    assert "train loss" in out and "accuracy" not in out


def test_a_classification_summary_still_shows_accuracy(cli, tiny_gd_run):
    code, out, err = cli("show", tiny_gd_run.dir)
    assert code == 0, err
    assert "train accuracy" in out and "test accuracy" in out
