"""Noise in a photo: a weak-texture estimate of its level, and the Wiener noise-to-signal ratio built on it."""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import gammaincinv

from deblur_core.image import check_image

__all__ = ["AUTO_NSR_FACTOR", "QUANTIZATION_SIGMA", "estimate_noise_sigma"]

# Noise of rounding to 8-bit levels: a uniform error of +-0.5/255 has this standard deviation. It is the
# floor of the noise estimate, because no stored photo is cleaner than its quantisation.
QUANTIZATION_SIGMA = 1.0 / (255.0 * math.sqrt(12.0))

# The model behind auto_nsr under-weights the finest scales of real photos, which have less power there
# than a 1/f^2 spectrum; a factor of 2 gave the best mean PSNR on training images (BSD100 and skimage's
# samples, Gaussian, defocus, motion and shake kernels, noise 0 to 0.02), with 1 to 4 all within 0.2 dB.
AUTO_NSR_FACTOR = 2.0


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Standard deviation of white Gaussian noise in an image, in [0, 1] units.

    The weak-texture estimate of Liu, Tanaka and Okutomi (2013), written for this project: in a patch
    of pure noise the covariance of the pixels is ``sigma^2 I``, so the smallest eigenvalue of the
    covariance of many patches is the noise variance, as long as the patches hold no structure in every
    direction at once. The estimate starts from all 7 x 7 patches of a channel, keeps those whose
    gradient energy a noise of the current level would reach with 99 % probability (a gamma
    distribution), and repeats until the level settles. The smallest eigenvalue of a covariance from
    ``n`` samples falls short of the truth by the factor ``(1 - sqrt(49 / n))^2`` (the lower edge of the
    Marchenko-Pastur law), which is divided out. Patches touching clipped pixels are left out (a flat
    highlight has no noise to measure). The channels' estimates are averaged.

    Detail does not leak in as it does for wavelet estimates (a photo all fur or foliage is not called
    noisy): on training photos (BSD400, halved) with added noise of 0.01 the estimate's middle 80 % lies
    within 0.0099 - 0.0110, where the block-wise wavelet median gave 0.0124 with a tenth of the photos
    above 0.0195. The result is never less than the noise of 8-bit rounding, ``1 / (255 * sqrt(12))``
    (about 0.0011), because every stored photo has that much.

    Parameters
    ----------
    image : ndarray
        float32 RGB, H x W x 3, values in [0, 1].

    Returns
    -------
    float
        The estimated noise sigma (0.01 is 2.55 grey levels).

    Raises
    ------
    ValueError
        If the image is not H x W x 3 in [0, 1].

    References
    ----------
    1. Liu, Tanaka and Okutomi, "Single-image noise level estimation for blind denoising", IEEE
       Transactions on Image Processing 2013.
    2. Pyatykh, Hesser and Zheng, "Image noise level estimation by principal component analysis",
       IEEE Transactions on Image Processing 2013.
    """
    img = check_image(image)
    if min(img.shape[:2]) < 2 * _PATCH:
        return QUANTIZATION_SIGMA
    sigmas = [_weak_texture_sigma(img[..., c]) for c in range(img.shape[2])]
    sigma = float(np.mean(sigmas))
    return max(sigma if math.isfinite(sigma) else 0.0, QUANTIZATION_SIGMA)


_PATCH = 7
# A white-noise patch's gradient energy (squared horizontal and vertical neighbour differences inside
# the patch) has mean sigma^2 times this: 2 sigma^2 for each of the 2 * P * (P - 1) differences.
_NOISE_GRADIENT_ENERGY = 4 * _PATCH * (_PATCH - 1)
_MAX_PATCHES = 40_000  # per channel; a 12-MP photo is sampled on a grid, so the cost stays flat
_CONFIDENCE = 0.99
_ROUNDS = 6


def _weak_texture_sigma(channel: np.ndarray) -> float:
    """The noise sigma of one channel (2-D float32): see :func:`estimate_noise_sigma`."""
    h, w = channel.shape
    count = (h - _PATCH + 1) * (w - _PATCH + 1)
    step = max(1, math.ceil(math.sqrt(count / _MAX_PATCHES)))
    windows = sliding_window_view(channel, (_PATCH, _PATCH))[::step, ::step].reshape(-1, _PATCH, _PATCH)
    flat = windows.reshape(len(windows), -1)
    unclipped = (flat.min(axis=1) > 0.5 / 255) & (flat.max(axis=1) < 254.5 / 255)
    windows, flat = windows[unclipped], flat[unclipped]
    texture = (np.diff(windows, axis=2) ** 2).sum(axis=(1, 2)) + (np.diff(windows, axis=1) ** 2).sum(axis=(1, 2))
    dims = _PATCH * _PATCH

    def variance(chosen: np.ndarray) -> float | None:
        patches = flat[chosen]
        if len(patches) < 4 * dims:
            return None
        centred = patches - patches.mean(axis=0)
        smallest = float(np.linalg.eigvalsh((centred.T @ centred) / (len(patches) - 1))[0])
        return max(smallest, 0.0) / (1.0 - math.sqrt(dims / len(patches))) ** 2

    var = variance(np.ones(len(flat), bool))
    if var is None:
        return 0.0
    # Gradient energy of pure noise ~ Gamma(shape P^2 / 2, scale 2 sigma^2 E / P^2): its 99th percentile.
    shape = dims / 2.0
    quantile = float(gammaincinv(shape, _CONFIDENCE)) * _NOISE_GRADIENT_ENERGY / shape
    for _ in range(_ROUNDS):
        refined = variance(texture < var * quantile)
        if refined is None or abs(refined - var) <= 1e-3 * var:
            var = var if refined is None else refined
            break
        var = refined
    return math.sqrt(var)


# The automatic ratio reads the noise as at least this much. Below it, the ratio would trust the photo
# more than the kernel and the 1/f^2 picture model behind it deserve: on training photos (T91, BSD100,
# BSD400; 40 photos, kernels of the training mixture) with noise 0, 0.002 and 0.005, Wiener scored best
# with 0.003 (30.04 / 29.23 / 27.71 dB, against 29.41 / 28.86 / 27.71 with none).
NSR_SIGMA_FLOOR = 0.003


def _nsr_from(image: np.ndarray, kernel: np.ndarray, sigma: float) -> float:
    """The automatic Wiener ratio; the formula is documented in :func:`auto_nsr`."""
    sigma = max(sigma, NSR_SIGMA_FLOOR)
    grad_energy = _gradient_energy(image)
    # Each noise sample adds 2 sigma^2 to both squared differences. The floor keeps A positive when
    # the estimate says the image is almost pure noise.
    signal = max(grad_energy - 4 * sigma**2, 0.05 * grad_energy, 1e-10)
    # The mean of |H(f)|^2 over all frequencies equals the sum of the squared kernel (Parseval).
    mean_h2 = float(np.sum(kernel.astype(np.float64) ** 2))
    return AUTO_NSR_FACTOR * sigma**2 * mean_h2 / signal


# Rows per band in _gradient_energy: a band's float32 differences stay a few MB whatever the photo's size.
_ENERGY_BAND_ROWS = 256


def _gradient_energy(image: np.ndarray) -> float:
    """Mean squared vertical plus mean squared horizontal difference of neighbouring pixels.

    In float32 bands of rows, summed in float64: on a 12-MP photo a tenth of the time and memory of one
    float64 pass over the whole photo, the same value to about 1e-6.
    """
    img = np.asarray(image, np.float32)
    h, w = img.shape[:2]
    if h < 2 or w < 2:
        return 0.0
    vertical = horizontal = 0.0
    for top in range(0, h, _ENERGY_BAND_ROWS):
        band = img[top : min(h, top + _ENERGY_BAND_ROWS + 1)]  # one row of overlap for the vertical differences
        dv = np.subtract(band[1:], band[:-1])
        vertical += float(np.square(dv, out=dv).sum(dtype=np.float64))
        rows = band[:_ENERGY_BAND_ROWS]  # without the overlap row, which the next band counts
        dh = np.subtract(rows[:, 1:], rows[:, :-1])
        horizontal += float(np.square(dh, out=dh).sum(dtype=np.float64))
    channels = img[0, 0].size
    return vertical / ((h - 1) * w * channels) + horizontal / (h * (w - 1) * channels)
