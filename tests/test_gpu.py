"""The GPU path gives the CPU's numbers: tests marked `gpu` skip cleanly without CUDA.

On a CUDA machine: `python -m pytest tests/test_gpu.py` (or `bash benchmarks/gpu_check.sh`, which also
prints the timings). The checks live in benchmarks/device_parity.py, which benchmarks/gpu_check.py
reports in its table; the unmarked tests here are their cheap CPU parts.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import device_parity as P  # noqa: E402

from osig_core.problem.passes import PassResult  # noqa: E402

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_cpu_and_cuda_fp32_runs_give_the_same_losses_and_sharpness(tmp_path, model):
    r = P.fp32_parity(tmp_path, "cpu", "cuda", model=model)
    assert r["steps"] == P.TINY["steps"] and r["estimates"] >= 2
    assert r["loss_rel"] <= 1e-4, r
    assert r["sharpness_rel"] <= 1e-3, r


@pytest.mark.gpu
@needs_cuda
def test_bf16_run_tracks_fp32_on_cuda(tmp_path):
    r = P.bf16_tracks_fp32(tmp_path, "cuda")
    assert r["loss_rel"] <= 0.02, r


@pytest.mark.gpu
@needs_cuda
def test_compiled_run_gives_the_eager_losses_on_cuda(tmp_path):
    r = P.compile_matches_eager(tmp_path, "cuda")
    assert r["loss_rel"] <= 1e-4, r


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("write,resume", [("cuda", "cpu"), ("cpu", "cuda")])
def test_checkpoint_resumes_on_the_other_device(tmp_path, write, resume):
    r = P.resume_across(tmp_path, write, resume)
    assert r["status"] == "finished" and r["resumed_steps"] == 2 and r["stored_steps"] == 6, r
    assert r["loss_rel"] <= 1e-4, r


@pytest.mark.gpu
@needs_cuda
def test_a_gd_step_copies_only_the_loss_row_to_the_host(tmp_path):
    r = P.step_copies(tmp_path, "cuda")
    assert r["syncs"] == 1, r
    assert (r["dtoh"], r["htod"]) == (1, 0), r


# ---------------------------------------------------------------------- CPU parts
def test_bf16_run_tracks_fp32_on_cpu(tmp_path):
    r = P.bf16_tracks_fp32(tmp_path, "cpu")
    assert r["steps"] == P.TINY["steps"]
    assert r["loss_rel"] <= 0.02, r


@pytest.mark.parametrize("preds", [torch.tensor([3, 0, 9, 2]), torch.tensor([0.25, -1.5, 7.0, 1e-8])])
def test_the_one_host_copy_returns_every_row_exactly(preds):
    """What a GPU step copies to the host (losses, predictions, correct flags in one transfer) comes back
    bit for bit, each in its own dtype; on the CPU nothing is copied."""
    res = PassResult(torch.tensor([2.302585, 0.0, 1e-30, 65504.5]), preds, torch.tensor([True, False, True, False]))
    back = res.packed_copy(torch.device("cpu"))
    for a, b in ((back.losses, res.losses), (back.preds, res.preds), (back.correct, res.correct)):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    assert back.mean_loss == res.mean_loss and back.accuracy == res.accuracy == 0.5
    assert res.to_host() is res


def test_the_gpu_check_script_prints_its_table_on_cpu(tmp_path):
    """The device check runs end to end at smoke size (the device session has minutes, not hours)."""
    import gpu_check
    rc = gpu_check.main(["--smoke", "--sections", "ceilings,throughput", "--models", "vgg11", "--precisions", "fp32",
                         "--no-profile", "--out", str(tmp_path)])
    table = (tmp_path / "gpu_check.md").read_text()
    assert rc == 0 and "FAIL" not in table, table
    for row in ("matmul ceiling fp32", "vgg11 fp32: steps/s", "HVP cost in gradients", "warm sharpness estimate",
                "peak GPU memory", "recording overhead"):
        assert row in table
    numbers = __import__("json").loads((tmp_path / "gpu_check.json").read_text())
    (r,) = numbers["throughput"]
    assert r["n"] == gpu_check.SMOKE["n"] and np.isfinite(r["tflops"]) and r["tflops"] > 0
    assert len(r["eig_hvps"]) == 3 and np.isfinite(r["sharpness_warm_s"])
