"""Integrations with training frameworks, each an optional extra built on osig.Monitor.

    from osig_core.integrations.lightning import OsigCallback   # pip install "osig[lightning]"
"""
from __future__ import annotations


def __getattr__(name: str):
    if name == "lightning":  # `osig.integrations.lightning.OsigCallback` without importing it first
        import importlib
        return importlib.import_module("osig_core.integrations.lightning")
    raise AttributeError(f"module 'osig_core.integrations' has no attribute {name!r}")
