"""HEIC and HEIF photos (what phones save by default), decoded through ``pillow-heif``.

Pillow opens them once :func:`available` has registered the decoder. The decoder applies the file's
rotation and mirroring while it decodes (and resets the EXIF orientation to 1), so a HEIC photo comes out
upright with no second turn. Its colour profile goes through the same conversion to sRGB as any other
file's. Photos with more than 8 bits per sample (10-bit HEIC) are read at their full depth by
:func:`full_depth` as a pair of 8-bit planes, the high and the low byte of each 16-bit sample, which is
how :mod:`deblur_core.io.decode` keeps 16-bit PNGs whole.
"""

from __future__ import annotations

import functools
from typing import BinaryIO

import numpy as np
from PIL import Image

FORMAT = "HEIF"
"""Pillow's name for the format (HEIC is HEIF with HEVC inside)."""
SUFFIXES = (".heic", ".heif")


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Whether HEIC/HEIF photos can be read: registers pillow-heif's decoder with Pillow on the first call."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def bit_depth(image: Image.Image) -> int:
    """Bits per sample of an opened HEIF image (8, 10 or 12)."""
    return int(image.info.get("bit_depth") or 8)


def full_depth(handle: BinaryIO, image: Image.Image) -> tuple[Image.Image, Image.Image] | None:
    """The high and low bytes of a deeper-than-8-bit HEIF image's samples, scaled to 16 bits, or None.

    ``image`` is the 8-bit image Pillow opened from ``handle``; the pixels are decoded again at their own
    depth. The two planes are RGB (or RGBA), upright, and the high one carries ``image``'s colour profile.
    None for an 8-bit image or one the decoder cannot give at full depth (the 8-bit decode is then kept).
    """
    depth = bit_depth(image)
    if depth <= 8:
        return None
    import pillow_heif

    try:
        handle.seek(0)
        deep = pillow_heif.open_heif(handle, convert_hdr_to_8bit=False)
        samples = np.asarray(deep)
    except (OSError, ValueError, RuntimeError):
        return None
    if samples.dtype != np.uint16 or samples.shape[:2] != (image.height, image.width):
        return None
    # The decoder leaves each sample in the top bits of 16; spread it over the whole 16-bit range.
    levels = (samples >> (16 - depth)).astype(np.float64)
    wide = np.round(levels * (65535.0 / (2**depth - 1))).astype(np.uint16)
    high = Image.fromarray((wide >> 8).astype(np.uint8))
    low = Image.fromarray((wide & 0xFF).astype(np.uint8))
    if image.info.get("icc_profile"):
        high.info["icc_profile"] = image.info["icc_profile"]
    return high, low
