"""Screens of `osig watch`: dashboard, group inspection, help, confirmations."""
