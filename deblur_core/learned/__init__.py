"""Learned restoration: architectures, losses, the model registry (and its cache), the runner and tiling.

Architectures and losses import Keras, so this package imports nothing by itself: use
:mod:`deblur_core.learned.architectures`, :mod:`~deblur_core.learned.losses`,
:mod:`~deblur_core.learned.registry`, :mod:`~deblur_core.learned.runner` and
:mod:`~deblur_core.learned.tiling` directly.
"""
