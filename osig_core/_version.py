"""The package version, in a module of its own so that the modules that record it (config.json) import
it without importing osig_core/__init__ and what that loads."""
__version__ = "0.1.0"
