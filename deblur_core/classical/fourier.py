"""Fourier helpers shared by every FFT deconvolution: the padded canvas and the kernel's transfer function.

Deconvolution in the Fourier domain treats an image as if it wrapped around, its right edge touching
its left edge. A photograph does not, so every method pads the image onto a larger canvas,
deconvolves there and crops the padding away (see :mod:`deblur_core.classical.deconvolution` for the
edge handling). The kernel is placed by :func:`psf2otf`: zero-padded to the canvas and circularly
shifted so that its centre pixel sits at (0, 0); the image itself is never shifted.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from scipy import fft as sfft

__all__ = ["FFT_WORKERS", "fft_workers", "kernel_on_canvas", "one_fft_worker", "psf2otf"]

# Threads for each FFT: pocketfft splits the colour channels (and the rows of a large transform) across them.
FFT_WORKERS = max(1, min(4, os.cpu_count() or 1))
_threads = threading.local()


def fft_workers() -> int:
    """Threads for one FFT: :data:`FFT_WORKERS`, or 1 inside :func:`one_fft_worker` (work already split over threads)."""
    return getattr(_threads, "workers", FFT_WORKERS)


@contextmanager
def one_fft_worker() -> Iterator[None]:
    """Within this block, this thread's FFTs use one worker each: for work that runs on several threads itself."""
    previous = getattr(_threads, "workers", None)
    _threads.workers = 1
    try:
        yield
    finally:
        if previous is None:
            del _threads.workers
        else:
            _threads.workers = previous


def psf2otf(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Optical transfer function of a centred kernel, for real FFTs of size ``shape``.

    The kernel is zero-padded to ``shape`` and rolled so that its centre pixel lands on (0, 0); the
    result is ``rfft2`` of that array (``shape[0] x (shape[1] // 2 + 1)``, complex128). Multiplying an
    image spectrum by it is a circular convolution that does not shift the image.

    Raises
    ------
    ValueError
        If the kernel is larger than ``shape``.
    """
    return sfft.rfft2(kernel_on_canvas(kernel, shape))


def kernel_on_canvas(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The kernel zero-padded to ``shape`` (float64) and rolled so that its centre pixel sits at (0, 0).

    Raises
    ------
    ValueError
        If the kernel is larger than ``shape``.
    """
    k = np.asarray(kernel, np.float64)
    kh, kw = k.shape
    if kh > shape[0] or kw > shape[1]:
        raise ValueError(f"The kernel ({kw} x {kh}) is larger than the canvas ({shape[1]} x {shape[0]}).")
    big = np.zeros(shape, np.float64)
    big[:kh, :kw] = k
    return np.roll(big, (-(kh // 2), -(kw // 2)), axis=(0, 1))


def _pad_symmetric(chw: np.ndarray, pad_y: tuple[int, int], pad_x: tuple[int, int]) -> np.ndarray:
    """Mirror-pad a C x H x W array; pads wider than the image repeat the mirroring."""
    out = chw
    # np.pad's symmetric mode cannot pad by more than the side length in one step; small images loop.
    while pad_y[0] or pad_y[1] or pad_x[0] or pad_x[1]:
        h, w = out.shape[1:]
        step_y = (min(pad_y[0], h), min(pad_y[1], h))
        step_x = (min(pad_x[0], w), min(pad_x[1], w))
        out = np.pad(out, ((0, 0), step_y, step_x), mode="symmetric")
        pad_y = (pad_y[0] - step_y[0], pad_y[1] - step_y[1])
        pad_x = (pad_x[0] - step_x[0], pad_x[1] - step_x[1])
    return out


class _Canvas:
    """The geometry of a padded canvas: picture position, FFT size, the kernel's transfer function."""

    def __init__(self, image_shape: tuple[int, ...], kernel: np.ndarray, pad_y: int, pad_x: int) -> None:
        self.height, self.width = image_shape[:2]
        self.top, self.left = pad_y, pad_x
        # Round up to a length the FFT handles fast; the extra goes to the bottom and right padding.
        self.shape = (
            sfft.next_fast_len(self.height + 2 * pad_y, real=True),
            sfft.next_fast_len(self.width + 2 * pad_x, real=True),
        )
        # Single precision is ample for a transfer function of magnitude at most 1, and halves the memory.
        self.otf = psf2otf(kernel, self.shape).astype(np.complex64)

    @property
    def picture(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)

    def reflect(self, chw: np.ndarray) -> np.ndarray:
        """Mirror-pad a C x H x W picture to the canvas."""
        bottom = self.shape[0] - self.height - self.top
        right = self.shape[1] - self.width - self.left
        return _pad_symmetric(chw, (self.top, bottom), (self.left, right))

    def mask(self, dtype: type) -> np.ndarray:
        """1 on the picture, 0 on the padding."""
        m = np.zeros(self.shape, dtype)
        m[self.picture] = 1
        return m

    def crop(self, chw: np.ndarray, offset: float = 0.0) -> np.ndarray:
        """Cut the picture out of a C x Hp x Wp array; return H x W x C float32 clipped to [0, 1]."""
        out = chw[(slice(None), *self.picture)] - offset
        return np.clip(np.moveaxis(out, 0, -1), 0.0, 1.0).astype(np.float32, copy=False)


def _channels_first(image: np.ndarray, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(image, -1, 0), dtype=dtype)


def _ramp(n: int, width: int) -> np.ndarray:
    """1-D taper weight over a padded axis: 0 at both ends, a raised cosine up to 1 over ``width``."""
    weight = np.ones(n)
    t = 0.5 - 0.5 * np.cos(np.pi * (np.arange(width) + 0.5) / width)
    weight[:width] = t
    weight[n - width :] = np.minimum(weight[n - width :], t[::-1])
    return weight


def _tapered_canvas(image: np.ndarray, kernel: np.ndarray, passes: int = 3) -> tuple[_Canvas, np.ndarray]:
    """Mirror-pad by twice the kernel size (at least 16 px) and taper the outer padding; float32 C x Hp x Wp.

    Like MATLAB's ``edgetaper``: at the wrap-around seam the canvas equals its own circular blur with
    the kernel, which circular deconvolution reproduces without ringing, and the blend weight rises
    smoothly to 1 inside the padding, so the picture itself is untouched. Each of the ``passes``
    smooths the seam further.
    """
    kh, kw = kernel.shape
    canvas = _Canvas(image.shape, kernel, max(16, 2 * kh), max(16, 2 * kw))
    data = canvas.reflect(_channels_first(image, np.float32))
    alpha = np.outer(
        _ramp(canvas.shape[0], kh + canvas.top // 2).astype(np.float32),
        _ramp(canvas.shape[1], kw + canvas.left // 2).astype(np.float32),
    )
    for _ in range(passes):
        blurred = sfft.irfft2(
            sfft.rfft2(data, workers=fft_workers()) * canvas.otf, s=canvas.shape, workers=fft_workers()
        )
        data = alpha * data + (1 - alpha) * blurred
    return canvas, data


def _masked_canvas(image: np.ndarray, kernel: np.ndarray) -> _Canvas:
    """A canvas padded by the kernel size (at least 8 px): enough that no kernel reaches round the seam."""
    kh, kw = kernel.shape
    return _Canvas(image.shape, kernel, max(8, kh), max(8, kw))


def _gradient_filter(shape: tuple[int, int]) -> np.ndarray:
    """|D(f)|^2 of the pixel-difference gradient on the rfft2 grid of ``shape`` (0 at DC, at most 8)."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    return (4 * np.sin(np.pi * fy) ** 2 + 4 * np.sin(np.pi * fx) ** 2).astype(np.float32)
