"""optim registry entries: importing this package registers them."""
from osig_core.optim import adam, heavy_ball, signsgd, splitsgd  # noqa: F401
