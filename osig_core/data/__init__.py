"""data: one module per dataset, each a plain `build(cfg, arg)`; osig_core.components.registry names them."""
