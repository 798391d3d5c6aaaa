"""Restoration: the method catalogue, the :class:`Restoration` result, and :func:`restore` for every method.

Importing this package registers the built-in methods (:mod:`deblur_core.restoration.builtin`).
"""

from deblur_core.restoration.builtin import TRAINED_MODEL  # importing it registers the built-in methods
from deblur_core.restoration.catalogue import (
    CATALOGUE,
    KERNEL_USES,
    TAKES,
    TAKES_TEXT,
    Method,
    Option,
    describe_model,
    get_method,
    kernel_needed,
    methods,
    model_takes,
    register,
    unregister,
)
from deblur_core.restoration.restore import MethodCall, restore, restore_image
from deblur_core.restoration.result import KERNEL_SOURCES, Restoration, Stage

__all__ = [
    "CATALOGUE",
    "KERNEL_SOURCES",
    "KERNEL_USES",
    "TAKES",
    "TAKES_TEXT",
    "TRAINED_MODEL",
    "Method",
    "MethodCall",
    "Option",
    "Restoration",
    "Stage",
    "describe_model",
    "get_method",
    "kernel_needed",
    "methods",
    "model_takes",
    "register",
    "restore",
    "restore_image",
    "unregister",
]
