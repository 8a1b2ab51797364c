"""Notifiers shipped with the core."""
