"""Two CPU processes (gloo) give the same run as one: losses, metrics, and the run directory."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

import osig_core as osig
from fixtures.waiting import HANG_S


def _run(tmp_path, name, *extra):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    args = [sys.executable, "-m", "osig_tui.cli", "run", "--model", "mlp", "--width", "0.1", "--n", "301",
            "--steps", "8", "--sharpness-every", "4", "--run-dir", str(tmp_path / name), "--quiet", *extra]
    p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=HANG_S)
    assert p.returncode == 0, p.stderr[-2000:]
    return osig.open_run(tmp_path / name)


def test_two_gloo_processes_match_one(tmp_path):
    single = _run(tmp_path, "single")
    double = _run(tmp_path, "double", "--nproc", "2")
    a = np.asarray(single.losses(), np.float32)
    b = np.asarray(double.losses(), np.float32)
    assert a.shape == b.shape == (8, 301)
    np.testing.assert_allclose(a, b, rtol=2e-3, atol=1e-3)  # float16 storage; sums in another order
    ma, mb = single.metrics(), double.metrics()
    for key in ("train_loss", "train_acc", "frac_up"):
        np.testing.assert_allclose(ma[key], mb[key], rtol=1e-4, atol=1e-4, err_msg=key)
    if "sharpness" in ma:
        sa, sb = ma["sharpness"], mb["sharpness"]
        ok = ~np.isnan(sa)
        assert ok.any() and (np.isnan(sb) == ~ok).all()
        np.testing.assert_allclose(sa[ok], sb[ok], rtol=1e-3)
    assert double.status()[0] == "finished"
    assert [s for s, _ in double.checkpoints()] == [s for s, _ in single.checkpoints()]
