"""Restoration: every method behind one entry point, :func:`restore`."""

from deblur_core.restoration.restore import restore

__all__ = ["restore"]
