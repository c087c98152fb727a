"""Independent references for the curvature tests: exact Hessians of tiny models by torch.func.hessian."""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call

from osig_core.instruments.hvp import flatten, trainable, unflatten
from osig_core.problem.losses import per_sample_loss


class ManualBatchNorm(nn.Module):
    """BatchNorm with batch statistics written out by hand: the reference for train-mode BN
    (torch.func.hessian's vmap mishandles the BatchNorm kernel in this torch version)."""

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm):
        super().__init__()
        self.weight = nn.Parameter(bn.weight.detach().clone())
        self.bias = nn.Parameter(bn.bias.detach().clone())
        self.eps = bn.eps

    def forward(self, x):
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        mean = x.mean(dims, keepdim=True)
        var = (x - mean).pow(2).mean(dims, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight.view(shape) + self.bias.view(shape)


def without_batchnorm(model: nn.Module) -> nn.Module:
    ref = copy.deepcopy(model)
    for name, module in list(ref.named_modules()):
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            parent, _, child = name.rpartition(".")
            setattr(ref.get_submodule(parent) if parent else ref, child, ManualBatchNorm(module))
    return ref


def exact_hessian(model: nn.Module, x, y, loss: str, chunk_size: int) -> torch.Tensor:
    """Independent reference: the float64 Hessian of sum_chunks sum_i l_i / N, BN with batch stats."""
    ref = without_batchnorm(model).double()
    names = [n for n, _ in trainable(ref)]
    like = [p.detach() for _, p in trainable(ref)]

    def mean_loss(flat):
        params = dict(zip(names, unflatten(flat, like)))
        total = 0.0
        for s in range(0, x.shape[0], chunk_size):
            out = functional_call(ref, params, (x[s:s + chunk_size].double(),))
            total = total + per_sample_loss(out.double(), y[s:s + chunk_size], loss).double().sum()
        return total / x.shape[0]

    return torch.func.hessian(mean_loss)(flatten(like))


def tiny_dataset(x, y, loss="ce", kind="vector", meta=None):
    from osig_core.data.base import Dataset
    classes = [str(c) for c in range(int(y.max()) + 1)] if y.dtype == torch.long else []
    return Dataset(name="tiny", kind=kind, x=x, y=y, classes=classes, loss=loss, meta=meta or {})
