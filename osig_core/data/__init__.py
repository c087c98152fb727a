"""data registry entries: importing this package registers them."""
from osig_core.data import synthetic  # noqa: F401
