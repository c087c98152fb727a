"""Hessian-vector products from the training step's own pass: the step's gradient must be exactly what
a plain backward gives, the products exactly what the sharpness instrument would compute, and a run
that fuses them must train and estimate as one that does not."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import osig_core as osig
from curvature_reference import exact_hessian, tiny_dataset
from osig_core.engine.gradients import Gradients
from osig_core.instruments.hvp import LossHessian, flat_params
from osig_core.problem.passes import full_batch_gradient


def tiny(bn: bool, seed: int = 0, n: int = 50):
    torch.manual_seed(seed)
    layers = [nn.Linear(5, 16)] + ([nn.BatchNorm1d(16)] if bn else []) + [nn.Tanh(), nn.Linear(16, 3)]
    return nn.Sequential(*layers), torch.randn(n, 5), torch.randint(0, 3, (n,))


def grads_of(model):
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


@pytest.mark.parametrize("bn", [False, True])
@pytest.mark.parametrize("rows", [1, 3])
def test_the_step_gradient_is_unchanged_and_the_products_are_the_instruments(bn, rows):
    model, x, y = tiny(bn)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    plain = full_batch_gradient(model, x, y, loss="ce", label_smoothing=0.0, chunk_size=20)
    g_plain = grads_of(model).clone()
    stats = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(before)  # the plain pass moved the BatchNorm statistics: the same start again
    tangents = torch.randn(rows, sum(p.numel() for p in model.parameters()), generator=torch.Generator().manual_seed(1))
    model.zero_grad(set_to_none=True)
    fused = full_batch_gradient(model, x, y, loss="ce", label_smoothing=0.0, chunk_size=20, tangents=tangents)
    assert torch.equal(grads_of(model), g_plain)  # training is not changed by the products, bit for bit
    assert torch.equal(fused.losses, plain.losses)
    assert all(torch.equal(v, stats[k]) for k, v in model.state_dict().items())  # BatchNorm moved alike
    op = LossHessian(model, x, y, "ce", 0.0, 20)  # the instrument's operator: batch statistics per chunk
    for row in range(rows):
        want = op.hvp(tangents[row])
        assert torch.allclose(fused.products[row], want, rtol=1e-5, atol=1e-6 * float(want.abs().max()))
    if not bn:  # and both are the exact Hessian's products
        h = exact_hessian(model, x, y, "ce", 20)
        assert torch.allclose(fused.products, tangents @ h.float(), rtol=1e-4, atol=1e-5)


def test_products_only_where_the_pass_differentiates_the_estimated_loss():
    model, x, y = tiny(False)
    data = tiny_dataset(x, y)
    cases = [(osig.RunConfig(), True), (osig.RunConfig(precision="bf16"), False), (osig.RunConfig(compile=True), False)]
    for cfg, fusable in cases:
        assert Gradients(cfg, model, data, "ce", None).can_fuse_products() is fusable


def _run(tmp_path, name, fuse: bool, monkeypatch, **overrides):
    monkeypatch.setattr(Gradients, "can_fuse_products", lambda self: fuse and self.dist is None)
    # a budget that never binds: fused and plain estimates then take the same Lanczos path (a fused
    # first product costs less, so under a binding budget the fused run would refine more)
    cfg = osig.RunConfig(n=300, steps=41, sharpness_every=10, checkpoint_every=0, eval_every=0,
                         sharpness_budget=100.0, **overrides)
    return osig.train(cfg, tmp_path / name).metrics()


def test_a_fused_run_trains_bit_identically_and_estimates_the_same_sharpness(tmp_path, monkeypatch):
    fused = _run(tmp_path, "fused", True, monkeypatch)
    plain = _run(tmp_path, "plain", False, monkeypatch)
    assert np.array_equal(fused["train_loss"], plain["train_loss"])  # the products never change training
    ok = np.isfinite(plain["sharpness"])
    assert ok.sum() == 5 and np.array_equal(ok, np.isfinite(fused["sharpness"]))
    np.testing.assert_allclose(fused["sharpness"][ok], plain["sharpness"][ok], rtol=1e-4)
    np.testing.assert_allclose(fused["eig_bound"][ok], plain["eig_bound"][ok], rtol=1e-2, atol=1e-4)
    # every warm estimate took its first product from the step; the count of products is unchanged
    np.testing.assert_array_equal(fused["eig_hvps"][ok], plain["eig_hvps"][ok])


def test_no_fusion_for_a_subset_or_dropout(tmp_path):
    from instrument_inputs import sharpness_for
    model, x, y = tiny(False)
    data = tiny_dataset(x, y)
    whole = sharpness_for(osig.RunConfig(sharpness_every=5), model, data)
    assert whole.fusable and whole.fused_start(0) is None  # no earlier estimate to start from yet
    subset = sharpness_for(osig.RunConfig(sharpness_every=5, sharpness_subset=20), model, data)
    assert not subset.fusable
    dropped = nn.Sequential(nn.Linear(5, 16), nn.Dropout(0.2), nn.Tanh(), nn.Linear(16, 3))
    assert not sharpness_for(osig.RunConfig(sharpness_every=5), dropped, data).fusable
    sgd = sharpness_for(osig.RunConfig(optim="sgd", sharpness_every=5), model, data)
    assert not sgd.fusable
