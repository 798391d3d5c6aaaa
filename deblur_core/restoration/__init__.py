"""Restoration: the method catalogue, the :class:`Restoration` result, and :func:`restore` for every method.

Importing this package registers the built-in methods (:mod:`deblur_core.restoration.builtin`).
"""

from deblur_core.restoration import catalogue as _catalogue
from deblur_core.restoration import restore as _restore
from deblur_core.restoration import result as _result
from deblur_core.restoration.builtin import TRAINED_MODEL  # importing it registers the built-in methods
from deblur_core.restoration.catalogue import *  # noqa: F403 - the package offers what its modules list
from deblur_core.restoration.restore import *  # noqa: F403
from deblur_core.restoration.result import *  # noqa: F403

__all__ = [*_catalogue.__all__, *_restore.__all__, *_result.__all__, "TRAINED_MODEL"]
