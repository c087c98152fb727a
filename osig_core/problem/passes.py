"""Forward/backward passes over the training set: the gradient and the per-sample losses come from
the same pass, so recording every sample's loss under GD costs no extra forward."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from osig_core.problem.losses import per_sample_loss, predictions


@dataclass
class PassResult:
    losses: torch.Tensor  # [M] float32 per-sample losses (on device)
    preds: torch.Tensor  # [M] predicted class ids (or regression outputs)
    correct: torch.Tensor  # [M] bool
    products: torch.Tensor | None = None  # [k, dim] H t for the pass's `tangents` (stays on the device)

    @property
    def mean_loss(self) -> float:
        return float(self.losses.mean())

    @property
    def accuracy(self) -> float:
        return float(self.correct.float().mean())

    def to_host(self) -> "PassResult":
        """The rows on the CPU through ONE device->host copy (a GPU step then syncs once, not once per
        row and scalar); mean_loss/accuracy of the result read host memory. On the CPU: self."""
        if self.losses.device.type == "cpu":
            return self
        return self.packed_copy(torch.device("cpu"))

    def packed_copy(self, device: torch.device) -> "PassResult":
        """Losses, predictions and correct flags concatenated as float64 (exact for all three; float32
        on MPS, which has no float64), copied together, split and cast back to their dtypes on `device`."""
        parts = (self.losses, self.preds, self.correct)
        wide = torch.float32 if self.losses.device.type == "mps" else torch.float64
        flat = torch.cat([t.reshape(-1).to(wide) for t in parts]).to(device)
        out = [piece.view(t.shape).to(t.dtype) for piece, t in zip(flat.split([t.numel() for t in parts]), parts)]
        return PassResult(*out, products=self.products)


def _autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return torch.autocast(device_type=device.type, enabled=False)


def full_batch_gradient(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str,
                        label_smoothing: float, chunk_size: int, precision: str = "fp32",
                        record: bool = True, grad_scale: float | None = None,
                        tangents: torch.Tensor | None = None) -> PassResult | None:
    """Accumulate the gradient of the mean loss over all of (x, y) into `.grad`, chunk by chunk.

    With record=False only the gradient is computed (the benchmark's baseline). `grad_scale`
    overrides 1/len(x) (distributed runs divide by the global N). `tangents` [k, dim] (flat, in the
    order of the trainable parameters): the same pass also returns the Hessian-vector products of
    the mean loss with them (`PassResult.products`), one double backward per chunk on the graph the
    gradient already built; a sharpness estimate due this step then saves a whole gradient pass."""
    n = x.shape[0]
    scale = (1.0 / n) if grad_scale is None else grad_scale
    losses = torch.empty(n, device=x.device, dtype=torch.float32) if record else None
    preds = correct = products = None
    for i in range(0, n, chunk_size):
        xc, yc = x[i:i + chunk_size], y[i:i + chunk_size]
        with _autocast(x.device, precision):
            out = model(xc)
        per = per_sample_loss(out, yc, loss, label_smoothing)
        if tangents is None:
            (per.sum() * scale).backward()
        else:
            hv = _backward_with_products(model, per.sum() * scale, tangents)
            products = hv if products is None else products + hv
        if record:
            losses[i:i + len(per)] = per.detach()
            p, c = predictions(out.detach(), yc)
            if preds is None:
                preds = torch.empty(n, device=x.device, dtype=p.dtype)
                correct = torch.empty(n, device=x.device, dtype=torch.bool)
            preds[i:i + len(p)] = p
            correct[i:i + len(c)] = c
    return PassResult(losses, preds, correct, products) if record else None


def _backward_with_products(model: torch.nn.Module, scaled: torch.Tensor, tangents: torch.Tensor) -> torch.Tensor:
    """`scaled.backward()` (gradients accumulated into `.grad` exactly as it would) plus H t for each
    row t of `tangents`: the gradient is built with create_graph, then differentiated once more
    along the rows (batched when there are several)."""
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(scaled, params, create_graph=True, allow_unused=True)
    for p, g in zip(params, grads):
        if g is not None:
            p.grad = g.detach() if p.grad is None else p.grad + g.detach()
    k = tangents.shape[0]
    pieces, start = [], 0
    for p in params:
        pieces.append(tangents[:, start:start + p.numel()].reshape(k, *p.shape))
        start += p.numel()
    used = [i for i, g in enumerate(grads) if g is not None and g.requires_grad]
    hv: list = [None] * len(params)
    if used:  # a loss linear in every weight has a zero Hessian and a gradient outside the graph
        hv = torch.autograd.grad([grads[i] for i in used], params,
                                 grad_outputs=[pieces[i] if k > 1 else pieces[i][0] for i in used],
                                 is_grads_batched=k > 1, allow_unused=True)
    return torch.cat([tangents.new_zeros(k, p.numel()) if h is None else h.reshape(k, -1)
                      for h, p in zip(hv, params)], 1)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str, label_smoothing: float,
             chunk_size: int, precision: str = "fp32", eval_mode: bool = False) -> PassResult:
    """Per-sample losses without gradients (minibatch tracking, test evaluation).

    Tracking keeps the training mode so BatchNorm behaves as in training passes (eval_mode=True
    for the test split); running statistics are saved and restored so this never changes the model."""
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    was_training = model.training
    model.train(not eval_mode)
    parts_l, parts_p, parts_c = [], [], []
    for i in range(0, x.shape[0], chunk_size):
        xc, yc = x[i:i + chunk_size], y[i:i + chunk_size]
        with _autocast(x.device, precision):
            out = model(xc)
        parts_l.append(per_sample_loss(out, yc, loss, label_smoothing))
        p, c = predictions(out, yc)
        parts_p.append(p)
        parts_c.append(c)
    for k, v in model.named_buffers():
        v.copy_(buffers[k])
    model.train(was_training)
    return PassResult(torch.cat(parts_l), torch.cat(parts_p), torch.cat(parts_c))
