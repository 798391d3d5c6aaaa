"""Non-blind deconvolution with a known kernel: Wiener, Richardson-Lucy and unsupervised Wiener-Hunt.

These are the baselines every learned model is measured against. All three need the blur kernel
(point-spread function) and work per RGB channel on float32 H x W x 3 images in [0, 1]; the result has
the same shape and dtype and is clipped to [0, 1].

Edge handling
-------------
Deconvolution in the Fourier domain treats an image as if it wrapped around, its right edge touching
its left edge. A photograph does not, and a plain FFT deconvolution rings from the borders across the
picture. Every method here pads the image, deconvolves on the padded canvas with FFTs and crops the
padding away. The kernel is placed by :func:`psf2otf`: zero-padded to the canvas and circularly
shifted so that its centre pixel sits at (0, 0); the image itself is never shifted. The canvas and
the transfer function live in :mod:`deblur_core.classical.fourier`, the noise estimate in
:mod:`deblur_core.classical.noise`.

1. The closed-form start: the image is mirror-padded (``symmetric``, the rule of ``degrade.blur``) by
   twice the kernel size (at least 16 pixels), and the outer padding is tapered towards a copy of
   itself blurred circularly with the kernel (the idea of MATLAB's ``edgetaper``), so that the canvas
   wraps around the way the circular model expects. ``wiener(..., boundary="reflect")`` stops here.
   That is exact for mirror-symmetric kernels (Gaussian, defocus, horizontal or vertical motion) but
   leaves ringing for oblique or irregular ones, whose mirror image is a different blur.
2. Unknown boundaries: the blurred photo only constrains the pixels inside it; what lies beyond the
   frame is unknown, not a mirror image. :func:`wiener` (by default) and :func:`richardson_lucy`
   therefore restrict the data term to the photo and estimate the padding along with the picture
   (conjugate gradients for Wiener; the method of Bertero and Boccacci 2005 for Richardson-Lucy).
   This is the physical model of a camera, whose sensor also saw light from beyond the frame, and it
   keeps every border clean whatever the kernel's shape.
3. :func:`unsupervised_wiener` runs scikit-image's circular sampler on a canvas whose padding is the
   re-blurred result of step 2, which makes the canvas exactly consistent with circular blur.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft as sfft
from skimage import restoration

from deblur_core.classical.fourier import (
    _Canvas,
    _channels_first,
    _gradient_filter,
    _masked_canvas,
    _tapered_canvas,
    fft_workers,
)
from deblur_core.classical.noise import _nsr_from, estimate_noise_sigma
from deblur_core.classical.tiles import solve_in_tiles, tile_grid
from deblur_core.image import check_image
from deblur_core.kernels import normalize_kernel
from deblur_core.progress import CancelFn, ProgressFn, check_callbacks, check_cancel

__all__ = ["auto_nsr", "richardson_lucy", "unsupervised_wiener", "wiener"]


# Conjugate-gradient steps of Wiener with unknown boundaries. Started from the edge-tapered closed form,
# 3 steps come within 0.1 dB of 15 on training images (oblique motion and camera shake, noise 0.01) and 4
# within 0.03 dB; each step costs two FFTs per channel, so the default stops there.
WIENER_STEPS = 4
# Photos of at least this many pixels are solved in overlapping tiles, several at once (see _wiener_tiled).
TILED_PIXELS = 500_000
# The side of a tile's own part (before its margin); a 12-MP photo makes 12 of them.
TILE_SIDE = 1024
BOUNDARIES = ("unknown", "reflect")
REGULARIZERS = ("gradient", "none")
# Richardson-Lucy divides by the predicted image; this offset keeps black regions finite.
_RL_OFFSET = np.float32(1e-4)


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


def _check_inputs(image: np.ndarray, kernel: np.ndarray | None, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate the image and the kernel; return the image as float32 and the kernel normalised."""
    if kernel is None:
        raise ValueError(
            f"{method} needs the blur kernel: give it with --kernel (for example --kernel gaussian:sigma=2) "
            "or choose the blur in the app."
        )
    img = check_image(image)
    if min(img.shape[:2]) < 4:
        raise ValueError(f"{method} needs an image of at least 4 x 4 pixels; got shape {img.shape}.")
    k = np.asarray(kernel)
    if k.ndim != 2:
        raise ValueError(f"The blur kernel for {method} must be a 2-D array; this one has shape {k.shape}.")
    if not (np.issubdtype(k.dtype, np.integer) or np.issubdtype(k.dtype, np.floating)):
        raise ValueError(f"The blur kernel for {method} must hold real numbers; got dtype {k.dtype}.")
    k = k.astype(np.float64)
    if not np.all(np.isfinite(k)):
        raise ValueError(f"The blur kernel for {method} contains NaN or infinite values.")
    total = float(k.sum())
    if total <= 0:
        raise ValueError(f"The blur kernel for {method} has no positive weight; it must contain some light.")
    if float(k.min()) < -1e-6 * total:
        raise ValueError(
            f"The blur kernel for {method} has negative weights (down to {k.min():.3g}); a blur kernel "
            "spreads light and must be non-negative."
        )
    if abs(total - 1.0) > 1e-2:
        raise ValueError(
            f"The blur kernel for {method} sums to {total:.4g}, not 1; a blur kernel keeps the brightness of "
            "the image. Divide it by its sum (deblur_core.kernels.normalize_kernel does this)."
        )
    # Odd sides, centred mass and an exact unit sum: what psf2otf relies on.
    return img, normalize_kernel(k)


def _check_cancel(cancel: CancelFn | None, method: str) -> None:
    check_cancel(cancel, f"{method} was cancelled.")


# --------------------------------------------------------------------------------------------------
# The Wiener noise-to-signal ratio
# --------------------------------------------------------------------------------------------------


def auto_nsr(image: np.ndarray, kernel: np.ndarray) -> float:
    """Noise-to-signal ratio for :func:`wiener`, estimated from the blurred image and its kernel.

    Model: natural images have a power spectrum close to ``S(f) = A / |D(f)|^2``, where ``|D(f)|^2``
    is the response of the pixel-difference gradient (about ``(2 pi |f|)^2`` at low frequencies).
    Then ``A`` is the mean squared gradient of the sharp image, and the blurred image has mean squared
    gradient ``A * mean_f |H(f)|^2`` plus ``4 sigma^2`` from the noise, where ``mean_f |H(f)|^2``
    equals ``sum(kernel ** 2)`` by Parseval's theorem. Hence::

        A   = (mean |grad y|^2 - 4 sigma^2) / sum(kernel ** 2)
        nsr = 2 * sigma^2 / A

    with ``sigma`` from :func:`estimate_noise_sigma`, read as at least 0.003 (``NSR_SIGMA_FLOOR``). The Wiener
    filter divides by ``|H|^2 + nsr * |D|^2``: for the factor 1 that is the minimum-mean-square-error
    filter of the model; the factor 2 corrects for photos having less fine detail than the model
    (see ``AUTO_NSR_FACTOR``). The estimate follows the noise (0 to 0.02 and beyond) and the kernel's
    size and shape with no hand tuning per case.

    Parameters
    ----------
    image : ndarray
        The blurred image, float32 RGB, H x W x 3, values in [0, 1].
    kernel : ndarray
        The blur kernel (2-D, non-negative, sums to 1).

    Returns
    -------
    float
        The ratio ``nsr``, positive; typically 1e-5 (clean, mild blur) to 1e-1 (strong noise).

    Raises
    ------
    ValueError
        If the image or the kernel is invalid or missing.
    """
    img, k = _check_inputs(image, kernel, "Wiener deconvolution")
    return _nsr_from(img, k, estimate_noise_sigma(img))


# --------------------------------------------------------------------------------------------------
# The methods
# --------------------------------------------------------------------------------------------------


def _wiener_ratio(nsr: float | str, img: np.ndarray, kernel: np.ndarray, regularizer: str) -> float:
    """The regularisation weight from the ``nsr`` argument of :func:`wiener`."""
    if isinstance(nsr, str):
        if nsr != "auto":
            raise ValueError(f"The Wiener noise-to-signal ratio must be a positive number or 'auto'; got '{nsr}'.")
        ratio = _nsr_from(img, kernel, estimate_noise_sigma(img))
        # A flat regulariser weighs all frequencies alike; matching |D|^2 where noise dominates, at the
        # highest frequencies (|D|^2 is 4 along an axis, 8 on the diagonal), needs a larger ratio.
        return 4.0 * ratio if regularizer == "none" else ratio
    if isinstance(nsr, bool):
        raise ValueError("The Wiener noise-to-signal ratio must be a positive number or 'auto'; got a boolean.")
    try:
        ratio = float(nsr)
    except (TypeError, ValueError):
        raise ValueError(
            f"The Wiener noise-to-signal ratio must be a positive number or 'auto'; got {nsr!r}."
        ) from None
    if not (math.isfinite(ratio) and ratio > 0):
        raise ValueError(f"The Wiener noise-to-signal ratio must be a positive, finite number; got {nsr!r}.")
    return ratio


def wiener(
    image: np.ndarray,
    kernel: np.ndarray | None,
    nsr: float | str = "auto",
    *,
    regularizer: str = "gradient",
    boundary: str = "unknown",
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Wiener deconvolution with a known kernel, computed with FFTs and careful edge handling.

    The Wiener (regularised least-squares) estimate ``X = conj(H) Y / (|H|^2 + nsr * R)`` per channel,
    where ``H`` is the kernel's transfer function and ``R`` the regulariser's: ``|D|^2`` of the
    pixel-difference gradient (default; the Wiener filter for the roughly 1/f^2 power spectrum of
    natural images, and it keeps the mean brightness exactly) or 1 (``"none"``: the textbook constant
    noise-to-signal ratio).

    With ``boundary="reflect"`` that formula is applied once to the mirror-padded, edge-tapered image.
    With ``boundary="unknown"`` (default) its result is refined by 4 preconditioned conjugate-gradient
    steps on the same least-squares problem in which only pixels inside the photo are data and the
    padding is unknown. Each step costs one FFT pair per channel. For a kernel that is its own mirror
    image along both axes (Gaussian, defocus, horizontal or vertical motion) mirror padding is exact
    and the refinement is skipped; for oblique motion or camera shake only the refined result keeps
    the borders clean (about 2 dB better for 21-pixel motion at 45 degrees). A photo of half a
    megapixel or more is solved in overlapping tiles, several at once, within 0.01 dB of one solve of
    the whole photo and in half the time or less. See the module notes.

    Parameters
    ----------
    image : ndarray
        Blurred image, float32 RGB, H x W x 3, values in [0, 1], at least 4 x 4 pixels.
    kernel : ndarray
        The blur kernel: 2-D, non-negative, summing to 1 (within 1 %); it is centred on its centre
        of mass.
    nsr : float or "auto"
        Noise-to-signal ratio (the regularisation weight), > 0. ``"auto"`` estimates it from the image
        (:func:`auto_nsr`; 4 times that for ``regularizer="none"``). Larger values give a smoother,
        less noisy, less sharp result; useful values lie between about 1e-5 and 1e-1.
    regularizer : {"gradient", "none"}
        The weight of the regularisation across frequencies (see above).
    boundary : {"unknown", "reflect"}
        How the picture is continued beyond its borders (see above).
    on_progress : callable, optional
        ``on_progress(done, total, info)`` after each step (``info["message"]`` is a short text); the last call
        has ``done == total``. It does not change the result.
    cancel : callable, optional
        Returns True to stop; checked before each step, raising :class:`Cancelled`.
    out : ndarray, optional
        An H x W x 3 float32 array (a view into a larger one will do) to write the result into and
        return, instead of a new array; it saves a copy of a large photo.

    Returns
    -------
    ndarray
        The restored image, float32, H x W x 3, clipped to [0, 1].

    Raises
    ------
    ValueError
        If the kernel is missing or invalid, the image is not H x W x 3 in [0, 1], or an option is not
        one of the accepted values.
    Cancelled
        If ``cancel`` returned True.
    """
    method = "Wiener deconvolution"
    img, k = _check_inputs(image, kernel, method)
    if regularizer not in REGULARIZERS:
        raise ValueError(f"Unknown Wiener regulariser '{regularizer}'; use one of: {', '.join(REGULARIZERS)}.")
    if boundary not in BOUNDARIES:
        raise ValueError(f"Unknown boundary handling '{boundary}'; use one of: {', '.join(BOUNDARIES)}.")
    check_callbacks(on_progress, cancel)
    _check_out(out, img, method)
    ratio = _wiener_ratio(nsr, img, k, regularizer)
    tiles = tile_grid(img.shape[0], img.shape[1], k, TILE_SIDE) if img.shape[0] * img.shape[1] >= TILED_PIXELS else []
    if len(tiles) >= 2:
        return _wiener_tiled(img, k, ratio, regularizer, boundary, method, tiles, on_progress, cancel, out)
    canvas, x = _wiener_canvas(img, k, ratio, regularizer, boundary, method, on_progress, cancel)
    return _into(out, canvas.crop(x))


def _check_out(out: np.ndarray | None, img: np.ndarray, method: str) -> None:
    """Raise ValueError unless ``out`` is None or a float32 array of the photo's shape."""
    if out is not None and (out.shape != img.shape or out.dtype != np.float32):
        raise ValueError(f"{method}: out must be a float32 array of the photo's shape {img.shape}.")


def _into(out: np.ndarray | None, result: np.ndarray) -> np.ndarray:
    """``result``, copied into ``out`` when one is given."""
    if out is None:
        return result
    out[...] = result
    return out


def _wiener_tiled(img, k, ratio, regularizer, boundary, method, tiles, on_progress, cancel, out=None) -> np.ndarray:
    """Wiener on overlapping tiles (:mod:`deblur_core.classical.tiles`), each solved as a photo of its own.

    Every tile uses the whole photo's ratio, is tapered and has its unknown borders refined, so a
    tile's edge is handled like the photo's: within 0.01 dB of one solve of the whole photo, and on
    two cores a 12-MP photo takes 3.9 s instead of 5.9 s.
    """

    def solve(part: np.ndarray) -> np.ndarray:
        canvas, x = _wiener_canvas(part, k, ratio, regularizer, boundary, method, None, cancel)
        return canvas.crop(x)

    return solve_in_tiles(img, tiles, solve, on_progress, "Wiener", out)


def _wiener_canvas(
    img: np.ndarray,
    k: np.ndarray,
    ratio: float,
    regularizer: str,
    boundary: str,
    method: str,
    on_progress: ProgressFn | None,
    cancel: CancelFn | None,
) -> tuple[_Canvas, np.ndarray]:
    """Wiener deconvolution on the whole padded canvas; returns the canvas and the C x Hp x Wp result."""
    _check_cancel(cancel, method)
    # Where conjugate gradients refine the borders afterwards, one taper pass starts them as well as three
    # (within 0.004 dB on training photos with skewed kernels) for four fewer FFTs.
    refine = boundary == "unknown" and not _mirror_symmetric(k)
    canvas, data = _tapered_canvas(img, k, passes=1 if refine else 3)
    reg = np.float32(ratio) * (
        _gradient_filter(canvas.shape) if regularizer == "gradient" else np.ones(canvas.otf.shape, np.float32)
    )
    precond = 1.0 / (canvas.otf.real**2 + canvas.otf.imag**2 + reg)
    spectrum = sfft.rfft2(data, workers=fft_workers())
    spectrum *= np.conj(canvas.otf) * precond
    # Mirror padding is the exact continuation for a kernel that is its own mirror image along both axes
    # (Gaussian, defocus, horizontal or vertical motion): the refinement would change nothing.
    if refine:
        x = _refine_unknown_boundary(img, canvas, spectrum, reg, precond, method, on_progress, cancel)
    else:
        x = sfft.irfft2(spectrum, s=canvas.shape, workers=fft_workers())
        if on_progress is not None:
            on_progress(1, 1, {"message": "Wiener: done"})
    return canvas, x


def _mirror_symmetric(kernel: np.ndarray) -> bool:
    """True if the kernel equals its mirror image left-right and top-bottom (within float32 round-off)."""
    tol = 1e-6 * float(np.abs(kernel).max())
    return bool(np.allclose(kernel, kernel[::-1], atol=tol) and np.allclose(kernel, kernel[:, ::-1], atol=tol))


def _refine_unknown_boundary(
    img: np.ndarray,
    canvas: _Canvas,
    solution: np.ndarray,
    reg: np.ndarray,
    precond: np.ndarray,
    method: str,
    on_progress: ProgressFn | None,
    cancel: CancelFn | None,
) -> np.ndarray:
    """Refine the spectrum ``solution`` (changed in place) towards the solution of ``(K^T M K + R) x = K^T M y`` by
    preconditioned conjugate gradients; returns the result in pixels, C x Hp x Wp.

    ``M`` keeps the pixels inside the photo, ``K`` is the blur and ``R`` the regulariser, diagonal in
    the Fourier domain like the preconditioner ``(|H|^2 + R)^-1`` (the circular Wiener filter). The
    vectors live in the Fourier domain, so a step costs one inverse and one forward FFT (only the mask
    needs pixels), and inner products use Parseval's theorem. The start's residual
    ``K^T M (y - K x) - R x`` costs one FFT pair too, and the last step updates only the solution. The
    channels are solved together in single precision, each with its own step sizes, the products in
    place. The fixed number of steps is where the PSNR stops rising on training images, starting from
    the edge-tapered closed-form solution.
    """
    shape = canvas.shape
    otf = canvas.otf
    otf_adj = np.conj(otf)
    reg32 = reg.astype(np.float32)
    pre32 = precond.astype(np.float32)
    mask = canvas.mask(np.float32)
    pair_weights = _parseval_weights(shape)

    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return _spectral_dot(a, b, pair_weights)

    scratch = np.empty_like(solution)

    def normal_operator(spectrum: np.ndarray) -> np.ndarray:
        blurred = sfft.irfft2(np.multiply(spectrum, otf, out=scratch), s=shape, workers=fft_workers())
        blurred *= mask
        result = sfft.rfft2(blurred, workers=fft_workers())
        result *= otf_adj
        result += np.multiply(spectrum, reg32, out=scratch)
        return result

    # The start's residual K^T M (y - K x) - R x, with M y the photo on a canvas of zeros.
    reblurred = sfft.irfft2(np.multiply(solution, otf, out=scratch), s=shape, workers=fft_workers())
    reblurred *= -mask
    reblurred[(slice(None), *canvas.picture)] += _channels_first(img, np.float32)
    residual = sfft.rfft2(reblurred, workers=fft_workers())
    del reblurred
    residual *= otf_adj
    residual -= np.multiply(solution, reg32, out=scratch)
    z = residual * pre32
    direction = z.copy()
    rz = dot(residual, z)
    floor = 1e-12 * np.maximum(rz, 1e-30)
    total = WIENER_STEPS
    for step in range(total):
        _check_cancel(cancel, method)
        if np.all(rz <= floor):
            break  # already solved (a flat image, or the identity kernel)
        a_dir = normal_operator(direction)
        curvature = dot(direction, a_dir)
        alpha = np.where(curvature > 0, rz / np.maximum(curvature, 1e-30), 0.0).astype(np.float32)
        solution += np.multiply(direction, alpha, out=scratch)
        if step + 1 == total:
            break  # the next direction would go unused
        residual -= np.multiply(a_dir, alpha, out=a_dir)
        np.multiply(residual, pre32, out=z)
        rz_new = dot(residual, z)
        beta = (rz_new / np.maximum(rz, 1e-30)).astype(np.float32)
        direction *= beta
        direction += z
        rz = rz_new
        if on_progress is not None:
            on_progress(step + 1, total, {"message": f"Wiener: step {step + 1} of {total}"})
    if on_progress is not None:
        on_progress(total, total, {"message": "Wiener: done"})
    return sfft.irfft2(solution, s=shape, workers=fft_workers())


def _parseval_weights(shape: tuple[int, int]) -> np.ndarray:
    """Parseval on the half spectrum of rfft2 of a ``shape`` canvas: the columns that stand for two mirrored ones count
    twice. Each weight is repeated for the real and the imaginary part of a complex number seen as two floats."""
    weights = np.full(shape[1] // 2 + 1, 2.0, np.float32)
    weights[0] = 1.0
    if shape[1] % 2 == 0:
        weights[-1] = 1.0
    return np.repeat(weights, 2)


def _spectral_dot(a: np.ndarray, b: np.ndarray, pair_weights: np.ndarray) -> np.ndarray:
    """Re <a, b> per channel of two C x H x W' half spectra (the pixels' inner product), as C x 1 x 1 float64.

    Summed down the rows first: no temporary of the spectrum's size, and no BLAS call, whose own threads would
    fight the tiles' threads (two tiles at once ran no faster than one after another with a matrix product here).
    """
    columns = np.einsum("chx,chx->cx", a.view(np.float32), b.view(np.float32))
    return (columns * pair_weights).sum(axis=1, dtype=np.float64)[:, None, None]


def richardson_lucy(
    image: np.ndarray,
    kernel: np.ndarray | None,
    iterations: int = 30,
    *,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> np.ndarray:
    """Richardson-Lucy deconvolution with a known kernel, computed with FFTs and unknown boundaries.

    The maximum-likelihood iteration for Poisson noise, ``x <- x * K^T(y / K x) / K^T 1``, started from
    the blurred image. Following Bertero and Boccacci (2005) the canvas is padded by the kernel size,
    the ratio ``y / K x`` is taken only inside the photo (the padding is unknown, not data), and
    ``K^T 1`` is computed over the photo, so the borders neither ring nor darken. More iterations
    restore more detail but also amplify more noise: 10-50 suit most photographs, fewer for noisy
    ones. All channels are updated together in float32: a 512 x 512 RGB image with a 21 x 21 kernel
    takes well under a second for 30 iterations on one core.

    Parameters
    ----------
    image : ndarray
        Blurred image, float32 RGB, H x W x 3, values in [0, 1], at least 4 x 4 pixels.
    kernel : ndarray
        The blur kernel: 2-D, non-negative, summing to 1 (within 1 %).
    iterations : int
        Number of iterations, 1 to 10000.
    on_progress : callable, optional
        ``on_progress(done, total, info)`` after each iteration; it does not change the result.
        ``info["estimate"]()``, called during the callback, returns the picture after iteration ``done``
        (H x W x 3 float32 in [0, 1]).
    cancel : callable, optional
        Returns True to stop; checked before each iteration, raising :class:`Cancelled`.

    Returns
    -------
    ndarray
        The restored image, float32, H x W x 3, clipped to [0, 1].

    Raises
    ------
    ValueError
        If the kernel is missing or invalid, the image is not H x W x 3 in [0, 1], or ``iterations``
        is not a whole number from 1 to 10000.
    Cancelled
        If ``cancel`` returned True.
    """
    method = "Richardson-Lucy deconvolution"
    img, k = _check_inputs(image, kernel, method)
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or not 1 <= iterations <= 10000:
        raise ValueError(f"Richardson-Lucy needs a whole number of iterations from 1 to 10000; got {iterations!r}.")
    check_callbacks(on_progress, cancel)
    _check_cancel(cancel, method)
    canvas = _masked_canvas(img, k)
    shape = canvas.shape
    otf = canvas.otf
    otf_adj = np.conj(otf)
    mask = canvas.mask(np.float32)
    # K^T applied to the mask: how much of each canvas pixel's light reaches the photo. Pixels whose
    # light misses it entirely are not determined by the data; their update is 0 and they stay out.
    reach = sfft.irfft2(sfft.rfft2(mask, workers=fft_workers()) * otf_adj, s=shape, workers=fft_workers())
    inv_reach = np.where(reach > 1e-3, 1.0 / np.maximum(reach, 1e-3), 0.0).astype(np.float32)
    picture = _channels_first(img, np.float32) + _RL_OFFSET
    observed = np.zeros((img.shape[2], *shape), np.float32)
    observed[(slice(None), *canvas.picture)] = picture
    estimate = canvas.reflect(picture).astype(np.float32)
    total = int(iterations)
    for i in range(total):
        _check_cancel(cancel, method)
        predicted = sfft.irfft2(sfft.rfft2(estimate, workers=fft_workers()) * otf, s=shape, workers=fft_workers())
        np.maximum(predicted, 1e-6, out=predicted)
        np.divide(observed, predicted, out=predicted)  # 0 outside the photo, where observed is 0
        correction = sfft.irfft2(sfft.rfft2(predicted, workers=fft_workers()) * otf_adj, s=shape, workers=fft_workers())
        np.maximum(correction, 0.0, out=correction)  # FFT round-off can dip a hair below zero
        estimate *= correction * inv_reach
        if on_progress is not None:
            # "estimate" is a callable, so a caller that wants the picture after each iteration can have it
            # (the PSNR-against-iterations curve) while the others pay nothing.
            info = {"message": f"Richardson-Lucy: iteration {i + 1} of {total}", "estimate": _current(canvas, estimate)}
            on_progress(i + 1, total, info)
    return canvas.crop(estimate, offset=float(_RL_OFFSET))


def _current(canvas: _Canvas, estimate: np.ndarray):
    """A callable returning the picture that ``estimate`` holds now, as H x W x C float32 in [0, 1]."""
    return lambda: canvas.crop(estimate, offset=float(_RL_OFFSET))


def unsupervised_wiener(
    image: np.ndarray,
    kernel: np.ndarray | None,
    *,
    rng: np.random.Generator | int | None = None,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> np.ndarray:
    """Unsupervised Wiener-Hunt deconvolution: the regularisation is estimated, not given.

    Wraps :func:`skimage.restoration.unsupervised_wiener` (Orieux et al. 2010: a Gibbs sampler that
    estimates the noise and image-prior levels along with the image; Laplacian prior) per channel. The
    sampler assumes circular blur, so the photo is placed on a padded canvas whose padding is filled
    with the re-blurred result of :func:`wiener` with unknown boundaries: the canvas is then exactly
    a circular blur outside the photo and the photo itself inside (see the module notes). It is the
    slowest of the three methods, 30 to 200 sampler steps of float64 FFTs per channel, a few seconds
    for a 512 x 512 photo, but it needs no parameter at all.

    Parameters
    ----------
    image : ndarray
        Blurred image, float32 RGB, H x W x 3, values in [0, 1], at least 4 x 4 pixels.
    kernel : ndarray
        The blur kernel: 2-D, non-negative, summing to 1 (within 1 %).
    rng : numpy.random.Generator or int, optional
        Randomness for the sampler (a generator or a seed). ``None`` means a generator seeded with 0,
        so that the same input always gives the same output.
    on_progress : callable, optional
        ``on_progress(done, total, info)`` after each channel; it does not change the result.
    cancel : callable, optional
        Returns True to stop; checked at every sampler step, raising :class:`Cancelled`.

    Returns
    -------
    ndarray
        The restored image, float32, H x W x 3, clipped to [0, 1].

    Raises
    ------
    ValueError
        If the kernel is missing or invalid, the image is not H x W x 3 in [0, 1], or ``rng`` is neither
        a generator, a seed nor None.
    Cancelled
        If ``cancel`` returned True.
    """
    method = "Unsupervised Wiener deconvolution"
    img, k = _check_inputs(image, kernel, method)
    check_callbacks(on_progress, cancel)
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        rng = np.random.default_rng(0 if rng is None else int(rng))
    elif not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, an integer seed or None; got {type(rng).__name__}.")
    # Fill the padding so that the canvas is exactly a circular blur: outside the photo, the re-blurred
    # Wiener estimate with unknown boundaries; inside, the photo itself.
    canvas, estimate = _wiener_canvas(
        img, k, _nsr_from(img, k, estimate_noise_sigma(img)), "gradient", "unknown", method, None, cancel
    )
    data = sfft.irfft2(
        sfft.rfft2(estimate, workers=fft_workers()) * canvas.otf, s=canvas.shape, workers=fft_workers()
    ).astype(np.float64)
    data[(slice(None), *canvas.picture)] = _channels_first(img, np.float64)
    params = {"callback": (lambda _sample: _check_cancel(cancel, method)) if cancel is not None else None}
    out = np.empty_like(data)
    channels = data.shape[0]
    for c in range(channels):
        _check_cancel(cancel, method)
        # skimage places the small kernel with its ir2tf, which centres it at (0, 0) exactly as psf2otf.
        out[c], _chains = restoration.unsupervised_wiener(data[c], k.astype(np.float64), user_params=params, rng=rng)
        if on_progress is not None:
            on_progress(c + 1, channels, {"message": f"Unsupervised Wiener: channel {c + 1} of {channels}"})
    return canvas.crop(out)
