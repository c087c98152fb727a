"""The minibatch order of `osig run`: a seeded permutation per epoch, drawn from a generator of its
own (seed + 1) so that recording or measuring never shifts it, and stored whole in each checkpoint
(`rng.batches`, `rng.perm`, `extra.perm_pos`) so that a resumed run draws the same batches."""
from __future__ import annotations

import torch


class BatchOrder:
    def __init__(self, seed: int):
        self.generator = torch.Generator().manual_seed(seed + 1)
        self.perm: torch.Tensor | None = None
        self.pos = 0

    def next(self, batch_size: int, n: int, device: torch.device) -> torch.Tensor:
        """The next batch's sample ids; a new permutation when the epoch's rest is shorter than a batch."""
        if self.perm is None or self.pos + batch_size > n:
            self.perm = torch.randperm(n, generator=self.generator)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + batch_size]
        self.pos += batch_size
        return idx.to(device)

    def rng_state(self) -> dict[str, torch.Tensor]:
        return {"batches": self.generator.get_state(),
                "perm": self.perm if self.perm is not None else torch.zeros(0, dtype=torch.long)}

    def load(self, rng: dict[str, torch.Tensor], extra: dict) -> None:
        self.perm, self.pos = None, 0
        self.generator.set_state(rng["batches"])
        if "perm" in rng and rng["perm"].numel():
            self.perm = rng["perm"].to(torch.long)
            self.pos = int(extra.get("perm_pos", 0))
