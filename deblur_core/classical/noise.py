"""Noise in a photo: a block-wise wavelet estimate of its level, and the Wiener noise-to-signal ratio built on it."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from deblur_core.image import check_image

__all__ = ["AUTO_NSR_FACTOR", "QUANTIZATION_SIGMA", "estimate_noise_sigma"]

# Noise of rounding to 8-bit levels: a uniform error of +-0.5/255 has this standard deviation. It is the
# floor of the noise estimate, because no stored photo is cleaner than its quantisation.
QUANTIZATION_SIGMA = 1.0 / (255.0 * math.sqrt(12.0))

# The model behind auto_nsr under-weights the finest scales of real photos, which have less power there
# than a 1/f^2 spectrum; a factor of 2 gave the best mean PSNR on training images (BSD100 and skimage's
# samples, Gaussian, defocus, motion and shake kernels, noise 0 to 0.02), with 1 to 4 all within 0.2 dB.
AUTO_NSR_FACTOR = 2.0

# Daubechies-2 decomposition high-pass filter (the wavelet that skimage's estimate_sigma uses).
_DB2_HIGH = np.array([-0.48296291314469025, 0.836516303737469, -0.22414386804185735, -0.12940952255092145])


def _finest_diagonal_details(channel: np.ndarray) -> np.ndarray:
    """The finest diagonal (high-high) db2 wavelet coefficients of one channel, one level deep."""
    pad = len(_DB2_HIGH) - 1
    ext = np.pad(channel, pad, mode="symmetric")
    rows = ndimage.correlate1d(ext, _DB2_HIGH[::-1], axis=0, mode="constant")
    both = ndimage.correlate1d(rows, _DB2_HIGH[::-1], axis=1, mode="constant")
    return both[pad:-pad, pad:-pad][1::2, 1::2]


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Standard deviation of white Gaussian noise in an image, in [0, 1] units.

    Donoho's robust wavelet estimator (the one behind :func:`skimage.restoration.estimate_sigma`: the
    median absolute value of the finest diagonal Daubechies-2 wavelet coefficients divided by
    0.6745), taken block by block: picture detail leaks into those coefficients wherever the photo
    has fine texture (fur, foliage, fabric), so one median over the whole photo calls a textured
    photo noisy. Each channel is cut into blocks of 16 x 16 coefficients; the estimate is the 20th
    percentile of the blocks' estimates (the flattest fifth of the photo holds mostly noise),
    corrected for the percentile's own downward bias on pure noise, and averaged over the channels.
    Blocks with no signal at all (clipped highlights and shadows) are left out. Photos too small for
    16 blocks get the whole-photo median. The result is never less than the noise of 8-bit rounding,
    ``1 / (255 * sqrt(12))`` (about 0.0011), because every stored photo has that much.

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
    1. Donoho and Johnstone, "Ideal spatial adaptation by wavelet shrinkage", Biometrika 1994.
    2. Shin, Park, Kang and Ko, "Block-based noise estimation using adaptive Gaussian filtering",
       IEEE Transactions on Consumer Electronics 2005 (estimating on the smoothest blocks).
    """
    img = check_image(image).astype(np.float64)
    if min(img.shape[:2]) < 4:
        return QUANTIZATION_SIGMA
    sigmas = [_blockwise_sigma(np.abs(_finest_diagonal_details(img[..., c]))) for c in range(img.shape[2])]
    sigma = float(np.mean(sigmas))
    return max(sigma if math.isfinite(sigma) else 0.0, QUANTIZATION_SIGMA)


_MEDIAN_ABS_NORMAL = 0.6744897501960817  # the median of |N(0, 1)|
_BLOCK = 16
_PERCENTILE = 20
# On pure noise a block's estimate has a relative spread of about 1 / (2 * 0.6745 * f * sqrt(n)) with
# f = 2 * phi(0.6745) the density of |N(0, 1)| at its median and n = 256 coefficients: 0.073. Its 20th
# percentile lies 0.8416 of those spreads below the truth; dividing by this undoes that.
_PERCENTILE_BIAS = 1.0 - 0.8416 / (2 * _MEDIAN_ABS_NORMAL * 2 * 0.3178 * _BLOCK)


def _blockwise_sigma(details: np.ndarray) -> float:
    """The noise sigma of one channel from its absolute finest diagonal wavelet coefficients."""
    h, w = (details.shape[0] // _BLOCK) * _BLOCK, (details.shape[1] // _BLOCK) * _BLOCK
    whole = float(np.median(details)) / _MEDIAN_ABS_NORMAL
    if h == 0 or w == 0:
        return whole
    blocks = details[:h, :w].reshape(h // _BLOCK, _BLOCK, w // _BLOCK, _BLOCK).swapaxes(1, 2)
    medians = np.median(blocks.reshape(-1, _BLOCK * _BLOCK), axis=1) / _MEDIAN_ABS_NORMAL
    medians = medians[medians > 1e-6]
    if len(medians) < 16:
        return whole
    return float(np.percentile(medians, _PERCENTILE)) / _PERCENTILE_BIAS


def _nsr_from(image: np.ndarray, kernel: np.ndarray, sigma: float) -> float:
    """The automatic Wiener ratio; the formula is documented in :func:`auto_nsr`."""
    img = image.astype(np.float64)
    grad_energy = float(np.mean(np.diff(img, axis=0) ** 2) + np.mean(np.diff(img, axis=1) ** 2))
    # Each noise sample adds 2 sigma^2 to both squared differences. The floor keeps A positive when
    # the estimate says the image is almost pure noise.
    signal = max(grad_energy - 4 * sigma**2, 0.05 * grad_energy, 1e-10)
    # The mean of |H(f)|^2 over all frequencies equals the sum of the squared kernel (Parseval).
    mean_h2 = float(np.sum(kernel.astype(np.float64) ** 2))
    return AUTO_NSR_FACTOR * sigma**2 * mean_h2 / signal
