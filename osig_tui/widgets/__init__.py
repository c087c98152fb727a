"""Widgets of `osig watch` (each draws one kind of data and redraws only when it changes)."""
