"""Image files in and out, and untrusted zip archives of them.

Everything that enters the library through :func:`load_image` comes out as float32 RGB of shape
H x W x 3 with values in [0, 1] (:mod:`deblur_core.io.decode`); everything that leaves through
:func:`encode_image` or :func:`save_image` is 8-bit PNG or JPEG (:mod:`deblur_core.io.encode`).
:mod:`deblur_core.io.archive` reads zip archives that visitors upload, refusing path tricks and zip bombs.
"""

from deblur_core.io import decode, encode
from deblur_core.io.decode import *  # noqa: F403 - the package offers what its modules list in __all__
from deblur_core.io.encode import *  # noqa: F403

__all__ = [*decode.__all__, *encode.__all__]
