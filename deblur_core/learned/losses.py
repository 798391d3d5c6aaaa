"""Training losses and metrics written with ``keras.ops`` so they run on any Keras backend.

All take ``(y_true, y_pred)`` batches of shape (N, H, W, C) with values in [0, 1].
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

_EPS = 1e-3


@keras.saving.register_keras_serializable(package="deblur_core")
def charbonnier(y_true, y_pred):
    """Charbonnier loss, a smooth L1: mean of sqrt((y - x)^2 + eps^2)."""
    diff = ops.cast(y_pred, "float32") - ops.cast(y_true, "float32")
    return ops.mean(ops.sqrt(ops.square(diff) + _EPS**2))


@keras.saving.register_keras_serializable(package="deblur_core")
def l1(y_true, y_pred):
    """Mean absolute error."""
    return ops.mean(ops.abs(ops.cast(y_pred, "float32") - ops.cast(y_true, "float32")))


@keras.saving.register_keras_serializable(package="deblur_core")
def mse(y_true, y_pred):
    """Mean squared error."""
    return ops.mean(ops.square(ops.cast(y_pred, "float32") - ops.cast(y_true, "float32")))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    ax = np.arange(size) - size // 2
    g = np.exp(-(ax**2) / (2 * sigma**2))
    g /= g.sum()
    return np.outer(g, g).astype("float32")


def ssim_map_mean(y_true, y_pred):
    """Mean SSIM over the batch (Gaussian window 11, sigma 1.5, as Wang et al.)."""
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    channels = y_true.shape[-1]
    window = np.tile(_gaussian_window()[:, :, None, None], (1, 1, channels, 1))
    window = ops.convert_to_tensor(window)

    def filt(t):
        return ops.depthwise_conv(t, window, strides=1, padding="valid")

    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = filt(y_true), filt(y_pred)
    sxx = filt(y_true * y_true) - mu_x * mu_x
    syy = filt(y_pred * y_pred) - mu_y * mu_y
    sxy = filt(y_true * y_pred) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2)
    return ops.mean(num / den)


@keras.saving.register_keras_serializable(package="deblur_core")
def structural(y_true, y_pred):
    """Charbonnier plus 0.2 x (1 - SSIM): pixel accuracy with attention to local structure."""
    return charbonnier(y_true, y_pred) + 0.2 * (1.0 - ssim_map_mean(y_true, y_pred))


def _gradients(t):
    dy = t[:, 1:, :, :] - t[:, :-1, :, :]
    dx = t[:, :, 1:, :] - t[:, :, :-1, :]
    return dy, dx


@keras.saving.register_keras_serializable(package="deblur_core")
def edge(y_true, y_pred):
    """Charbonnier plus 0.5 x the L1 distance between image gradients (rewards crisp edges)."""
    ty, tx = _gradients(ops.cast(y_true, "float32"))
    py, px = _gradients(ops.cast(y_pred, "float32"))
    grad = ops.mean(ops.abs(ty - py)) + ops.mean(ops.abs(tx - px))
    return charbonnier(y_true, y_pred) + 0.5 * grad


@keras.saving.register_keras_serializable(package="deblur_core")
def fft(y_true, y_pred):
    """Charbonnier plus 0.05 x the L1 distance between 2-D Fourier spectra (restores high frequencies)."""
    t = ops.transpose(ops.cast(y_true, "float32"), (0, 3, 1, 2))
    p = ops.transpose(ops.cast(y_pred, "float32"), (0, 3, 1, 2))
    zeros = ops.zeros_like(t)
    tr, ti = ops.fft2((t, zeros))
    pr, pi = ops.fft2((p, zeros))
    spectral = ops.mean(ops.abs(tr - pr) + ops.abs(ti - pi))
    return charbonnier(y_true, y_pred) + 0.05 * spectral


@keras.saving.register_keras_serializable(package="deblur_core")
def psnr_metric(y_true, y_pred):
    """Batch PSNR in dB for images in [0, 1] (clipped predictions)."""
    y_pred = ops.clip(ops.cast(y_pred, "float32"), 0.0, 1.0)
    err = ops.mean(ops.square(y_pred - ops.cast(y_true, "float32")), axis=(1, 2, 3))
    return ops.mean(10.0 * ops.log(1.0 / ops.maximum(err, 1e-10)) / np.log(10.0))


LOSSES = {"mse": mse, "l1": l1, "charbonnier": charbonnier, "structural": structural, "edge": edge, "fft": fft}


def get_loss(name: str):
    """Look up a loss by name; raises ValueError listing the choices."""
    if name not in LOSSES:
        raise ValueError(f"Unknown loss '{name}'. Choose one of: {', '.join(LOSSES)}.")
    return LOSSES[name]
