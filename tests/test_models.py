"""Model registry: every model builds from a Dataset, has the `head` contract, scales with width, trains."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from osig_core.data.base import DataError, Dataset
from osig_core.problem.losses import per_sample_loss
from osig_core.components.registry import MODELS


def image_data(channels: int = 3, size: int = 32, n: int = 4, classes: int = 10) -> Dataset:
    g = torch.Generator().manual_seed(0)
    return Dataset(name=f"img{channels}x{size}", kind="image", x=torch.randn(n, channels, size, size, generator=g),
                   y=torch.arange(n) % classes, classes=[f"c{i}" for i in range(classes)])


def text_data(n: int = 4, context: int = 16, vocab: int = 20) -> Dataset:
    g = torch.Generator().manual_seed(0)
    return Dataset(name="chars", kind="text", x=torch.randint(0, vocab, (n, context), generator=g),
                   y=torch.randint(0, vocab, (n,), generator=g), classes=[chr(97 + i) for i in range(vocab)])


def regression_data(n: int = 6) -> Dataset:
    x = torch.linspace(-1, 1, n).unsqueeze(1)
    return Dataset(name="cheb", kind="regression", x=x, y=x[:, 0] ** 2, classes=[], loss="mse")


def toy_linear_data(d1: int = 4, d2: int = 6, n: int = 8, beta: list[float] | None = None) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d1 + d2, generator=g)
    meta = {"d1": d1, "d2": d2} | ({"beta": beta} if beta is not None else {})
    return Dataset(name="toy-linear", kind="vector", x=x, y=torch.randn(n, generator=g), classes=[], meta=meta, loss="mse")


CASES = [  # (model, dataset factory)
    ("mlp", image_data), ("mlp", lambda: image_data(1, 28)), ("mlp", regression_data), ("mlp", text_data),
    ("cnn", image_data), ("cnn", lambda: image_data(1, 28)),
    ("vgg11", image_data), ("vgg11", lambda: image_data(1, 28)),
    ("vgg11-bn", image_data), ("vgg11-bn", lambda: image_data(1, 28)),
    ("resnet18", image_data), ("resnet18", lambda: image_data(1, 28)),
    ("vit", image_data), ("vit", lambda: image_data(1, 28)),
    ("gpt", text_data),
    ("linear2", toy_linear_data),
]
TINY = 0.05


def build(name: str, data: Dataset, width: float = TINY, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return MODELS[name](data, width)


def test_registry_has_every_model():
    assert {"mlp", "cnn", "vgg11", "vgg11-bn", "resnet18", "vit", "gpt", "linear2"} <= set(MODELS)


@pytest.mark.parametrize("name,make", CASES, ids=[f"{m}-{i}" for i, (m, _) in enumerate(CASES)])
def test_forward_backward_and_head_contract(name, make):
    data = make()
    model = build(name, data)
    seen = {}
    model.head.register_forward_hook(lambda mod, inp, out: seen.update(feature=inp[0], out=out))
    out = model(data.x)
    assert out.shape == (data.n, data.num_outputs)
    # head is a Linear applied last: its input is the penultimate feature and its output is the model's.
    assert isinstance(model.head, nn.Linear)
    assert [m for m in model.modules() if isinstance(m, nn.Linear)][-1] is model.head
    assert seen["feature"].shape == (data.n, model.head.in_features)
    assert torch.equal(seen["out"], out)
    assert torch.allclose(model.head(seen["feature"]), out)
    per_sample_loss(out, data.y, data.loss).mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name,make", [(m, image_data) for m in ("mlp", "cnn", "vgg11", "vgg11-bn", "resnet18", "vit")]
                         + [("mlp", regression_data), ("gpt", text_data)])
def test_width_scales_parameter_count(name, make):
    data = make()
    count = lambda w: sum(p.numel() for p in build(name, data, w).parameters())  # noqa: E731
    assert count(0.02) < count(0.1) < count(0.25)


def test_tiny_width_keeps_at_least_one_unit():
    for name, make in CASES:
        model = build(name, make(), width=0.001)
        out = model(make().x)
        assert out.shape[0] == make().n


def test_same_seed_same_weights():
    data = image_data()
    a, b = build("vit", data, seed=3), build("vit", data, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = build("vit", data, seed=4)
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_gpt_is_causal_and_predicts_after_last_position():
    data = text_data()
    model = build("gpt", data).eval()
    hidden = []
    model.norm.register_forward_hook(lambda mod, inp, out: hidden.append(out))
    x = data.x.clone()
    ref = model(x)
    x_last, x_first = x.clone(), x.clone()
    x_last[:, -1] = (x_last[:, -1] + 1) % 20
    x_first[:, 0] = (x_first[:, 0] + 1) % 20
    assert not torch.allclose(model(x_last), ref)  # the next-token logits read the last token
    assert not torch.allclose(model(x_first), ref)  # ... and attend back to the first
    # causal: changing the last token leaves every earlier position's hidden state unchanged
    assert torch.allclose(hidden[1][:, :-1], hidden[0][:, :-1]) and not torch.allclose(hidden[1], hidden[0])


def test_wrong_data_kind_is_one_clear_error():
    with pytest.raises(DataError, match="needs image data"):
        build("vgg11", text_data())
    with pytest.raises(DataError, match="needs text data"):
        build("gpt", image_data())
    with pytest.raises(DataError, match="toy-linear"):
        build("linear2", regression_data())


def gd_losses(model: nn.Module, data: Dataset, steps: int, lr: float = 0.05) -> list[float]:
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = per_sample_loss(model(data.x), data.y, "ce").mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_vgg11_he_init_and_it_trains():
    # 16 images of 10 classes: a faint class template (signal units like `synthetic`) plus noise
    g = torch.Generator().manual_seed(2)
    y = torch.arange(16) % 10
    x = 0.4 * torch.randn(10, 3, 32, 32, generator=g)[y] + 0.35 * torch.randn(16, 3, 32, 32, generator=g)
    data = Dataset(name="templates", kind="image", x=x, y=y, classes=[f"c{i}" for i in range(10)])
    model = build("vgg11", data, width=0.125, seed=2)
    for conv in [m for m in model.modules() if isinstance(m, nn.Conv2d)][2:]:  # enough weights for a std
        assert conv.weight.std().item() == pytest.approx((2.0 / conv.weight[0].numel()) ** 0.5, rel=0.1)
    chance = math.log(10)
    assert min(gd_losses(model, data, 10)[-3:]) < chance - 0.15  # full-batch GD at lr 0.05 learns
    # why He init: with PyTorch's default init the same net does not move off chance in 10 steps
    default = build("vgg11", data, width=0.125, seed=2)
    for m in default.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.reset_parameters()
    assert min(gd_losses(default, data, 10)) > chance - 0.02


def test_linear2_init_honours_the_papers_setup():
    d1, d2 = 5, 9
    beta = [1.0, -2.0, 0.5, 3.0, 0.0]
    model = build("linear2", toy_linear_data(d1, d2, beta=beta))
    b, bo = model.b.detach().double(), model.b_o.detach().double()
    assert b.sum().item() == pytest.approx(d1 / (d1 + d2), abs=1e-6)
    assert (b @ b).item() == pytest.approx(d1 / (d1 + d2), abs=1e-6)
    assert bo.sum().item() == pytest.approx(d2 / (d1 + d2), abs=1e-6)
    assert (bo @ bo).item() == pytest.approx(d2 / (d1 + d2), abs=1e-6)
    beta_t = torch.tensor(beta, dtype=torch.float64)
    assert (b @ beta_t).item() == pytest.approx(beta_t.norm().item() / (d1 + d2) ** 0.5, abs=1e-6)
    assert model.head.weight.item() == 1.0
    x = toy_linear_data(d1, d2, beta=beta).x
    assert torch.allclose(model(x)[:, 0], x[:, :d1] @ model.b + x[:, d1:] @ model.b_o)
    # width is ignored: exactly d1 + d2 + 1 parameters
    assert sum(p.numel() for p in build("linear2", toy_linear_data(d1, d2), width=4.0).parameters()) == d1 + d2 + 1
