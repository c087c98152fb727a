"""Multi-process runs on torch.distributed: shard by sample id, all-reduce gradients and HVPs,
gather per-sample losses on the writer rank (rank 0).

A run is distributed when it was started by torch's launcher (`torchrun`, or `osig run --nproc N`,
which execs `python -m torch.distributed.run`): WORLD_SIZE > 1 in the environment. Every rank builds
the same data and model from the seed; rank r owns the contiguous sample ids [lo, hi).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

COMMANDS = ("", "pause", "resume", "checkpoint", "stop")


@dataclass
class DistContext:
    rank: int
    world: int

    @property
    def is_writer(self) -> bool:
        return self.rank == 0

    def shard(self, n: int) -> tuple[int, int]:
        """This rank's contiguous slice of sample ids: sizes differ by at most one."""
        base, extra = divmod(n, self.world)
        lo = self.rank * base + min(self.rank, extra)
        return lo, lo + base + (1 if self.rank < extra else 0)

    def all_reduce_(self, t: torch.Tensor) -> torch.Tensor:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def all_reduce_grads(self, model: torch.nn.Module) -> None:
        """Sum every parameter's gradient across ranks in one flat buffer (one collective)."""
        params = [p for p in model.parameters() if p.grad is not None]
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        self.all_reduce_(flat)
        i = 0
        for p in params:
            k = p.grad.numel()
            p.grad.copy_(flat[i:i + k].view_as(p.grad))
            i += k

    def gather_rows(self, local: torch.Tensor, n: int) -> torch.Tensor:
        """Concatenate every rank's shard (in rank order = sample-id order) on all ranks."""
        sizes = [DistContext(r, self.world).shard(n) for r in range(self.world)]
        longest = max(hi - lo for lo, hi in sizes)
        padded = torch.zeros(longest, dtype=local.dtype, device=local.device)
        padded[:local.shape[0]] = local
        parts = [torch.zeros_like(padded) for _ in range(self.world)]
        dist.all_gather(parts, padded)
        return torch.cat([p[:hi - lo] for p, (lo, hi) in zip(parts, sizes)])

    def broadcast_command(self, command: str | None) -> str | None:
        """Rank 0 polls the control table; every rank learns what it found."""
        code = torch.tensor([COMMANDS.index(command or "")], dtype=torch.int64)
        dist.broadcast(code, src=0)
        return COMMANDS[int(code)] or None

    def close(self) -> None:
        """Leave the process group cleanly (a barrier first, so no rank exits mid-collective)."""
        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

    def broadcast_params(self, model: torch.nn.Module) -> None:
        for t in list(model.parameters()) + list(model.buffers()):
            dist.broadcast(t.data, src=0)


def from_environment(device: torch.device) -> DistContext | None:
    """Join the process group a launcher prepared, or None for a single-process run."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return DistContext(rank=dist.get_rank(), world=dist.get_world_size())


class NullWriter:
    """The store writer of a non-writer rank: every call is a no-op."""

    def __getattr__(self, name):
        return lambda *a, **k: [] if name == "pending_commands" else None
