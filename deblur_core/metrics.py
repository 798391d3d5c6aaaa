"""Image quality metrics: PSNR, SSIM, MSE with a reference, and a no-reference sharpness score.

Thin wrappers over :mod:`skimage.metrics` with the project's conventions: images are float arrays in
[0, 1] (``data_range=1.0``), either H x W x 3 RGB (``channel_axis=-1``) or H x W (one channel, such as
the Y channel from :func:`deblur_core.image.rgb_to_y`). SSIM uses the settings of Wang et al. (2004): an 11 x 11
Gaussian window with sigma 1.5 and population (not sample) covariance. PSNR is in decibels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from skimage import measure
from skimage import metrics as skm

from deblur_core.image import rgb_to_y, validate_image

__all__ = [
    "compare",
    "format_psnr",
    "format_ssim",
    "mse",
    "psnr",
    "psnr_y",
    "sharpness",
    "ssd_aligned",
    "ssim",
    "ssim_y",
]

# Gaussian SSIM window: 2 * int(3.5 * 1.5 + 0.5) + 1 = 11 pixels (skimage's truncate=3.5).
SSIM_MIN_SIDE = 11
# Levin et al.'s comparison up to a shift: a kernel is found only up to a translation (the photo and the kernel
# shifted oppositely explain the blur equally well), so their protocol compares a result with the sharp image at
# the best shift of up to ALIGN_SHIFT px in steps of ALIGN_STEP, without a border of ALIGN_BORDER px.
ALIGN_SHIFT = 5
ALIGN_STEP = 0.25
ALIGN_BORDER = 15


def _as_float_image(image: np.ndarray, name: str) -> np.ndarray:
    """Check one metric input (H x W or H x W x 3, float in [0, 1])."""
    return validate_image(image, name, grey=True)


def _pair(reference: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a reference/test pair and check that their shapes agree."""
    ref = _as_float_image(reference, "reference image")
    tst = _as_float_image(test, "test image")
    if ref.shape != tst.shape:
        raise ValueError(
            f"The reference image has shape {ref.shape} but the test image has shape {tst.shape}; "
            "metrics compare images of the same size, so resize or crop one of them first."
        )
    return ref, tst


def _channel_axis(image: np.ndarray) -> int | None:
    return -1 if image.ndim == 3 else None


def mse(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean squared error between two images.

    Parameters
    ----------
    reference, test : ndarray
        Float images in [0, 1] of the same shape (H x W x 3 or H x W).

    Returns
    -------
    float
        The mean of the squared differences, in squared [0, 1] units (0 for identical images).

    Raises
    ------
    ValueError
        If the shapes differ or an image is not float in [0, 1].
    """
    ref, tst = _pair(reference, test)
    return float(skm.mean_squared_error(ref.astype(np.float64), tst.astype(np.float64)))


def ssd_aligned(
    reference: np.ndarray,
    test: np.ndarray,
    shift: int = ALIGN_SHIFT,
    step: float = ALIGN_STEP,
    border: int = ALIGN_BORDER,
) -> float:
    """The sum of squared differences of ``test`` from ``reference`` at the best shift of ``test``, Levin et al.'s way.

    Both without a border of ``border`` px; ``test`` moved by up to ``shift`` px along each axis in steps of
    ``step`` px (bilinear between pixels), the smallest sum kept. The whole-pixel shifts are searched first, then
    the steps within a pixel of the best of them.

    Raises
    ------
    ValueError
        If the shapes differ, an image is not in [0, 1], or the images are too small for the border and shift.
    """
    ref, img = _pair(reference, test)
    if border <= shift or min(ref.shape[:2]) <= 2 * border + 1:
        raise ValueError(f"The images must be over {2 * border + 1} px a side, with a border wider than the shift.")
    h, w = ref.shape[:2]
    target = ref[border : h - border, border : w - border].astype(np.float64)

    def at(dy: float, dx: float) -> float:
        if dy == int(dy) and dx == int(dx):
            moved = img[border + int(dy) : h - border + int(dy), border + int(dx) : w - border + int(dx)]
        else:  # moved(y, x) = img(y + dy, x + dx), bilinear
            matrix = np.float32([[1, 0, dx], [0, 1, dy]])
            flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
            moved = cv2.warpAffine(img, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT)
            moved = moved.reshape(img.shape)[border : h - border, border : w - border]
        return float(((moved.astype(np.float64) - target) ** 2).sum())

    whole = {(dy, dx): at(dy, dx) for dy in range(-shift, shift + 1) for dx in range(-shift, shift + 1)}
    cy, cx = min(whole, key=whole.get)
    fine = np.arange(-1 + step, 1, step)
    near = [
        at(cy + fy, cx + fx)
        for fy in fine
        for fx in fine
        if (fy or fx) and abs(cy + fy) <= shift and abs(cx + fx) <= shift
    ]
    return min([whole[(cy, cx)], *near])


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(1 / MSE)`` for images in [0, 1].

    Parameters
    ----------
    reference, test : ndarray
        Float images in [0, 1] of the same shape (H x W x 3 or H x W).

    Returns
    -------
    float
        PSNR in decibels; ``float('inf')`` when the images are identical.

    Raises
    ------
    ValueError
        If the shapes differ or an image is not float in [0, 1].
    """
    ref, tst = _pair(reference, test)
    ref64, tst64 = ref.astype(np.float64), tst.astype(np.float64)
    # skimage divides by the MSE and warns on zero; identical images are a normal case here.
    if skm.mean_squared_error(ref64, tst64) == 0:
        return float("inf")
    return float(skm.peak_signal_noise_ratio(ref64, tst64, data_range=1.0))


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """Structural similarity index (Wang et al. 2004), averaged over pixels and channels.

    Parameters
    ----------
    reference, test : ndarray
        Float images in [0, 1] of the same shape (H x W x 3 or H x W), at least 11 x 11 pixels.

    Returns
    -------
    float
        SSIM, at most 1 (identical images give exactly 1.0).

    Raises
    ------
    ValueError
        If the shapes differ, an image is not float in [0, 1], or it is smaller than 11 x 11 pixels.
    """
    ref, tst = _pair(reference, test)
    if min(ref.shape[:2]) < SSIM_MIN_SIDE:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_MIN_SIDE} x {SSIM_MIN_SIDE} pixels; these are "
            f"{ref.shape[1]} x {ref.shape[0]}."
        )
    value = skm.structural_similarity(
        ref.astype(np.float64),
        tst.astype(np.float64),
        data_range=1.0,
        channel_axis=_channel_axis(ref),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    return float(value)


def _shaved_y(reference: np.ndarray, test: np.ndarray, shave: int) -> tuple[np.ndarray, np.ndarray]:
    """Y channels of a pair with ``shave`` pixels removed from every side."""
    ref, tst = _pair(reference, test)
    if ref.ndim != 3:
        raise ValueError(f"Y-channel metrics need H x W x 3 RGB images; got shape {ref.shape}.")
    shave = int(shave)
    if shave < 0:
        raise ValueError(f"The border to shave must be 0 or more pixels; got {shave}.")
    h, w = ref.shape[:2]
    if 2 * shave >= min(h, w):
        raise ValueError(f"Shaving {shave} pixels from each side leaves nothing of a {w} x {h} image.")
    y_ref, y_tst = rgb_to_y(ref), rgb_to_y(tst)
    if shave:
        y_ref, y_tst = y_ref[shave:-shave, shave:-shave], y_tst[shave:-shave, shave:-shave]
    return y_ref, y_tst


def psnr_y(reference: np.ndarray, test: np.ndarray, shave: int = 0) -> float:
    """PSNR in dB on the BT.601 Y channel, ignoring a border of ``shave`` pixels.

    This is the protocol of the super-resolution and DBSRCNN literature (for example ``shave`` equal
    to the scale factor).

    Parameters
    ----------
    reference, test : ndarray
        Float RGB images in [0, 1] of the same shape, H x W x 3.
    shave : int
        Pixels removed from each side before the comparison, >= 0.

    Returns
    -------
    float
        PSNR in decibels; ``float('inf')`` when the compared regions are identical.

    Raises
    ------
    ValueError
        If the shapes differ, the images are not RGB float in [0, 1], or ``shave`` is negative or too large.
    """
    y_ref, y_tst = _shaved_y(reference, test, shave)
    return psnr(y_ref, y_tst)


def ssim_y(reference: np.ndarray, test: np.ndarray, shave: int = 0) -> float:
    """SSIM on the BT.601 Y channel, ignoring a border of ``shave`` pixels.

    Parameters
    ----------
    reference, test : ndarray
        Float RGB images in [0, 1] of the same shape, H x W x 3.
    shave : int
        Pixels removed from each side before the comparison, >= 0.

    Returns
    -------
    float
        SSIM (Wang et al. settings), at most 1.

    Raises
    ------
    ValueError
        If the shapes differ, the images are not RGB float in [0, 1], ``shave`` is invalid, or what
        remains is smaller than 11 x 11 pixels.
    """
    y_ref, y_tst = _shaved_y(reference, test, shave)
    return ssim(y_ref, y_tst)


def sharpness(image: np.ndarray) -> float:
    """No-reference sharpness score for a photo without ground truth, from 0 (flat) to 1 (sharp).

    The score is ``1 - blur_effect`` of the luma, where ``blur_effect`` is the re-blur measure of
    Crete-Roffet et al. (2007) as implemented by :func:`skimage.measure.blur_effect` (11-pixel
    re-blur, worst of the two axes). It compares the image's gradients with those of a deliberately
    re-blurred copy: a sharp image loses much of its gradient energy when re-blurred, an already blurry
    one loses little. Because it is a ratio it depends on the amount of blur more than on contrast
    or content, so it suits comparing versions of one photo (before and after deblurring).

    Scale: typically 0.55-0.7 for a sharp photograph (Set5, skimage's samples), 0.3-0.4 after a
    Gaussian blur of sigma 2 pixels, under 0.15 at sigma 6; a flat image scores 0. Noise and
    over-sharpening halos also raise the score, so read it together with a look at the image.

    Parameters
    ----------
    image : ndarray
        Float RGB image (H x W x 3) or grey image (H x W) in [0, 1], at least 3 x 3 pixels.

    Returns
    -------
    float
        Sharpness in [0, 1], higher is sharper.

    Raises
    ------
    ValueError
        If the image is not float in [0, 1] or is too small.
    """
    arr = _as_float_image(image, "image")
    if min(arr.shape[:2]) < 3:
        raise ValueError(f"Sharpness needs an image of at least 3 x 3 pixels; got shape {arr.shape}.")
    luma = rgb_to_y(arr) if arr.ndim == 3 else arr.astype(np.float32)
    if float(luma.max() - luma.min()) == 0.0:
        return 0.0
    blur = float(measure.blur_effect(luma.astype(np.float64), h_size=11))
    if not math.isfinite(blur):
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - blur)))


def format_psnr(value: float) -> str:
    """PSNR with two decimals and its unit: ``"31.42 dB"``; ``"∞ dB"`` for identical images."""
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞ dB" if value > 0 else "-∞ dB"
    return f"{value:.2f} dB"


def format_ssim(value: float) -> str:
    """SSIM with three decimals: ``"0.912"``."""
    value = float(value)
    if math.isnan(value):
        return "n/a"
    return f"{value:.3f}"


def compare(reference: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """PSNR (dB), SSIM and MSE of ``test`` against ``reference`` in one dictionary.

    Parameters
    ----------
    reference, test : ndarray
        Float images in [0, 1] of the same shape (H x W x 3 or H x W).

    Returns
    -------
    dict
        ``{"psnr": float, "ssim": float, "mse": float}``.

    Raises
    ------
    ValueError
        If the shapes differ or an image is not float in [0, 1].
    """
    ref, tst = _pair(reference, test)
    return {"psnr": psnr(ref, tst), "ssim": ssim(ref, tst), "mse": mse(ref, tst)}
