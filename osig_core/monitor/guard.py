"""Leave the user's model exactly as the loop left it, whatever the monitor measured.

The instruments already evaluate without changing weights or `.grad`; this guard also puts back
what a measurement could touch by accident: train/eval flags, `requires_grad`, `.grad` objects,
buffers (BatchNorm running statistics, num_batches_tracked), and the torch RNG states (CPU and
every initialised CUDA device), so the user's next dropout mask or shuffle is the one it would
have been without the monitor.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def untouched(model: torch.nn.Module) -> Iterator[None]:
    modes = [(m, m.training) for m in model.modules()]
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    grads = [p.grad for p in params]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    grad_enabled = torch.is_grad_enabled()
    try:
        yield
    finally:
        torch.set_grad_enabled(grad_enabled)
        for m, flag in modes:
            m.training = flag
        for p, flag, g in zip(params, flags, grads):
            if p.requires_grad != flag:
                p.requires_grad_(flag)
            if p.grad is not g:
                p.grad = g
        with torch.no_grad():
            for b, saved in buffers:
                if not torch.equal(b, saved):
                    b.copy_(saved)
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
