"""data registry entries: importing this package registers them (one module per dataset)."""
from osig_core.data import (  # noqa: F401
    chebyshev,
    cifar10,
    fashion_mnist,
    npz,
    synthetic,
    text,
    toy_linear,
)
