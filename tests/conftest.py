"""Shared fixtures: tiny runs trained once per session, and a CLI runner that captures stderr."""
from __future__ import annotations

import sys

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `osig ARGS...` in-process; returns (exit_code, stdout, stderr)."""
    from osig_tui.cli import main

    def invoke(*args: str):
        monkeypatch.setattr(sys, "argv", ["osig", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        cap = capsys.readouterr()
        return code, cap.out, cap.err
    return invoke


@pytest.fixture(scope="session")
def tiny_gd_run(tmp_path_factory):
    """A finished 12-step full-batch GD run on synthetic data (MLP, n=200)."""
    import osig_core as osig
    d = tmp_path_factory.mktemp("runs") / "gd"
    cfg = osig.RunConfig(model="mlp", width=0.1, n=200, n_test=100, steps=12, lr=0.05, checkpoint_every=5, eval_every=4)
    return osig.train(cfg, d)
