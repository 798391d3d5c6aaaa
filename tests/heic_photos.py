"""Real HEIC photos for the tests, encoded by pillow-heif (HEVC inside, as a phone writes them)."""

from __future__ import annotations

import io
import struct

import numpy as np
import pillow_heif
from PIL import Image, ImageCms

pillow_heif.register_heif_opener()  # lets Pillow write HEIF
EXIF_ORIENTATION = 0x0112


def band_photo(height: int = 48, width: int = 80) -> np.ndarray:
    """uint8 RGB, mid grey with a pure red band along the top: which way is up is plain to see."""
    pixels = np.full((height, width, 3), 128, np.uint8)
    pixels[: height // 5] = (255, 0, 0)
    return pixels


def heic_bytes(pixels: np.ndarray, *, orientation: int = 1, icc: bytes | None = None, quality: int = 95) -> bytes:
    """An 8-bit HEIC file of ``pixels`` (uint8 H x W x 3) with an EXIF orientation and an optional profile."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    options = {"exif": exif.tobytes(), "quality": quality}
    if icc is not None:
        options["icc_profile"] = icc
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "HEIF", **options)
    return buffer.getvalue()


def heic_10_bit(samples: np.ndarray) -> bytes:
    """A 10-bit HEIC file of ``samples`` (uint16 H x W x 3, the full 16-bit range), stored as losslessly as it goes."""
    height, width = samples.shape[:2]
    deep = pillow_heif.from_bytes(mode="RGB;16", size=(width, height), data=np.ascontiguousarray(samples).tobytes())
    buffer = io.BytesIO()
    deep.save(buffer, quality=-1)
    return buffer.getvalue()


def icc_with_swapped_primaries() -> bytes:
    """An sRGB profile whose red and blue primaries are swapped, so converting it visibly moves colours."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", data[128:132])[0]
    entries = {bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    data[red + 4 : red + 12], data[blue + 4 : blue + 12] = data[blue + 4 : blue + 12], data[red + 4 : red + 12]
    return bytes(data)
