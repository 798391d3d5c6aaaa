"""The learned deconvolver: Wiener deconvolution with the given kernel, refined by a small network.

A small network cannot learn to undo a 25-pixel blur on its own, but it learns well to clean up what a
deconvolution leaves behind (amplified noise, ringing, the frequencies the kernel destroyed), because
that is a local job. The kernel therefore enters through classical deconvolution, and the network
sees a stack of three things per pixel:

- the blurred photo (RGB), so it can fall back on it where the deconvolution is wrong;
- the Wiener deconvolution with the kernel (RGB), at half the automatic regularisation of
  :func:`deblur_core.classical.auto_nsr`: a little sharper and noisier than the best plain Wiener,
  leaving the denoising to the network;
- the estimated noise level as a constant map (``sigma * SIGMA_SCALE``), so the network knows how
  hard to denoise.

The network (:func:`deblur_core.learned.architectures.deconv_unet`) predicts the correction to add to the Wiener result. Training and
inference build the stack with the same function, :func:`network_input`, on the whole photo.

References
----------
1. Dong, Roth and Schiele, "Deep Wiener deconvolution: Wiener meets deep learning for image
   deblurring", NeurIPS 2020.
2. Kruse, Rother and Schmidt, "Learning to push the limits of efficient FFT-based image
   deconvolution", ICCV 2017.
3. Zhang, Zuo, Gu and Zhang, "Learning deep CNN denoiser prior for image restoration", CVPR 2017.
"""

from __future__ import annotations

import numpy as np

from deblur_core.classical.deconvolution import _check_inputs, wiener
from deblur_core.classical.noise import _nsr_from, estimate_noise_sigma
from deblur_core.progress import CancelFn, ProgressFn

# The Wiener step's regularisation relative to auto_nsr: half of it keeps more detail for the network.
NSR_FACTOR = 0.5
# The noise map's value is sigma (in [0, 1] units) times this: 0.01 -> 0.1, a typical activation size.
SIGMA_SCALE = 10.0
INPUT_CHANNELS = 7
MODEL_NAME = "deconv-unet"
"""The shipped model the learned deconvolver runs."""

__all__ = ["INPUT_CHANNELS", "MODEL_NAME", "NSR_FACTOR", "SIGMA_SCALE", "network_input"]


def network_input(
    blurred: np.ndarray,
    kernel: np.ndarray,
    sigma: float | None = None,
    *,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> np.ndarray:
    """The stack the deconvolver's network reads: blurred RGB, Wiener RGB, noise map; H x W x 7 float32.

    Parameters
    ----------
    blurred : ndarray
        The blurred photo, float32 RGB, H x W x 3 in [0, 1].
    kernel : ndarray
        The blur kernel (2-D, non-negative, sums to 1).
    sigma : float, optional
        The noise level in [0, 1] units; estimated from the photo when None.
    on_progress, cancel : callable, optional
        Passed on to the Wiener step (``cancel`` returning True raises ``Cancelled``).

    Raises
    ------
    ValueError
        If the photo or the kernel is invalid.
    """
    img, k = _check_inputs(blurred, kernel, "The learned deconvolver")
    if sigma is None:
        sigma = estimate_noise_sigma(img)
    ratio = NSR_FACTOR * _nsr_from(img, k, sigma)
    deconvolved = wiener(img, k, nsr=ratio, on_progress=on_progress, cancel=cancel)
    noise_map = np.full(img.shape[:2] + (1,), sigma * SIGMA_SCALE, np.float32)
    return np.concatenate([img, deconvolved, noise_map], axis=2)
