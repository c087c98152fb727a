"""The run directory: a writer for the engine, a reader for everyone else (see docs/run-format.md)."""
from osig_core.store.layout import FORMAT_VERSION, RunStoreError

_LAZY = {"RunReader": "osig_core.store.reader", "RunWriter": "osig_core.store.writer"}


def __getattr__(name: str):
    """RunReader / RunWriter load numpy, so they load on first use (see osig_core.__getattr__)."""
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'osig_core.store' has no attribute {name!r}")


__all__ = ["FORMAT_VERSION", "RunStoreError", "RunReader", "RunWriter"]
