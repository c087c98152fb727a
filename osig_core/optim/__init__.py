"""optim: one module per optimizer family, each an OptimizerSpec value; osig_core.components.registry names them."""
