"""The textbook view of blur and deconvolution, for teaching: periodic blur, spectra, filters, quality curves.

Blur by a kernel ``k`` is a convolution, ``y = k * x + n``; in the Fourier domain it is a product,
``Y(f) = K(f) X(f) + N(f)``, where ``K``, the kernel's transfer function, says how much of each
frequency survives the blur. These functions show that model exactly. They blur *periodically* (the
picture wraps around at its edges, which is what the discrete Fourier transform assumes), so that a
division by ``K`` undoes the blur to the last bit when there is no noise. The restoration methods a
user runs (:mod:`deblur_core.classical.deconvolution`) handle real photo borders instead; the
kernel is placed on the Fourier grid by the same helper, :func:`~deblur_core.classical.fourier.kernel_on_canvas`.

All images are float32 RGB, H x W x 3, in [0, 1]; spectra are computed on the luma and returned
with the zero frequency in the middle (``numpy.fft.fftshift``); frequencies are in cycles per pixel
(0 to 0.5, the Nyquist frequency).

References
----------
.. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., Pearson, 2018, ch. 4
   (the Fourier transform and filtering) and ch. 5 (inverse and Wiener filtering).
.. [2] N. Wiener, *Extrapolation, Interpolation, and Smoothing of Stationary Time Series*, MIT Press, 1949.
.. [3] W. H. Richardson, "Bayesian-based iterative method of image restoration", *JOSA* 62(1), 1972;
   L. B. Lucy, "An iterative technique for the rectification of observed distributions", *AJ* 79(6), 1974.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import fft as sfft

from deblur_core.classical.deconvolution import _check_inputs, richardson_lucy
from deblur_core.classical.fourier import fft_workers, kernel_on_canvas, psf2otf
from deblur_core.image import check_image, rgb_to_luma
from deblur_core.metrics import psnr

__all__ = [
    "INVERSE_FLOOR",
    "circular_blur",
    "dot_grid",
    "inverse_filter",
    "kernel_response",
    "log_spectrum",
    "noise_floor",
    "psnr_vs_iterations",
    "psnr_vs_nsr",
    "radial_power",
    "transfer_function",
    "wiener_filter",
    "wiener_gain",
]

INVERSE_FLOOR = 1e-6
"""The naive inverse filter divides by ``|K|`` down to this value (and gives up on frequencies below it)."""


def _filter(image: np.ndarray, kernel: np.ndarray, gain: Callable[[np.ndarray], np.ndarray], method: str) -> np.ndarray:
    """Multiply each channel's spectrum by ``gain(otf)`` on the periodic grid of the image; clip to [0, 1]."""
    img, k = _check_inputs(image, kernel, method)
    h, w = img.shape[:2]
    otf = psf2otf(k, (h, w))
    spectrum = sfft.rfft2(img.astype(np.float64), axes=(0, 1), workers=fft_workers())
    out = sfft.irfft2(spectrum * gain(otf)[..., None], s=(h, w), axes=(0, 1), workers=fft_workers())
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def circular_blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Blur ``image`` with ``kernel`` periodically: light leaving one edge re-enters at the opposite one.

    Parameters
    ----------
    image : ndarray
        float32 RGB, H x W x 3, values in [0, 1], at least as large as the kernel.
    kernel : ndarray
        The blur kernel: 2-D, non-negative, summing to 1.

    Returns
    -------
    ndarray
        The blurred image, float32 H x W x 3 in [0, 1] (not rounded to 8 bits).

    Raises
    ------
    ValueError
        If the image or the kernel is invalid, or the kernel is larger than the image.

    Examples
    --------
    >>> from deblur_core.kernels import gaussian_kernel
    >>> circular_blur(dot_grid(64, 64, 16), gaussian_kernel(2.0)).shape
    (64, 64, 3)
    """
    return _filter(image, kernel, lambda otf: otf, "Blurring")


def dot_grid(height: int, width: int, spacing: int = 32) -> np.ndarray:
    """A black picture with one white pixel every ``spacing`` pixels: blurred, each dot becomes the kernel.

    Parameters
    ----------
    height, width : int
        Size in pixels, at least 1 each.
    spacing : int
        Distance between dots in pixels, at least 2; the first dot sits half a spacing from the corner.

    Returns
    -------
    ndarray
        float32 RGB, H x W x 3, 0 everywhere except 1 at the dots.

    Raises
    ------
    ValueError
        If a size or the spacing is out of range.
    """
    if height < 1 or width < 1:
        raise ValueError(f"A dot grid needs a size of at least 1 x 1 pixel; got {width} x {height}.")
    if spacing < 2:
        raise ValueError(f"Dots must be at least 2 pixels apart; got {spacing}.")
    grid = np.zeros((height, width, 3), np.float32)
    grid[spacing // 2 :: spacing, spacing // 2 :: spacing] = 1.0
    return grid


def log_spectrum(image: np.ndarray) -> np.ndarray:
    """The picture's spectrum as the eye can read it: ``log10 |F(f)|`` of its luma, zero frequency centred.

    ``F`` is the discrete Fourier transform divided by the square root of the pixel count, so that white
    noise of standard deviation ``sigma`` has ``|F|`` about ``sigma`` at every frequency (its floor).

    Parameters
    ----------
    image : ndarray
        float32 RGB, H x W x 3, in [0, 1].

    Returns
    -------
    ndarray
        float32 H x W; the centre pixel (``H // 2, W // 2``) is the zero frequency, the mean brightness.

    Raises
    ------
    ValueError
        If the image does not follow the convention.
    """
    luma = rgb_to_luma(check_image(image)).astype(np.float64)
    magnitude = np.abs(sfft.fft2(luma, workers=fft_workers())) / math.sqrt(luma.size)
    return np.log10(np.fft.fftshift(magnitude) + 1e-12).astype(np.float32)


def transfer_function(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``|K(f)|``, how much of each frequency a blur lets through, on the Fourier grid of a ``shape`` picture.

    Parameters
    ----------
    kernel : ndarray
        The blur kernel: 2-D, non-negative, summing to 1.
    shape : (int, int)
        (height, width) of the picture; at least the kernel's size.

    Returns
    -------
    ndarray
        float32, ``shape``, zero frequency centred: 1 there (a blur keeps the mean brightness), at most 1
        elsewhere, 0 where a frequency is wiped out.

    Raises
    ------
    ValueError
        If the kernel is larger than ``shape``.
    """
    spectrum = sfft.fft2(kernel_on_canvas(np.asarray(kernel, np.float64), shape), workers=fft_workers())
    return np.fft.fftshift(np.abs(spectrum)).astype(np.float32)


def kernel_response(kernel: np.ndarray, frequencies: np.ndarray, angle_deg: float = 0.0) -> np.ndarray:
    """``|K(f)|`` at any frequencies along one direction, from the kernel's exact Fourier sum.

    Along direction ``angle_deg`` (counter-clockwise from the x axis, as :func:`~deblur_core.kernels.motion_kernel`
    measures it; rows grow downwards) the frequency ``f`` is the wave ``exp(2 pi i f (x cos a - y sin a))``.
    A motion blur of length ``L`` along that direction averages over ``L`` pixels, so its response
    vanishes at ``f = 1/L, 2/L, ...``: those patterns are wiped out.

    Parameters
    ----------
    kernel : ndarray
        The blur kernel, 2-D, centred on its middle pixel.
    frequencies : array_like
        Frequencies in cycles per pixel (any real values; 0.5 is the finest pattern a pixel grid holds).
    angle_deg : float
        The direction, in degrees.

    Returns
    -------
    ndarray
        float64, one magnitude per frequency (1 at f = 0 for a kernel summing to 1).

    Raises
    ------
    ValueError
        If the kernel is not 2-D.
    """
    k = np.asarray(kernel, np.float64)
    if k.ndim != 2:
        raise ValueError(f"A blur kernel must be a 2-D array; this one has shape {k.shape}.")
    rows, cols = np.mgrid[: k.shape[0], : k.shape[1]]
    t = math.radians(angle_deg)
    along = (cols - k.shape[1] // 2) * math.cos(t) - (rows - k.shape[0] // 2) * math.sin(t)
    f = np.atleast_1d(np.asarray(frequencies, np.float64))
    waves = np.exp(-2j * np.pi * f[:, None] * along.ravel()[None, :])
    return np.abs(waves @ k.ravel())


def radial_power(image: np.ndarray, bins: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """The luma's power ``|F|^2`` averaged over rings of equal frequency: where the detail is, and the noise floor.

    With the normalisation of :func:`log_spectrum`, white noise adds a flat floor (:func:`noise_floor`); a blurred picture's power drops towards the high frequencies until it
    reaches that floor, and everything below the floor is lost in the noise.

    Parameters
    ----------
    image : ndarray
        float32 RGB, H x W x 3, in [0, 1].
    bins : int
        Number of rings between 0 and 0.5 cycles per pixel, at least 2.

    Returns
    -------
    frequencies, power : ndarray
        The rings' centre frequencies (cycles per pixel) and their mean power (float64, ``bins`` each);
        the zero frequency (the mean brightness) is left out.

    Raises
    ------
    ValueError
        If the image is invalid or ``bins`` is below 2.
    """
    if bins < 2:
        raise ValueError(f"The power spectrum needs at least 2 rings; got {bins}.")
    luma = rgb_to_luma(check_image(image)).astype(np.float64)
    power = np.abs(sfft.fft2(luma, workers=fft_workers())) ** 2 / luma.size
    fy = np.fft.fftfreq(luma.shape[0])[:, None]
    fx = np.fft.fftfreq(luma.shape[1])[None, :]
    radius = np.hypot(fy, fx).ravel()
    edges = np.linspace(0.0, 0.5, bins + 1)
    ring = np.digitize(radius, edges) - 1
    keep = (radius > 0) & (ring < bins)
    total = np.bincount(ring[keep], power.ravel()[keep], minlength=bins)
    count = np.bincount(ring[keep], minlength=bins)
    centres = 0.5 * (edges[:-1] + edges[1:])
    filled = count > 0
    return centres[filled], total[filled] / count[filled]


def noise_floor(sigma: float) -> float:
    """Where white noise of standard deviation ``sigma`` in each RGB channel sits in :func:`radial_power`.

    The channels' noise is independent, and the luma is a weighted sum of them, so its power is
    ``sigma ** 2`` times the sum of the squared luma weights (0.447 for BT.601).

    Parameters
    ----------
    sigma : float
        The noise's standard deviation per channel, in [0, 1] units, >= 0.

    Returns
    -------
    float
        The power of the floor.

    Raises
    ------
    ValueError
        If ``sigma`` is negative.
    """
    if not sigma >= 0:
        raise ValueError(f"The noise level must be 0 or more; got {sigma!r}.")
    weights = rgb_to_luma(np.eye(3, dtype=np.float32)[None])[0]
    return float(sigma**2 * np.sum(weights.astype(np.float64) ** 2))


def wiener_gain(response: np.ndarray, nsr: float) -> np.ndarray:
    """The Wiener filter's gain ``|K| / (|K|^2 + nsr)`` for transfer magnitudes ``response``.

    Where the blur keeps a frequency (``|K|^2`` well above ``nsr``) the gain is about ``1 / |K|``,
    the inverse filter; where it almost wipes it out the gain falls back to 0 instead of exploding.
    With ``nsr = 0`` it is the inverse filter's ``1 / |K|``.

    Parameters
    ----------
    response : array_like
        Magnitudes ``|K(f)|`` (from :func:`transfer_function` or :func:`kernel_response`), >= 0.
    nsr : float
        The noise-to-signal power ratio, >= 0.

    Returns
    -------
    ndarray
        The gains, float64, same shape; ``inf`` where ``response`` is 0 and ``nsr`` is 0.

    Raises
    ------
    ValueError
        If ``nsr`` is negative or not finite.
    """
    if not (math.isfinite(nsr) and nsr >= 0):
        raise ValueError(f"The noise-to-signal ratio must be 0 or a positive number; got {nsr!r}.")
    r = np.abs(np.asarray(response, np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r > 0, r / (r**2 + nsr), np.inf if nsr == 0 else 0.0)


def inverse_filter(image: np.ndarray, kernel: np.ndarray, floor: float = INVERSE_FLOOR) -> np.ndarray:
    """The naive inverse filter: divide the picture's spectrum by the kernel's, ``X = Y / K``.

    Exact when the picture was blurred periodically (:func:`circular_blur`) and carries no noise; with
    noise, ``N / K`` explodes wherever ``|K|`` is small. Frequencies with ``|K|`` below ``floor`` are set
    to 0 rather than divided by (almost) nothing.

    Parameters
    ----------
    image : ndarray
        The blurred picture, float32 RGB, H x W x 3, in [0, 1].
    kernel : ndarray
        The blur kernel: 2-D, non-negative, summing to 1, at most the picture's size.
    floor : float
        The smallest ``|K|`` divided by, > 0.

    Returns
    -------
    ndarray
        The restored picture, float32 H x W x 3, clipped to [0, 1].

    Raises
    ------
    ValueError
        If the image or kernel is invalid or ``floor`` is not positive.

    References
    ----------
    .. [1] Gonzalez and Woods, *Digital Image Processing*, 4th ed., section 5.7 (inverse filtering).
    """
    if not (math.isfinite(floor) and floor > 0):
        raise ValueError(f"The inverse filter's floor must be a positive number; got {floor!r}.")

    def gain(otf: np.ndarray) -> np.ndarray:
        size = np.abs(otf)
        return np.where(size >= floor, 1.0 / np.where(size >= floor, otf, 1.0), 0.0)

    return _filter(image, kernel, gain, "The inverse filter")


def wiener_filter(image: np.ndarray, kernel: np.ndarray, nsr: float) -> np.ndarray:
    """The textbook Wiener filter on a periodic picture: ``X = conj(K) Y / (|K|^2 + nsr)``.

    A constant noise-to-signal ratio ``nsr`` trades noise (small values: close to the inverse filter)
    against sharpness (large values: the high frequencies are let go). The app's own
    :func:`~deblur_core.classical.deconvolution.wiener` adds a frequency-shaped regulariser and careful
    edge handling for real photos; this is the formula alone, to show the trade.

    Parameters
    ----------
    image : ndarray
        The blurred picture, float32 RGB, H x W x 3, in [0, 1].
    kernel : ndarray
        The blur kernel: 2-D, non-negative, summing to 1, at most the picture's size.
    nsr : float
        Noise-to-signal power ratio, > 0 (useful values about 1e-5 to 1).

    Returns
    -------
    ndarray
        The restored picture, float32 H x W x 3, clipped to [0, 1].

    Raises
    ------
    ValueError
        If the image or kernel is invalid or ``nsr`` is not positive.

    References
    ----------
    .. [1] N. Wiener, 1949; Gonzalez and Woods, 4th ed., section 5.8 (minimum mean square error filtering).
    """
    if not (math.isfinite(nsr) and nsr > 0):
        raise ValueError(f"The Wiener noise-to-signal ratio must be a positive number; got {nsr!r}.")
    return _filter(image, kernel, lambda otf: np.conj(otf) / (otf.real**2 + otf.imag**2 + nsr), "Wiener filtering")


def psnr_vs_nsr(sharp: np.ndarray, blurred: np.ndarray, kernel: np.ndarray, nsrs: Sequence[float]) -> np.ndarray:
    """PSNR (dB) against the sharp picture of :func:`wiener_filter` at each noise-to-signal ratio.

    Too small a ratio lets the noise through, too large a one blurs: on a noisy natural picture the curve
    rises to a maximum and falls again.

    Parameters
    ----------
    sharp, blurred : ndarray
        The original and its blurred, noisy version, float32 RGB of the same shape, in [0, 1].
    kernel : ndarray
        The blur kernel.
    nsrs : sequence of float
        The ratios to try, each > 0.

    Returns
    -------
    ndarray
        float64, one PSNR in dB per ratio.

    Raises
    ------
    ValueError
        If the images differ in shape or a ratio is not positive.

    References
    ----------
    .. [1] Gonzalez and Woods, *Digital Image Processing*, 4th ed., section 5.8.
    """
    return np.array([psnr(sharp, wiener_filter(blurred, kernel, float(nsr))) for nsr in nsrs])


def psnr_vs_iterations(
    sharp: np.ndarray, blurred: np.ndarray, kernel: np.ndarray, iterations: int, keep: Sequence[int] = ()
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """PSNR (dB) after each Richardson-Lucy iteration, from one run, and the pictures after chosen iterations.

    The iteration recovers the large shapes first and the fine detail later; on a noisy picture it
    eventually amplifies the noise, so the PSNR rises, peaks and then falls (semi-convergence).

    Parameters
    ----------
    sharp, blurred : ndarray
        The original and its blurred, noisy version, float32 RGB of the same shape, in [0, 1].
    kernel : ndarray
        The blur kernel.
    iterations : int
        How many iterations to run, 1 to 10000.
    keep : sequence of int
        Iteration counts (1 to ``iterations``) whose pictures are returned.

    Returns
    -------
    psnrs : ndarray
        float64, ``iterations`` values: the PSNR after iteration 1, 2, ...
    pictures : dict
        For each count in ``keep``, the picture after that many iterations (float32 H x W x 3).

    Raises
    ------
    ValueError
        If the images differ in shape, or an argument is out of range.

    References
    ----------
    .. [1] Richardson (1972); Lucy (1974); M. Bertero and P. Boccacci, "A simple method for the reduction
       of boundary effects in the Richardson-Lucy approach to image deconvolution", *A&A* 437, 2005.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or not 1 <= iterations <= 10000:
        raise ValueError(f"Richardson-Lucy needs a whole number of iterations from 1 to 10000; got {iterations!r}.")
    truth = check_image(sharp, "sharp picture")
    if truth.shape != check_image(blurred, "blurred picture").shape:
        raise ValueError(f"The sharp picture {truth.shape} and the blurred one {blurred.shape} differ in size.")
    wanted = {int(n) for n in keep}
    if any(not 1 <= n <= iterations for n in wanted):
        raise ValueError(f"Pictures can be kept after iterations 1 to {iterations}; got {sorted(wanted)}.")
    psnrs = np.zeros(int(iterations))
    pictures: dict[int, np.ndarray] = {}

    def record(done: int, _total: int, info: dict) -> None:
        picture = info["estimate"]()
        psnrs[done - 1] = psnr(truth, picture)
        if done in wanted:
            pictures[done] = picture

    richardson_lucy(blurred, kernel, int(iterations), on_progress=record)
    return psnrs, pictures
