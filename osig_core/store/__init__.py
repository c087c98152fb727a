"""The run directory: a writer for the engine, a reader for everyone else (see docs/run-format.md)."""
from osig_core.store.layout import FORMAT_VERSION, RunStoreError
from osig_core.store.reader import RunReader
from osig_core.store.writer import RunWriter

__all__ = ["FORMAT_VERSION", "RunStoreError", "RunReader", "RunWriter"]
