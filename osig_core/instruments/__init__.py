"""Instruments measured while training (one quantity family per module)."""
