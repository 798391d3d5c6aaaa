"""The image convention inside the library, and the colour conversions every module shares.

Inside Deblur Studio an image is a float32 array of shape H x W x 3 (RGB) with values in [0, 1].
:func:`check_image` enforces that with a sentence a user can act on; :func:`to_uint8` is the one
way back to 8-bit samples. The luma and Y'CbCr conversions follow ITU-R BT.601, as MATLAB's
``rgb2ycbcr`` does (studio range: black is 16/255, white 235/255); :func:`rgb_to_luma` is the
full-range BT.601 luma that Pillow uses for greyscale files. Decoding files (uint8, 16-bit, palettes,
colour profiles) lives in :mod:`deblur_core.io`, and nowhere else.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "check_image",
    "rgb_to_luma",
    "rgb_to_y",
    "rgb_to_ycbcr",
    "to_uint8",
    "validate_image",
    "ycbcr_to_rgb",
]

RANGE_TOLERANCE = 1e-3
"""How far outside [0, 1] a value may stray (rounding in a filter) before an image is refused."""

# ITU-R BT.601 in [0, 1] units, studio range (MATLAB's rgb2ycbcr): Y = 16/255 + (65.481 R + 128.553 G + 24.966 B) / 255.
_BT601_STUDIO = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
_BT601_OFFSET = np.array([16.0, 128.0, 128.0])
_RGB2YCBCR = _BT601_STUDIO.astype(np.float32) / 255.0
_YCBCR_OFFSET = _BT601_OFFSET.astype(np.float32) / 255.0
# Full-range BT.601 luma weights, the ones Pillow uses for RGB -> L.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def validate_image(
    image: np.ndarray, name: str = "image", *, grey: bool = False, value_range: bool = True
) -> np.ndarray:
    """Check that ``image`` follows the convention; return it unchanged (as an array, dtype kept).

    Parameters
    ----------
    image : ndarray
        H x W x 3 (or, with ``grey``, H x W) floating-point values in [0, 1].
    name : str
        How the image is called in messages (``"reference image"``, ``"blur kernel"``...).
    grey : bool
        Also accept an H x W array of one channel.
    value_range : bool
        Check that the values lie in [0, 1] (writers that clip pass False).

    Raises
    ------
    ValueError
        For another shape, an integer dtype, an empty array, NaN or infinity, or values outside [0, 1].
    """
    arr = np.asarray(image)
    if grey:
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
            raise ValueError(f"The {name} must be an H x W x 3 RGB or H x W grey array; got shape {arr.shape}.")
    elif arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"The {name} must be an H x W x 3 RGB array; got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(
            f"The {name} must be float in [0, 1]; got dtype {arr.dtype}. "
            "Divide 8-bit images by 255 (deblur_core.io does this when it loads a file)."
        )
    if arr.size == 0:
        raise ValueError(f"The {name} is empty (shape {arr.shape}).")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"The {name} contains NaN or infinite values; check the step that produced it.")
    if value_range:
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
            raise ValueError(
                f"The {name} must have values in [0, 1]; got a range of {lo:.3g} to {hi:.3g}. "
                "Clip the result, or divide 8-bit values by 255."
            )
    return arr


def check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Validate the internal image convention and return the array as float32.

    Raises
    ------
    ValueError
        If the array is not H x W x 3 floating-point with values in [0, 1] (see :func:`validate_image`).
    """
    arr = validate_image(image, name)
    return arr if arr.dtype == np.float32 else arr.astype(np.float32)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Convert float values in [0, 1] to uint8, clipping and rounding halves up.

    Parameters
    ----------
    rgb : numpy.ndarray
        Floating-point array of any shape (an RGB image or an alpha plane).

    Returns
    -------
    numpy.ndarray
        uint8 array of the same shape; ``round(x * 255)`` with halves rounded up, after clipping to
        [0, 1].

    Raises
    ------
    ValueError
        The array is not floating-point or contains NaN or infinity.
    """
    values = np.asarray(rgb)
    if not np.issubdtype(values.dtype, np.floating):
        raise ValueError(
            f"expected a floating-point image with values in [0, 1], got {values.dtype}; "
            "convert 8-bit images with values / 255 first."
        )
    if not np.isfinite(values).all():
        raise ValueError("the image contains NaN or infinite values; check the step that produced it.")
    scaled = np.clip(values.astype(np.float32, copy=False), 0.0, 1.0) * np.float32(255.0)
    return np.floor(scaled + np.float32(0.5)).astype(np.uint8)


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """Luma (Y) of an RGB image, ITU-R BT.601 studio range as MATLAB's ``rgb2ycbcr``.

    ``Y = 16/255 + (65.481 R + 128.553 G + 24.966 B) / 255`` with R, G, B in [0, 1], so black maps to
    16/255 and white to 235/255. No rounding to 8-bit levels is applied; the sum is taken in float64.

    Parameters
    ----------
    image : ndarray
        Float RGB image, H x W x 3, values in [0, 1].

    Returns
    -------
    ndarray
        float32, H x W, values in [16/255, 235/255].

    Raises
    ------
    ValueError
        If the image is not H x W x 3 float in [0, 1].

    Examples
    --------
    >>> round(float(rgb_to_y(np.ones((1, 1, 3), np.float32))[0, 0]) * 255, 3)
    235.0
    """
    rgb = validate_image(image).astype(np.float64)
    (wr, wg, wb), offset = _BT601_STUDIO[0], _BT601_OFFSET[0]
    y = offset / 255.0 + (wr * rgb[..., 0] + wg * rgb[..., 1] + wb * rgb[..., 2]) / 255.0
    return y.astype(np.float32)


def rgb_to_ycbcr(image: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] to Y'CbCr in [0, 1] units (BT.601 studio range), in float32."""
    return image @ _RGB2YCBCR.T + _YCBCR_OFFSET


def ycbcr_to_rgb(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`, clipped to [0, 1]."""
    return np.clip((image - _YCBCR_OFFSET) @ np.linalg.inv(_RGB2YCBCR).T, 0.0, 1.0).astype(np.float32)


def rgb_to_luma(rgb: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma of an RGB float image; equals the channel value when all three are equal."""
    return np.tensordot(rgb.astype(np.float32, copy=False), _LUMA, axes=([2], [0])).astype(np.float32)
