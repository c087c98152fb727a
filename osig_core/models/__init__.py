"""models: one module per architecture, each a plain `build(data, width)`; osig_core.components.registry names them."""
