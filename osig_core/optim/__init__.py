"""optim: one module per optimizer family, each an OptimizerSpec value; osig_core.registry names them."""
