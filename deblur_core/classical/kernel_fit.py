"""The simple blurs nearest to a kernel: its second moments, and the Gaussian, disc or line fitted to them.

For display and for hand-steering: the kernel panel offers the estimate's nearest simple blur as the
starting point of the manual sliders, and :func:`deblur_core.classical.estimate.estimate_kernel` keeps the
fits beside its estimates in ``candidates``.
"""

from __future__ import annotations

import math

import numpy as np

from deblur_core.kernels import (
    MAX_KERNEL_SIZE,
    defocus_kernel,
    gaussian_kernel,
    motion_kernel,
    normalize_kernel,
)

__all__ = ["FIT_SIMILARITY", "kernel_axes", "nearest_fit", "parametric_fits", "similarity"]

# A parametric fit is offered only when this similar (normalised correlation) to the estimate.
FIT_SIMILARITY = 0.95


def kernel_axes(kernel: np.ndarray) -> tuple[np.ndarray, float]:
    """The kernel's second moments: the variances along its two principal axes (smaller first, px^2)
    and the direction of the longer axis in degrees, counter-clockwise on screen (rows grow downwards)."""
    k = kernel / kernel.sum()
    yy, xx = np.mgrid[0 : k.shape[0], 0 : k.shape[1]].astype(np.float64)
    cy, cx = (k * yy).sum(), (k * xx).sum()
    cov = np.array(
        [
            [(k * (xx - cx) ** 2).sum(), -(k * (xx - cx) * (yy - cy)).sum()],
            [-(k * (xx - cx) * (yy - cy)).sum(), (k * (yy - cy) ** 2).sum()],
        ]
    )
    values, vectors = np.linalg.eigh(cov)
    return values, math.degrees(math.atan2(vectors[1, 1], vectors[0, 1]))


def parametric_fits(kernel: np.ndarray) -> dict[str, np.ndarray]:
    """Gaussian, disk and line kernels with the estimate's second moments."""
    values, angle = kernel_axes(kernel)
    small, large = (math.sqrt(max(v, 1e-6)) for v in values)
    fits = {}
    limit = (MAX_KERNEL_SIZE - 1) / 7
    if large <= limit:
        fits["gaussian fit"] = gaussian_kernel(max(large, 0.3), max(small, 0.3), angle)
    radius, length = _disk_and_line(values)
    if 0.5 <= radius <= MAX_KERNEL_SIZE // 2 - 1:
        fits["disk fit"] = defocus_kernel(radius)
    if 2 <= length <= MAX_KERNEL_SIZE - 2 and small < 0.35 * large:
        fits["line fit"] = motion_kernel(length, angle)
    return fits


def _disk_and_line(values: np.ndarray) -> tuple[float, float]:
    """The radius of the disk and the length of the line with the principal variances ``values`` (smaller first).

    A uniform disk of radius r has variance r^2 / 4 along each axis; a line of length L, L^2 / 12 along it.
    """
    return 2 * math.sqrt(max((values[0] + values[1]) / 2, 1e-6)), math.sqrt(12 * max(values[1] - values[0], 0.0))


def _fit_kernel(kind: str, parameters: dict[str, float]) -> np.ndarray:
    if kind == "gaussian":
        return gaussian_kernel(parameters["sigma"])
    if kind == "defocus":
        return defocus_kernel(parameters["radius"])
    return motion_kernel(parameters["length"], parameters["angle"])


def nearest_fit(kernel: np.ndarray) -> tuple[str, dict[str, float]]:
    """The round Gaussian, defocus disc or motion line most like ``kernel``, with its parameters.

    Each family is fitted to the kernel's second moments (:func:`kernel_axes`), as the fits that
    compete inside :func:`estimate_kernel` are, but with the one or two parameters the kernel specs
    take (``gaussian:sigma=``, ``defocus:radius=``, ``motion:length=,angle=``), so a person can start
    from it and adjust it by hand. The family whose kernel is most similar to ``kernel`` (normalised
    correlation at the best shift of up to 2 px) wins; a round Gaussian is always among them.

    Parameters
    ----------
    kernel : ndarray
        A 2-D non-negative kernel with a positive sum (an estimate, or any other).

    Returns
    -------
    kind : {"gaussian", "defocus", "motion"}
        The family.
    parameters : dict
        ``{"sigma": px}``, ``{"radius": px}`` or ``{"length": px, "angle": degrees}``, the angle in
        [0, 180) counter-clockwise from horizontal, as :func:`deblur_core.kernels.motion_kernel` takes it.

    Raises
    ------
    ValueError
        If the kernel is not 2-D, has negative weights or sums to zero.

    Examples
    --------
    >>> nearest_fit(gaussian_kernel(2.0))[0]
    'gaussian'
    """
    k = np.asarray(kernel, np.float64)
    if k.ndim != 2 or (k < 0).any() or not k.sum() > 0:
        raise ValueError("A kernel to fit must be a 2-D array of non-negative weights with a positive sum.")
    values, angle = kernel_axes(k)
    small, large = (max(float(v), 0.0) for v in values)
    mean = (small + large) / 2
    fits: dict[str, dict[str, float]] = {"gaussian": {"sigma": float(np.clip(math.sqrt(mean), 0.3, 15.0))}}
    radius, length = _disk_and_line(values)
    if radius >= 0.5:
        fits["defocus"] = {"radius": min(radius, MAX_KERNEL_SIZE // 2 - 1)}
    if length >= 2:
        fits["motion"] = {"length": min(length, MAX_KERNEL_SIZE - 2), "angle": angle % 180}
    target = normalize_kernel(k)  # odd and square, as the similarity needs
    return max(fits.items(), key=lambda item: similarity(_fit_kernel(*item), target))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two centred kernels (padded to one size), at the best shift of up to 2 px."""
    size = max(a.shape[0], b.shape[0]) + 4
    pa = np.pad(a, ((size - a.shape[0]) // 2,) * 2)
    pb = np.pad(b, ((size - b.shape[0]) // 2,) * 2)
    best = 0.0
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            s = np.roll(pb, (dy, dx), axis=(0, 1))
            best = max(best, float((pa * s).sum() / (np.linalg.norm(pa) * np.linalg.norm(s) + 1e-12)))
    return best
