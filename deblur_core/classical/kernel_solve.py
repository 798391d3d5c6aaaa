"""The kernel step of blind estimation with no weight below zero.

Given the gradients of a latent (sharp) picture ``g`` and of the photo ``b`` on one canvas, the kernel ``k``
(``size`` x ``size``) minimises ``sum |g * k - b|^2 + gamma |k|^2`` with every weight at least 0. Solved without
the constraint (in the Fourier domain over the whole canvas, then cut to the window) and clipped afterwards, the
answer carries negative ripples as large as a faint trail; cutting those weak weights also erases the faint part
of a camera-shake trace, and the estimate shrinks to its bright spot. Solved with the constraint, the ripples
never form and the faint part survives.

The problem is a quadratic in ``size^2`` unknowns whose matrix is the autocorrelation of ``g`` (Toeplitz in both
directions): ``(A k)(p) = sum_q R(p - q) k(q)``. Up to ``DENSE_MAX`` px the matrix is built (gathered from ``R``)
and each product is one matrix-vector product; above, where it would grow as the fourth power of the side, each
product is one small convolution done with FFTs of about twice the kernel's side. Either way a step costs the same
whatever the canvas. The solver is projected gradient descent with Nesterov momentum (FISTA, Beck and Teboulle
2009), started from the clipped unconstrained answer, with the step ``1 / L`` where ``L`` bounds the matrix's
largest eigenvalue by its largest absolute row sum (Gershgorin; for the FFT products, the absolute sum of the
autocorrelation over the window). On estimates of 31 px from training photos the row sum lies about 1.2 times above
the largest eigenvalue, where the largest value of ``|G|^2`` (the circulant the matrix is a block of) lay 8 times
above it and 150 steps left the kernel 2-5 % of its peak from the solution; with the row sum, 100 steps come within
about 1 %.

References
----------
1. Beck and Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear inverse problems",
   SIAM J. Imaging Sciences 2009.
2. Levin, Weiss, Durand and Freeman, "Understanding and evaluating blind deconvolution algorithms", CVPR 2009
   (the kernel's least-squares step with non-negativity).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import fft as sfft

__all__ = ["DENSE_MAX", "positive_kernel"]

DENSE_MAX = 31
"""The largest kernel side solved with the matrix built (at 31 px: 961 unknowns, a 3.7-MB matrix, about 10 ms for
100 steps on one core); larger sides use FFT products (about 0.2 ms a step whatever the side)."""


@functools.lru_cache(maxsize=8)
def _toeplitz_index(size: int) -> np.ndarray:
    """For a kernel of side ``size``: the flat index into the ``(2 size - 1)^2`` window of offsets of each entry
    of the normal matrix, ``(p, q) -> p - q``, as int32."""
    i, j = (a.ravel() for a in np.meshgrid(np.arange(size), np.arange(size), indexing="ij"))
    rows = i[:, None] - i[None, :] + size - 1
    cols = j[:, None] - j[None, :] + size - 1
    return (rows * (2 * size - 1) + cols).astype(np.int32)


def _window(field: np.ndarray, half: int) -> np.ndarray:
    """The values of a circular ``field`` at offsets ``-half .. half`` in both directions, as a square."""
    side = 2 * half + 1
    return np.roll(field, (half, half), axis=(0, 1))[:side, :side]


def positive_kernel(
    energy: np.ndarray,
    cross: np.ndarray,
    shape: tuple[int, int],
    size: int,
    gamma: float,
    iterations: int = 100,
) -> np.ndarray:
    """The non-negative least-squares kernel of side ``size`` for one canvas.

    Parameters
    ----------
    energy : ndarray
        ``|G|^2`` summed over the gradient directions: the half-plane spectrum (``rfft2`` layout) of the
        latent's gradients' power, real, for a canvas of ``shape``.
    cross : ndarray
        ``conj(G) B`` summed over the directions, the same layout, complex.
    shape : tuple of int
        The canvas ``(height, width)``; each side at least ``2 * size - 1``.
    size : int
        The kernel's side, odd, at least 1.
    gamma : float
        The L2 weight, at least 0, in the units of ``energy`` (``energy + gamma`` in the Fourier domain).
    iterations : int
        Projected-gradient steps, at least 0 (0 gives the clipped unconstrained answer).

    Returns
    -------
    ndarray
        float32 ``size`` x ``size``, every weight at least 0, offset 0 at the centre; not normalised (it may be
        all zero where nothing positive fits).

    Raises
    ------
    ValueError
        If ``size`` is not odd and positive, the canvas is too small for it, ``gamma`` is negative or
        ``iterations`` is negative.
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f"The kernel's side must be odd and positive, not {size}.")
    if min(shape) < 2 * size - 1:
        raise ValueError(f"A {shape[0]} x {shape[1]} canvas is too small for a {size}-px kernel.")
    if gamma < 0 or iterations < 0:
        raise ValueError("The L2 weight and the number of iterations cannot be negative.")
    half = size // 2
    energy = np.asarray(energy, np.float32)
    fit = sfft.irfft2(cross / (energy + np.float32(gamma)), s=shape)
    kernel = np.clip(_window(fit, half), 0, None).astype(np.float32)
    if iterations == 0:
        return kernel
    autocorr = _window(sfft.irfft2(energy, s=shape).astype(np.float32), size - 1)
    target = _window(sfft.irfft2(cross, s=shape).astype(np.float32), half)
    product, bound = (_dense_product if size <= DENSE_MAX else _fft_product)(autocorr, size, gamma)
    step = np.float32(1.0 / bound)
    previous, momentum_point, t = kernel, kernel, 1.0
    for _ in range(iterations):
        current = np.maximum(momentum_point - step * (product(momentum_point) - target), 0)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        momentum_point = current + np.float32((t - 1) / t_next) * (current - previous)
        previous, t = current, t_next
    return previous.astype(np.float32)


def _dense_product(autocorr: np.ndarray, size: int, gamma: float):
    """``k -> (A + gamma I) k`` with the matrix built from the autocorrelation window, and its largest absolute row
    sum (a bound on its largest eigenvalue)."""
    matrix = autocorr.ravel()[_toeplitz_index(size)]
    matrix[np.diag_indices_from(matrix)] += np.float32(gamma)
    bound = float(np.abs(matrix).sum(axis=1).max())
    return (lambda k: (matrix @ k.ravel()).reshape(size, size)), bound


def _fft_product(autocorr: np.ndarray, size: int, gamma: float):
    """``k -> (A + gamma I) k`` as the central part of the linear convolution of ``k`` with the autocorrelation
    window (offsets ``-(size - 1) .. size - 1``); FFTs of side at least ``2 size - 1`` leave that part free of
    wrap-around; and the absolute sum of the window plus ``gamma``, a bound on the matrix's largest eigenvalue."""
    n = sfft.next_fast_len(2 * size - 1, real=True)
    spectrum = sfft.rfft2(autocorr, s=(n, n))
    centre = slice(size - 1, 2 * size - 1)
    gamma32 = np.float32(gamma)
    bound = float(np.abs(autocorr).sum()) + gamma
    return (lambda k: sfft.irfft2(sfft.rfft2(k, s=(n, n)) * spectrum, s=(n, n))[centre, centre] + gamma32 * k), bound
