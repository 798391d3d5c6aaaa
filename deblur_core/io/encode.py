"""Encode and save images: float RGB in [0, 1] out as 8-bit PNG or JPEG, written atomically."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from deblur_core.files import atomic_write_bytes
from deblur_core.image import rgb_to_luma, to_uint8, validate_image
from deblur_core.io.decode import LoadedImage
from deblur_core.io.png import encode_png

__all__ = ["encode_image", "output_like", "save_image"]

_JPEG_NAMES = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG"}
_SUFFIX_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    """Validate an H x W x 3 floating-point image (values outside [0, 1] are clipped when written)."""
    return validate_image(rgb, value_range=False)


def _check_alpha(alpha: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """Validate an alpha plane of the image's height and width (an H x W x 1 plane is accepted)."""
    if alpha is None:
        return None
    plane = np.asarray(alpha)
    if plane.ndim == 3 and plane.shape[2] == 1:
        plane = plane[:, :, 0]
    if plane.shape != tuple(shape):
        raise ValueError(f"the alpha plane has shape {plane.shape} but the image is {shape[0]} x {shape[1]} pixels.")
    if not np.issubdtype(plane.dtype, np.floating):
        raise ValueError(f"expected a floating-point alpha plane with values in [0, 1], got {plane.dtype}.")
    return plane


def _normalise_format(format: str) -> str:
    """'png' or 'jpeg'/'jpg' (any case, with or without a dot) -> Pillow's name."""
    key = str(format).lower().lstrip(".")
    if key not in _JPEG_NAMES:
        raise ValueError(f"cannot write format {format!r}; use 'png' or 'jpeg'.")
    return _JPEG_NAMES[key]


def encode_image(
    rgb: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    greyscale: bool = False,
    format: str = "png",
    quality: int = 95,
) -> bytes:
    """Encode a float RGB image as 8-bit PNG or JPEG bytes.

    Parameters
    ----------
    rgb : numpy.ndarray
        float, H x W x 3, values in [0, 1] (values outside are clipped).
    alpha : numpy.ndarray, optional
        float, H x W, values in [0, 1]. PNG keeps it (RGBA, or LA with ``greyscale``); JPEG has no
        transparency, so the image is composited onto white.
    greyscale : bool, optional
        Write one channel (mode L), the BT.601 luma of ``rgb``.
    format : {"png", "jpeg"}, optional
        PNG is lossless; ``"jpg"`` is accepted for JPEG.
    quality : int, optional
        JPEG quality from 1 to 100; from 90 up, colour is kept at full resolution (4:4:4). Ignored
        for PNG.

    Returns
    -------
    bytes
        The encoded file.

    Raises
    ------
    ValueError
        Bad shape or dtype, NaN values, an alpha plane of another size, an unknown format or a
        quality outside 1-100.
    """
    values = _check_rgb(rgb)
    plane_alpha = _check_alpha(alpha, values.shape[:2])
    fmt = _normalise_format(format)
    if fmt == "JPEG" and (isinstance(quality, bool) or int(quality) != quality or not 1 <= quality <= 100):
        raise ValueError(f"JPEG quality must be a whole number from 1 to 100, got {quality!r}.")

    pixels = rgb_to_luma(values) if greyscale else values
    if fmt == "PNG":
        data = to_uint8(pixels)
        if plane_alpha is not None:
            alpha8 = to_uint8(plane_alpha)
            data = np.dstack([data, alpha8]) if not greyscale else np.stack([data, alpha8], axis=2)
        return encode_png(data)  # compressed on every core (deblur_core.io.png)
    if plane_alpha is not None:
        weight = np.clip(plane_alpha.astype(np.float32), 0.0, 1.0)
        if not greyscale:
            weight = weight[:, :, None]
        pixels = np.clip(pixels, 0.0, 1.0) * weight + (1.0 - weight)
    buffer = io.BytesIO()
    options = {"subsampling": 0} if quality >= 90 else {}
    Image.fromarray(to_uint8(pixels)).save(buffer, "JPEG", quality=int(quality), **options)
    return buffer.getvalue()


def save_image(
    rgb: np.ndarray,
    path: str | os.PathLike,
    *,
    alpha: np.ndarray | None = None,
    greyscale: bool = False,
    format: str | None = None,
    quality: int = 95,
) -> Path:
    """Encode an image and write it atomically (a reader never sees half a file).

    Parameters
    ----------
    rgb : numpy.ndarray
        float, H x W x 3, values in [0, 1].
    path : str or os.PathLike
        Destination; missing folders are created.
    alpha, greyscale, quality
        As for :func:`encode_image`.
    format : {"png", "jpeg"}, optional
        Defaults to the suffix: ``.png``, ``.jpg`` or ``.jpeg``.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    ValueError
        The format cannot be told from the suffix, or as for :func:`encode_image`.
    """
    target = Path(path)
    if format is None:
        format = _SUFFIX_FORMATS.get(target.suffix.lower())
        if format is None:
            raise ValueError(
                f"cannot tell the image format from the name {target.name!r}; end it in .png, .jpg or .jpeg "
                "or pass format."
            )
    data = encode_image(rgb, alpha=alpha, greyscale=greyscale, format=format, quality=quality)
    return atomic_write_bytes(target, data)


def _resize_plane(plane: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a float plane to (height, width) bilinearly."""
    resized = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32)).resize(
        (shape[1], shape[0]), Image.Resampling.BILINEAR
    )
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def output_like(loaded: LoadedImage, rgb: np.ndarray, *, format: str = "png", quality: int = 95) -> bytes:
    """Encode a restored image with the original's transparency and greyscale-ness put back.

    Parameters
    ----------
    loaded : LoadedImage
        The image as it was loaded.
    rgb : numpy.ndarray
        The restored image: float, H x W x 3, values in [0, 1]. When its size differs from the
        original (an upscaling model), the original alpha is resized bilinearly to match.
    format : {"png", "jpeg"}, optional
        As for :func:`encode_image`; JPEG drops the alpha, compositing onto white.
    quality : int, optional
        JPEG quality from 1 to 100.

    Returns
    -------
    bytes
        The encoded file: mode L or LA for greyscale sources, RGB or RGBA otherwise.

    Raises
    ------
    ValueError
        As for :func:`encode_image`.
    """
    values = _check_rgb(rgb)
    alpha = loaded.alpha
    if alpha is not None and alpha.shape != values.shape[:2]:
        alpha = _resize_plane(alpha, values.shape[:2])
    return encode_image(values, alpha=alpha, greyscale=loaded.greyscale, format=format, quality=quality)
