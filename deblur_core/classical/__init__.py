"""Classical restoration: Fourier helpers, noise estimation and deconvolution with a known kernel.

The methods work per RGB channel on float32 H x W x 3 images in [0, 1] and return the same shape,
clipped to [0, 1]. Which of them the app and the command line offer, with what options, is said by
the method catalogue (:mod:`deblur_core.restoration`).
"""

from deblur_core.classical.deconvolution import auto_nsr, richardson_lucy, unsupervised_wiener, wiener
from deblur_core.classical.fourier import psf2otf
from deblur_core.classical.noise import AUTO_NSR_FACTOR, QUANTIZATION_SIGMA, estimate_noise_sigma

__all__ = [
    "AUTO_NSR_FACTOR",
    "QUANTIZATION_SIGMA",
    "auto_nsr",
    "estimate_noise_sigma",
    "psf2otf",
    "richardson_lucy",
    "unsupervised_wiener",
    "wiener",
]
