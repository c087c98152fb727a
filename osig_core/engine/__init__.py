"""`osig run`'s driver: the training loop, its inputs mapped from a RunConfig, multi-process gradients, resume."""
