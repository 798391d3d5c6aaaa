"""Image files in and out, and untrusted zip archives of them.

Everything that enters the library through :func:`load_image` comes out as float32 RGB of shape
H x W x 3 with values in [0, 1] (:mod:`deblur_core.io.decode`); everything that leaves through
:func:`encode_image` or :func:`save_image` is 8-bit PNG or JPEG (:mod:`deblur_core.io.encode`).
:mod:`deblur_core.io.archive` reads zip archives that visitors upload, refusing path tricks and zip bombs.
"""

from deblur_core.io.decode import (
    ALLOWED_FORMATS,
    ALLOWED_TEXT,
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    MIN_SIDE,
    ImageLoadError,
    LoadedImage,
    load_image,
    read_rgb,
)
from deblur_core.io.encode import encode_image, output_like, save_image

__all__ = [
    "ALLOWED_FORMATS",
    "ALLOWED_TEXT",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_SUFFIXES",
    "MIN_SIDE",
    "ImageLoadError",
    "LoadedImage",
    "encode_image",
    "load_image",
    "output_like",
    "read_rgb",
    "save_image",
]
