"""HVPs and Lanczos against the exact Hessian of tiny models (torch.func.hessian on flat weights)."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from curvature_reference import exact_hessian
from osig_core.instruments.hvp import HVP_METHODS, LossHessian, flat_params, flatten, unflatten
from osig_core.instruments.lanczos import lanczos_top, power_iteration, warm_start_vector
from osig_core.problem.losses import per_sample_loss


def tanh_mlp(seed=0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 24), nn.Tanh(), nn.Linear(24, 16), nn.Tanh(), nn.Linear(16, 3))


def bn_convnet(seed=0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Tanh(), nn.Flatten(),
                         nn.Linear(4 * 5 * 5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))


class QuadraticSaddle(nn.Module):
    """out = x.w - 2||w||^2: under 0.5*(out - y)^2 with y = -1 near w = 0 the Hessian is roughly
    E[x x^T] - 4 I, whose most negative eigenvalue outweighs the top one."""

    def __init__(self, d: int):
        super().__init__()
        self.w = nn.Parameter(0.01 * torch.randn(d))

    def forward(self, x):
        return (x @ self.w - 2.0 * self.w.pow(2).sum()).unsqueeze(1)


@pytest.fixture(scope="module")
def mlp_problem():
    model = tanh_mlp()
    torch.manual_seed(1)
    x, y = torch.randn(50, 6), torch.randint(0, 3, (50,))
    return model, x, y, exact_hessian(model, x, y, "ce", 20)


@pytest.fixture(scope="module")
def bn_problem():
    model = bn_convnet()
    torch.manual_seed(2)
    x, y = torch.randn(40, 2, 5, 5), torch.randint(0, 3, (40,))
    return model, x, y, exact_hessian(model, x, y, "ce", 16)


def rel(a, b) -> float:
    return float((torch.as_tensor(a).double() - torch.as_tensor(b).double()).norm() / torch.as_tensor(b).double().norm())


@pytest.mark.parametrize("method", HVP_METHODS)
@pytest.mark.parametrize("problem", ["mlp_problem", "bn_problem"])
def test_hvp_matches_exact_hessian_and_changes_nothing(method, problem, request):
    model, x, y, H = request.getfixturevalue(problem)
    chunk = 20 if problem == "mlp_problem" else 16
    before = {k: v.clone() for k, v in model.state_dict().items()}
    op = LossHessian(model, x, y, "ce", chunk_size=chunk, method=method)
    v = torch.randn(op.dim)
    assert rel(op.hvp(v), H @ v.double()) < 1e-4
    assert op.hvps == 1
    for k, t in model.state_dict().items():  # weights and BN running statistics untouched
        assert torch.equal(t, before[k]), k
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("problem, expected", [("mlp_problem", "double-backward"), ("bn_problem", "fwd-rev")])
def test_auto_method_is_a_fixed_rule_and_reproducible(problem, expected, request):
    """Two identical runs must compute bit-identical products: "auto" never times anything."""
    model, x, y, H = request.getfixturevalue(problem)
    chunk = 20 if problem == "mlp_problem" else 16
    v = torch.randn(sum(p.numel() for p in model.parameters()))
    first, second = (LossHessian(model, x, y, "ce", chunk_size=chunk, method="auto") for _ in range(2))
    assert first.method == second.method == expected
    assert torch.equal(first.hvp(v), second.hvp(v))
    assert rel(first.hvp(v), H @ v.double()) < 1e-4 and first.hvps == 2


def test_gradient_and_value_match_autograd(mlp_problem):
    model, x, y, _ = mlp_problem
    op = LossHessian(model, x, y, "ce", chunk_size=20)
    loss = per_sample_loss(model(x), y, "ce").mean()
    g = torch.autograd.grad(loss, list(model.parameters()))
    assert rel(op.gradient(), flatten(g)) < 1e-5
    assert op.value() == pytest.approx(loss.item(), rel=1e-6)


@pytest.mark.parametrize("problem", ["mlp_problem", "bn_problem"])
def test_lanczos_top_eigenpair_matches_exact(problem, request):
    model, x, y, H = request.getfixturevalue(problem)
    evals, evecs = torch.linalg.eigh(H)
    op = LossHessian(model, x, y, "ce", chunk_size=20 if problem == "mlp_problem" else 16)
    res = lanczos_top(op.hvp, torch.randn(op.dim), k=1, tol=1e-4, max_iter=200)
    assert res.converged and res.residuals[0] <= 1e-4
    assert res.eigenvalues[0] == pytest.approx(float(evals[-1]), rel=1e-4)
    assert abs(float(res.vectors[0].double() @ evecs[:, -1])) >= 1 - 1e-4
    assert res.hvps == op.hvps


def test_lanczos_top_k_matches_exact(mlp_problem):
    model, x, y, H = mlp_problem
    evals, evecs = torch.linalg.eigh(H)
    op = LossHessian(model, x, y, "ce", chunk_size=20)
    res = lanczos_top(op.hvp, torch.randn(op.dim), k=3, tol=1e-4, max_iter=200)
    assert res.converged and len(res.eigenvalues) == 3
    for i in range(3):
        assert res.eigenvalues[i] == pytest.approx(float(evals[-1 - i]), rel=1e-4)
        assert abs(float(res.vectors[i].double() @ evecs[:, -1 - i])) >= 1 - 1e-4
    # the recurrence residual is the true residual
    true_res = (H @ res.vectors[0].double() - res.eigenvalues[0] * res.vectors[0].double()).norm() / res.eigenvalues[0]
    assert float(true_res) <= 1.5e-4


def test_largest_algebraic_not_largest_magnitude():
    torch.manual_seed(3)
    d = 30
    model = QuadraticSaddle(d)
    x = torch.randn(80, d) * torch.linspace(0.25, 1.9, d)
    y = -torch.ones(80)
    H = exact_hessian(model, x, y, "mse", 80)
    evals = torch.linalg.eigvalsh(H)
    assert abs(float(evals[0])) > 1.5 * abs(float(evals[-1])) and evals[-1] > 0  # the premise
    op = LossHessian(model, x, y, "mse", chunk_size=80)
    res = lanczos_top(op.hvp, torch.randn(d), k=1, tol=1e-4, max_iter=d)
    assert res.eigenvalues[0] == pytest.approx(float(evals[-1]), rel=1e-4)
    # the textbook power iteration finds the negative one instead
    assert power_iteration(op.hvp, torch.randn(d), tol=1e-6).eigenvalues[0] == pytest.approx(float(evals[0]), rel=1e-3)


def test_warm_start_needs_fewer_hvps_than_cold(mlp_problem):
    model, x, y, _ = mlp_problem
    model = copy.deepcopy(model)
    op = LossHessian(model, x, y, "ce", chunk_size=20)
    gen = torch.Generator().manual_seed(0)
    first = lanczos_top(op.hvp, warm_start_vector(None, op.dim, "cpu", torch.float32, generator=gen), k=2, max_iter=200)
    with torch.no_grad():  # a small move of the weights, like a few training steps
        for p in model.parameters():
            p.add_(1e-2 * torch.randn_like(p))
    for k in (1, 2):
        cold = lanczos_top(op.hvp, warm_start_vector(None, op.dim, "cpu", torch.float32, generator=gen), k=k, max_iter=200)
        warm = lanczos_top(op.hvp, warm_start_vector(first.vectors[:k], op.dim, "cpu", torch.float32, generator=gen),
                           k=k, max_iter=200)
        assert warm.converged and cold.converged
        assert warm.eigenvalues == pytest.approx(cold.eigenvalues, rel=1e-4)
        assert warm.hvps < cold.hvps, (k, warm.hvps, cold.hvps)


def test_flat_params_follow_named_parameters_order(mlp_problem):
    model = mlp_problem[0]
    flat = flat_params(model)
    pieces = unflatten(flat, [p for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(pieces, model.parameters()))


def test_block_start_picks_the_best_combination(mlp_problem):
    model, x, y, H = mlp_problem
    evals, evecs = torch.linalg.eigh(H)
    op = LossHessian(model, x, y, "ce", chunk_size=20)
    block = torch.stack([torch.randn(op.dim), evecs[:, -1].float()])
    res = lanczos_top(op.hvp, block, k=1, tol=1e-4)
    assert res.converged and res.hvps == op.hvps == 2  # two products to choose, none more
    assert res.eigenvalues[0] == pytest.approx(float(evals[-1]), rel=1e-5)


@pytest.mark.parametrize("problem", ["mlp_problem", "bn_problem"])
def test_certified_bound_brackets_an_exact_eigenvalue(problem, request):
    """Whatever the number of products, lambda +- bound contains an exact eigenvalue, the top Ritz
    value never exceeds the top eigenvalue, and 'converged' is claimed only when the top one is
    within the tolerance."""
    model, x, y, H = request.getfixturevalue(problem)
    evals = torch.linalg.eigvalsh(H)
    op = LossHessian(model, x, y, "ce", chunk_size=20 if problem == "mlp_problem" else 16)
    gen = torch.Generator().manual_seed(5)
    start = warm_start_vector(None, op.dim, "cpu", torch.float32, generator=gen)
    for iters in (1, 2, 3, 5, 8, 200):
        res = lanczos_top(op.hvp, start.clone(), k=1, tol=1e-4, max_iter=iters)
        lam, bound = res.eigenvalues[0], res.bounds[0]
        assert bound == pytest.approx(res.residuals[0] * abs(lam))
        assert float((evals - lam).abs().min()) <= bound, iters
        assert lam <= float(evals[-1]) * (1 + 1e-6)
        if res.converged:
            assert abs(lam - float(evals[-1])) <= bound <= 1e-4 * abs(lam)
    assert res.converged  # the last one ran to the tolerance


def test_cheap_acceptance_stops_early_and_says_not_converged(mlp_problem):
    model, x, y, H = mlp_problem
    evals, evecs = torch.linalg.eigh(H)
    op = LossHessian(model, x, y, "ce", chunk_size=20)
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(op.dim, generator=gen)
    near = evecs[:, -1].float() + 0.02 * noise / noise.norm()  # a slightly stale eigenvector
    cheap = lanczos_top(op.hvp, near, k=1, tol=1e-4, accept_tol=5e-2)
    full = lanczos_top(op.hvp, near, k=1, tol=1e-4)
    assert cheap.hvps <= 2 < full.hvps
    assert not cheap.converged and cheap.residuals[0] <= 5e-2 and full.converged
    assert abs(cheap.eigenvalues[0] - float(evals[-1])) <= cheap.bounds[0]
    assert full.eigenvalues[0] == pytest.approx(float(evals[-1]), rel=1e-5)


def test_cheap_acceptance_goes_on_when_the_value_fell_below_the_last_estimate(mlp_problem):
    """A cheap value whose interval lies below the previous estimate may track a lower eigenvalue:
    Lanczos continues instead of stopping."""
    model, x, y, H = mlp_problem
    evals, evecs = torch.linalg.eigh(H)
    op = LossHessian(model, x, y, "ce", chunk_size=20)
    stale = (0.8 * evecs[:, -2] + 0.6 * evecs[:, -1]).float()  # mostly the second eigenvector
    quick = lanczos_top(op.hvp, stale, k=1, tol=1e-4, accept_tol=0.9)
    guarded = lanczos_top(op.hvp, stale, k=1, tol=1e-4, accept_tol=0.9, accept_above=float(evals[-1]))
    assert quick.hvps == 1 and quick.eigenvalues[0] + quick.bounds[0] < float(evals[-1])
    assert guarded.hvps > 1 and guarded.eigenvalues[0] == pytest.approx(float(evals[-1]), rel=1e-2)
