"""Blind kernel estimation: find the blur of a photo from the photo alone.

The estimate follows the coarse-to-fine MAP scheme of the camera-shake literature. On a pyramid of the
photo's luminance, from a 3-pixel kernel up to the largest size asked for, two steps alternate:

- the *latent* (sharp) picture is estimated with an L0 prior on its gradients (most pixels have no
  gradient, a few have a strong one), solved by half-quadratic splitting with FFTs; it keeps only the
  salient edges, which is what the kernel step needs;
- the *kernel* is the least-squares fit, in the gradient domain, of those edges blurred by it to the
  photo's gradients, with a small L2 penalty; negatives and weak weights are cut and stray fragments
  dropped. Only the latent's edges where the photo has a broad edge take part (Xu and Jia's r-map,
  ``EDGE_RATIO``): thin lines and fine texture, whose gradients cancel within a few pixels, pull the
  kernel towards a compact blob.

Robustness comes from around that core. The crop it works on is the most edge-rich, unsaturated
square of the photo (or the one given). Two estimates are made: one at 0.6 of the largest size asked
for, lightly regularised, for compact blurs; one at the largest size, from the crop after non-local-means
denoising and more strongly regularised, for long motion and camera shake (see ``LARGE_SETTINGS``). The
first evidence is whether they agree: a real blur gives the same kernel whatever room it is given, while
an estimate driven by texture or noise comes out differently each time. The smaller estimate is kept
when the two agree (normalised correlation at least ``AGREEMENT``) and it spreads at least ``MIN_SPREAD``
px, and when, on a second crop the estimate did not use, it explains the photo by the estimation's own
objective at most ``SMALL_HELD_OUT`` (plus ``SMALL_NOISE_SLOPE`` times the noise sigma) worse than no blur
does; a mild one (under ``MILD_SPREAD`` px) must also not meet fine detail it would have removed
(:func:`detail_ratio`). Where they disagree because the larger estimate reaches beyond what the smaller can
hold, the larger one is kept if it passes the held-out test at ``HELD_OUT_TOLERANCE`` (plus
``LARGE_NOISE_SLOPE`` times the sigma). Otherwise the photo is left as it is, reported as a fallback, never
restored with a wild kernel. A photo too small for a held-out crop beside the estimate's is cut in two
(:mod:`deblur_core.classical.regions`): the estimate sees the larger part, the test the other, and a kernel that
passes is estimated again on the whole region. The kept kernel is then refined on the whole region, with a kernel
step that allows no negative weight (:mod:`deblur_core.classical.kernel_solve`), which keeps the faint part of a
camera-shake trail. On training photos,
agreement gained about twice as much as scoring each candidate by the MAP objective on a held-out crop, which
prefers "no blur" whenever a kernel is uncertain and cannot tell a blur from fine texture. Gaussian, disk and
line kernels fitted to each estimate's second moments (:mod:`deblur_core.classical.kernel_fit`) are kept in
``candidates`` for display; they lost to the estimate there, so they are not used.

References
----------
1. Pan, Hu, Su and Yang, "Deblurring text images via L0-regularized intensity and gradient prior",
   CVPR 2014.
2. Xu, Zheng and Jia, "Unnatural L0 sparse representation for natural image deblurring", CVPR 2013.
3. Cho and Lee, "Fast motion deblurring", SIGGRAPH Asia 2009.
4. Xu and Jia, "Two-phase kernel estimation for robust motion deblurring", ECCV 2010.
5. Krishnan, Tay and Fergus, "Blind deconvolution using a normalized sparsity measure", CVPR 2011.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from deblur_core.classical.detail import DETAIL_LIMIT, MILD_SPREAD, detail_ratio
from deblur_core.classical.fourier import psf2otf
from deblur_core.classical.kernel_fit import FIT_SIMILARITY, kernel_axes, nearest_fit, parametric_fits
from deblur_core.classical.kernel_fit import similarity as _similarity
from deblur_core.classical.kernel_solve import positive_kernel
from deblur_core.classical.noise import estimate_noise_sigma
from deblur_core.classical.regions import MIN_REGION, check_region, choose_region, crop, regions
from deblur_core.image import check_image, rgb_to_luma
from deblur_core.kernels import identity_kernel, normalize_kernel
from deblur_core.progress import CancelFn, ProgressFn, check_callbacks, check_cancel

__all__ = ["KernelEstimate", "choose_region", "estimate_kernel", "kernel_axes", "nearest_fit"]

ESTIMATE_THREADS = max(1, min(4, os.cpu_count() or 1))
MAX_ESTIMATE_SIZE = 51
# Latent-step L0 weight: start, floor, the splitting's penalty growth (2x, not 3x: on 60 training crops of thin
# traces, 21 and 23 of 30 within Levin's error ratio 3 instead of 18 and 19); the kernel step's cut; iterations.
LAMBDA_START = 4e-3
LAMBDA_FLOOR = 2e-3
BETA_MAX = 1e5
BETA_GROWTH = 2.0
KERNEL_CUT = 0.1
ITERATIONS = 6
# The kernel step uses the latent's gradients only where the photo's, summed over an EDGE_WINDOW-px square, keep
# EDGE_RATIO of their summed magnitude (plus EDGE_FLOOR): Xu and Jia's r-map (BENCHMARKS.md, *Only broad edges*).
EDGE_RATIO = 0.2
EDGE_WINDOW = 5
EDGE_FLOOR = 4 / 255


@dataclass(frozen=True)
class _Settings:
    """How one estimate is made: the L0 weight's division per iteration, the kernel step's L2 weight (relative to the
    mean gradient energy), whether the crop is denoised first, the kernel step's non-negative solve steps (0: the
    clipped unconstrained fit) and the share of the peak below which its weights are cut."""

    decay: float
    kernel_l2: float
    denoise: bool
    solve_steps: int = 0
    cut: float = KERNEL_CUT


# The smaller estimate, for compact blurs, lightly regularised; the larger, for long motion and shake, from the crop
# denoised, the L0 weight divided by 1.3 per iteration and the L2 weight tripled (on 41 training photos with blurs of
# 16 px and more, Wiener's gain +1.76 dB instead of +0.31; the true kernel +5.16); that costs compact blurs 0.4 dB.
SMALL_SETTINGS = _Settings(decay=1.1, kernel_l2=0.1, denoise=False)
LARGE_SETTINGS = _Settings(decay=1.3, kernel_l2=0.3, denoise=True)
# The kept kernel is refined on the whole region (where the photo was cut in two, the whole-region estimate's finest
# level; else REFINE_ROUNDS more rounds at full resolution from it, about 0.3 s), its kernel step solved with no
# negative weight (kernel_solve.positive_kernel), the L2 weight REFINE_L2 times the estimate's, weights cut below
# REFINE_CUT of the peak: the unconstrained fit's negative ripples are as large as a shake trace's faint trail, and
# KERNEL_CUT, which clears them, erases it. On 180 training crops (BENCHMARKS.md, *A refinement that keeps the faint
# trail*) Wiener's mean gain with the kept kernel rose from +1.48 to +1.91 dB, cases more than 0.5 dB worse 13 -> 10;
# no sharp photo is changed (the decision is untouched).
REFINE_L2 = 0.3
REFINE_CUT = 0.02
REFINE_ITERATIONS = 100
REFINE_ROUNDS = 2
# Non-local means strength in units of the photo's noise sigma, applied only above this sigma.
DENOISE_STRENGTH = 1.2
DENOISE_ABOVE = 0.003
SMALLER_SIZE = 0.6
"""The smaller estimate's kernel size, relative to the largest asked for."""
# The two estimates (at the largest size and SMALLER_SIZE of it) must be this similar to be believed, and the smaller
# must spread MIN_SPREAD px (along its long axis) to count as a blur. Agreement from AGREEMENT to 1 is the confidence.
AGREEMENT = 0.9
MIN_SPREAD = 1.0
# ... and on a second crop the estimate did not see (denoised as the larger estimate's crop is), the kernel
# with its L0 latent picture must explain the photo (see _map_energy) at most this much worse than no blur
# does: a kernel that fits only its own crop is not the photo's blur. The smaller estimate may be SMALL_HELD_OUT
# worse, the larger HELD_OUT_TOLERANCE. The test leans towards "no blur" the more the photo is noisy (the denoised
# crop keeps a grain that the identity's latent picture explains at no cost), so both limits grow with the noise
# sigma the photo reads, by SMALL_NOISE_SLOPE and LARGE_NOISE_SLOPE per unit of sigma. Each limit was chosen on
# training photos in two halves (one to choose, one to check) with sharp photos among them that no limit may change;
# the searches are in BENCHMARKS.md (*Limits that grow with the noise*, *A held-out test that holds out*). A photo
# with no room for a crop apart beside the estimate's is cut in two (regions.regions): before, the test saw the data
# the kernel was fitted to, and on 266 training crops a sharp photo lost 16 dB.
HELD_OUT_TOLERANCE = 0.1
SMALL_HELD_OUT = 0.05
SMALL_NOISE_SLOPE = 3.0
LARGE_NOISE_SLOPE = 6.0
# When they disagree because the larger estimate reaches beyond what the smaller can hold (its extent more
# than the smaller size minus LARGE_MARGIN, and at least LARGE_BLUR px), the larger one is kept if it spreads
# MIN_SPREAD and passes the held-out test (held_out_limit): on 132 blurred and 25 sharp training photos, Wiener's
# gain with the kept estimate rose from +1.58 to +1.95 dB (camera shake +0.92 to +1.99), no sharp photo changed.
LARGE_MARGIN = 4
LARGE_BLUR = 16


@dataclass(frozen=True)
class KernelEstimate:
    """What :func:`estimate_kernel` found.

    Attributes
    ----------
    kernel : ndarray
        float32, odd-sized, non-negative, summing to 1 (the 1 x 1 identity when ``fallback``).
    confidence : float
        0 (no evidence) to 1: for the smaller estimate, how closely the estimates at two sizes agree, from
        ``AGREEMENT`` (0) to identical (1); for the larger, how much better than no blur it explains the
        held-out crop (at least 0.05, and 1 at its limit, :func:`held_out_limit`, better); 0 on a fallback.
    region : tuple of int
        ``(x, y, width, height)`` of the crop the kernel was estimated from, in photo pixels.
    seconds : float
        Wall time of the estimate.
    fallback : bool
        True when the kernel is not used: the kernel is then the identity (the photo is left as it is).
    source : str
        ``"estimated"``; on a fallback ``"no blur found"`` (the estimate is too small to be a blur, or the
        photo holds the fine detail a mild one would have removed) or ``"unsure"`` (the estimates at two
        sizes disagree, or the kernel does not explain another part of the photo).
    scores : dict
        The evidence the decision used: ``"agreement"`` (normalised correlation of the two estimates),
        ``"spread"`` (px, the smaller estimate's standard deviation along its long axis), where both
        pass ``"held-out energy"`` (how much worse than no blur the smaller kernel explains the second
        crop, denoised: 0.05 is 5 % worse, negative is better), for a mild smaller estimate ``"fine detail"``
        (:func:`detail_ratio`), and where the larger estimate was weighed, ``"larger held-out energy"``, the
        held-out energy of the larger one.
    candidates : dict
        The estimates by their size (``"estimated 19 px"``), the kept one refined on the whole region (``"estimated
        19 px, refined"``, the kernel used), and the Gaussian, disk and line kernels fitted to the first
        (``"gaussian fit"``, ...), for display.
    """

    kernel: np.ndarray
    confidence: float
    region: tuple[int, int, int, int]
    seconds: float
    fallback: bool
    source: str
    scores: dict = field(default_factory=dict)
    candidates: dict = field(default_factory=dict)

    def confidence_words(self) -> str:
        """The confidence in words for people: high, medium, low, or that no blur was found."""
        if self.fallback:
            return "no clear blur found" if self.source == "no blur found" else "too uncertain to use"
        if self.confidence >= 0.6:
            return "high"
        return "medium" if self.confidence >= 0.3 else "low"

    def fallback_reason(self, past: bool = False) -> str:
        """Why the kernel is not used, as a clause: 'no clear blur found' or 'the estimate is too uncertain to
        use' ('... was found', '... was ...' with ``past``); '' when it is used."""
        if not self.fallback:
            return ""
        if self.source == "no blur found":
            return "no clear blur was found" if past else "no clear blur found"
        return f"the estimate {'was' if past else 'is'} too uncertain to use"

    def size_text(self) -> str:
        """'15 x 15 px'."""
        h, w = self.kernel.shape
        return f"{w} x {h} px"


def _odd(n: float) -> int:
    n = int(round(n))
    return n if n % 2 else n + 1


def _periodic(grey: np.ndarray, pad: int) -> np.ndarray:
    """Mirror-pad by ``pad`` (and on the bottom and right up to a size the FFT factors quickly), then blend the
    margin into a blur of itself, so the FFT's wrap-around adds no edge."""
    extras = [sfft.next_fast_len(n + 2 * pad, real=True) - n - 2 * pad for n in grey.shape]
    out = np.pad(grey, [(pad, pad + extra) for extra in extras], mode="reflect")
    ramps = []
    for n, extra in zip(out.shape, extras, strict=True):
        i = np.arange(n, dtype=np.float32)
        ramps.append(np.clip(np.minimum(i, n - 1 - extra - i) / pad, 0, 1))  # 0 at the canvas edge, 1 on the photo
    weight = np.outer(*ramps)
    return weight * out + (1 - weight) * ndimage.gaussian_filter(out, pad / 2, mode="wrap")


class _Spectra:
    """The FFTs one pyramid level reuses (in single precision): the photo's and the two difference
    operators'; ``inside`` is where the photo lies on the padded canvas."""

    def __init__(self, grey: np.ndarray, pad: int):
        self.padded = _periodic(grey.astype(np.float32), pad)
        self.shape = self.padded.shape
        self.inside = (slice(pad, pad + grey.shape[0]), slice(pad, pad + grey.shape[1]))
        self.photo = sfft.rfft2(self.padded)
        self.dx = _otf(np.array([[0.0, -1.0, 1.0]]), self.shape)
        self.dy = _otf(np.array([[0.0], [-1.0], [1.0]]), self.shape)
        self.dd = np.abs(self.dx) ** 2 + np.abs(self.dy) ** 2

    @functools.cached_property
    def edges(self) -> np.ndarray:
        """1 where the photo has a broad edge (its r-map at least EDGE_RATIO), else 0, on the padded canvas."""
        y = self.padded
        gx = np.diff(y, axis=1, append=y[:, :1])
        gy = np.diff(y, axis=0, append=y[:1, :])
        net = np.hypot(*(ndimage.uniform_filter(g, EDGE_WINDOW, mode="wrap") for g in (gx, gy)))
        total = ndimage.uniform_filter(np.hypot(gx, gy), EDGE_WINDOW, mode="wrap") + EDGE_FLOOR
        return (net >= EDGE_RATIO * total).astype(np.float32)


def _otf(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """psf2otf in single precision."""
    return psf2otf(kernel, shape).astype(np.complex64)


def _latent(spec: _Spectra, kernel: np.ndarray, weight: float) -> np.ndarray:
    """The spectrum of the L0-gradient latent picture, by half-quadratic splitting."""
    k = _otf(kernel, spec.shape)
    kk = np.abs(k) ** 2
    ky = np.conj(k) * spec.photo
    x = ky / (kk + 1e-3 * spec.dd + 1e-8)
    beta = 2 * weight
    while beta < BETA_MAX:
        gx = sfft.irfft2(x * spec.dx, s=spec.shape)
        gy = sfft.irfft2(x * spec.dy, s=spec.shape)
        keep = (gx**2 + gy**2) >= weight / beta
        gx *= keep
        gy *= keep
        aux = np.conj(spec.dx) * sfft.rfft2(gx) + np.conj(spec.dy) * sfft.rfft2(gy)
        x = (ky + beta * aux) / (kk + beta * spec.dd)
        beta *= BETA_GROWTH
    return x


def _kernel_step(spec: _Spectra, latent: np.ndarray, size: int, settings: _Settings) -> np.ndarray | None:
    """The kernel fitting the latent's gradients at the photo's broad edges to the photo's; None if nothing positive
    is left."""
    gx, gy = (sfft.rfft2(sfft.irfft2(latent * d, s=spec.shape) * spec.edges) for d in (spec.dx, spec.dy))
    bx, by = spec.photo * spec.dx, spec.photo * spec.dy
    energy = np.abs(gx) ** 2 + np.abs(gy) ** 2
    cross = np.conj(gx) * bx + np.conj(gy) * by
    l2 = settings.kernel_l2 * float(np.mean(energy))
    k = positive_kernel(energy, cross, spec.shape, size, l2, settings.solve_steps)
    if k.max() <= 0:
        return None
    k[k < settings.cut * k.max()] = 0
    labels, count = ndimage.label(k > 0, structure=np.ones((3, 3)))
    if count > 1:
        mass = ndimage.sum(k, labels, range(1, count + 1))
        k[np.isin(labels, 1 + np.flatnonzero(mass < 0.1 * mass.max()))] = 0
    return _centred(k / k.sum())


def _centred(k: np.ndarray) -> np.ndarray:
    """Rolled by whole pixels so its centre of mass is on the centre pixel (no interpolation blur)."""
    size = k.shape[0]
    cy, cx = ndimage.center_of_mass(k)
    return np.roll(k, (int(round(size // 2 - cy)), int(round(size // 2 - cx))), axis=(0, 1))


def _pyramid_sizes(max_size: int) -> list[int]:
    sizes = [max_size]
    while sizes[-1] > 5:
        sizes.append(max(3, _odd(sizes[-1] / math.sqrt(2))))
    return sizes[::-1]


def _coarse_to_fine(
    grey: np.ndarray,
    max_size: int,
    cancel: CancelFn | None,
    tick,
    settings: _Settings = SMALL_SETTINGS,
    finest: _Settings | None = None,
) -> np.ndarray:
    """One kernel estimate of at most ``max_size`` pixels from the crop ``grey``; the finest level with the settings
    ``finest`` where given."""
    kernel = None
    for size in _pyramid_sizes(max_size):
        check_cancel(cancel, "Kernel estimation stopped on request.")
        scale = size / max_size
        level = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
        if kernel is None:
            kernel = np.zeros((size, size))
            c = size // 2
            kernel[c, c - 1 : c + 2] = 1
            kernel[c - 1 : c + 2, c] = 1
        else:
            kernel = np.clip(cv2.resize(kernel, (size, size), interpolation=cv2.INTER_LINEAR), 0, None)
        kernel = kernel / kernel.sum()
        kernel = _level(_Spectra(level, size), kernel, size, finest if finest and size == max_size else settings)
        tick()
    return kernel


def _level(spec: _Spectra, kernel: np.ndarray, size: int, settings: _Settings, rounds: int = ITERATIONS) -> np.ndarray:
    """``rounds`` rounds of latent and kernel steps at one pyramid level, from ``kernel``."""
    weight = LAMBDA_START
    for _ in range(rounds):
        new = _kernel_step(spec, _latent(spec, kernel, weight), size, settings)
        if new is not None:
            kernel = new
        weight = max(weight / settings.decay, LAMBDA_FLOOR)
    return kernel


def _refined(settings: _Settings) -> _Settings:
    """The settings of the refinement: the same, with the non-negative kernel step (see REFINE_L2)."""
    return replace(settings, kernel_l2=settings.kernel_l2 * REFINE_L2, solve_steps=REFINE_ITERATIONS, cut=REFINE_CUT)


def _on_canvas(kernel: np.ndarray, size: int) -> np.ndarray:
    """``kernel`` centred on a ``size`` x ``size`` canvas (cut or padded around its centre), scaled to sum 1."""
    padded = np.pad(kernel, [(max(0, (size - n) // 2),) * 2 for n in kernel.shape]).astype(np.float32)
    y, x = ((n - size) // 2 for n in padded.shape)
    out = padded[y : y + size, x : x + size]
    return out / out.sum()


def _denoised(grey: np.ndarray, sigma: float) -> np.ndarray:
    """The crop after light non-local-means denoising (8-bit, strength DENOISE_STRENGTH x sigma); as it is when
    the noise is below DENOISE_ABOVE."""
    if sigma <= DENOISE_ABOVE:
        return grey
    u8 = np.clip(grey * 255 + 0.5, 0, 255).astype(np.uint8)
    h = DENOISE_STRENGTH * sigma * 255
    return cv2.fastNlMeansDenoising(u8, None, h=h, templateWindowSize=5, searchWindowSize=13).astype(np.float32) / 255


def _prepared(grey: np.ndarray, sigma: float, settings: _Settings) -> np.ndarray:
    """The crop as an estimate with ``settings`` sees it: denoised when its settings say so."""
    return _denoised(grey, sigma) if settings.denoise else grey


def _candidates(
    crop: np.ndarray, sigma: float, sizes: list[int], cancel: CancelFn | None, tick
) -> dict[str, np.ndarray]:
    """An estimate per kernel size (the smaller with SMALL_SETTINGS, the larger with LARGE_SETTINGS, each from
    the crop as its settings prepare it), and the parametric fits that resemble one, by name."""
    candidates: dict[str, np.ndarray] = {}
    jobs = [(sizes[0], SMALL_SETTINGS)] + [(size, LARGE_SETTINGS) for size in sizes[1:]]
    seen = {settings.denoise: _prepared(crop, sigma, settings) for _, settings in jobs}  # each crop once
    # The sizes are independent: on threads of their own (the FFTs and NumPy release Python's lock).
    with ThreadPoolExecutor(max_workers=min(ESTIMATE_THREADS, len(sizes))) as pool:
        found_by_size = list(
            pool.map(lambda job: _coarse_to_fine(seen[job[1].denoise], job[0], cancel, tick, job[1]), jobs)
        )
    for size, kernel in zip(sizes, found_by_size, strict=True):
        found = normalize_kernel(kernel)
        candidates[f"estimated {size} px"] = found
        # A fitted Gaussian, disk or line competes only where it looks like the estimate itself: a
        # smooth Gaussian would otherwise be picked for a motion blur now and then.
        for name, fit in parametric_fits(found).items():
            if name not in candidates and _similarity(fit, found) >= FIT_SIMILARITY:
                candidates[name] = fit
    return candidates


def _map_energy(grey: np.ndarray, kernel: np.ndarray) -> float:
    """The estimation's own objective for ``kernel`` on a crop: lower means the kernel explains it better.

    ``|k * x - y|^2 + lambda * #{gradients of x that are not zero}`` with ``x`` the L0 latent picture
    for that kernel, counted inside the padding. A blurred photo needs many small gradients to be
    explained without its blur (every ramp is a run of them) and few with it (a ramp is one blurred
    step); a sharp photo needs the fewest with no kernel at all, so the identity wins on it.
    """
    spec = _Spectra(grey, max(kernel.shape[0], 8))
    latent = _latent(spec, kernel, LAMBDA_FLOOR)
    x = sfft.irfft2(latent, s=spec.shape)
    fit = sfft.irfft2(latent * _otf(kernel, spec.shape), s=spec.shape)
    data_term = float(((fit - spec.padded)[spec.inside] ** 2).sum(dtype=np.float64))
    ys, xs = spec.inside
    grads = (slice(ys.start, ys.stop - 1), slice(xs.start, xs.stop - 1))
    gx = np.diff(x, axis=1)[grads]
    gy = np.diff(x, axis=0)[grads]
    return data_term + LAMBDA_FLOOR * float(((gx**2 + gy**2) > 1e-4).sum())


def estimate_kernel(
    image: np.ndarray,
    *,
    max_size: int = 31,
    region: tuple[int, int, int, int] | None = None,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> KernelEstimate:
    """Estimate the blur kernel of a photo; see the module notes for the method.

    Parameters
    ----------
    image : ndarray
        The blurred photo, float32 RGB, H x W x 3 in [0, 1], at least 64 pixels a side.
    max_size : int
        The largest kernel side to consider, 5 to 51 pixels (made odd).
    region : tuple of int, optional
        ``(x, y, width, height)`` of the part of the photo to estimate from (at least 64 x 64);
        the most edge-rich unsaturated square of up to 384 px when None.
    on_progress : callable, optional
        ``on_progress(done, total, info)`` after each pyramid level of each candidate.
    cancel : callable, optional
        Returns True to stop; raises :class:`deblur_core.progress.Cancelled`.

    Returns
    -------
    KernelEstimate

    Raises
    ------
    ValueError
        If the photo is not H x W x 3 in [0, 1] or too small, ``max_size`` is not an odd size from
        5 to 31, or ``region`` lies outside the photo or is under 64 pixels a side.
    Cancelled
        If ``cancel`` returned True.

    Examples
    --------
    >>> from deblur_core.degrade import blur
    >>> from deblur_core.kernels import gaussian_kernel
    >>> found = estimate_kernel(blur(photo, gaussian_kernel(2)))  # doctest: +SKIP
    >>> found.kernel.shape, found.confidence_words()  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    img = check_image(image)
    check_callbacks(on_progress, cancel)
    if isinstance(max_size, bool) or int(max_size) != max_size or not 5 <= max_size <= MAX_ESTIMATE_SIZE:
        raise ValueError(f"The largest kernel size must be a whole number from 5 to {MAX_ESTIMATE_SIZE} pixels.")
    max_size = _odd(max_size)
    if min(img.shape[:2]) < MIN_REGION:
        raise ValueError(f"Kernel estimation needs a photo of at least {MIN_REGION} pixels a side.")
    grey = rgb_to_luma(img).astype(np.float32)
    whole, box, held = regions(grey, check_region(region, grey.shape) if region is not None else None)
    seen, check_crop = crop(grey, box), crop(grey, held)
    sigma = estimate_noise_sigma(crop(img, box))
    sizes = sorted({max_size, max(5, _odd(max_size * SMALLER_SIZE))})
    total = sum(len(_pyramid_sizes(s)) for s in sizes) + 1 + (len(_pyramid_sizes(max_size)) if whole != box else 1)
    done, lock = [0], threading.Lock()

    def tick() -> None:  # called from the estimating threads: one report at a time, in order
        with lock:
            done[0] += 1
            if on_progress is not None:
                on_progress(done[0], total, {"message": f"Estimating the blur: step {done[0]} of {total}"})

    candidates = _candidates(seen, sigma, sizes, cancel, tick)
    check_cancel(cancel, "Kernel estimation stopped on request.")
    small = candidates[f"estimated {sizes[0]} px"]
    large = candidates[f"estimated {sizes[-1]} px"] if len(sizes) > 1 else None
    source, scores, kept = _decide(small, large, check_crop, sigma, sizes, crop(grey, whole))
    tick()
    fallback = kept is None
    confidence = 0.0 if fallback else _confidence(scores, kept is small, sigma)
    # The refinement runs alone, but its FFTs keep one worker each: SciPy's two workers made it slower at these sizes.
    kernel, box = _kernel_to_use(kept, kept is small, sizes, img, grey, whole, box, sigma, candidates, cancel, tick)
    if done[0] < total:  # the steps counted for estimating again that were not needed: the last report says done
        done[0] = total - 1
        tick()
    return KernelEstimate(kernel, confidence, box, time.perf_counter() - t0, fallback, source, scores, candidates)


def _kernel_to_use(kept, smaller: bool, sizes: list[int], img, grey, whole, seen, sigma, candidates, cancel, tick):
    """``(kernel, region)``: the identity on a fallback; else the kept estimate refined on the whole region ``whole``
    (see REFINE_L2): made again there with its finest level refined where it saw only the part ``seen``, else refined
    by REFINE_ROUNDS more rounds at full resolution; added to ``candidates``."""
    if kept is None:
        return identity_kernel(), whole
    size, settings = (sizes[0], SMALL_SETTINGS) if smaller else (sizes[-1], LARGE_SETTINGS)
    region = _prepared(crop(grey, whole), sigma if whole == seen else estimate_noise_sigma(crop(img, whole)), settings)
    if whole != seen:
        kernel = _coarse_to_fine(region, size, cancel, tick, settings, finest=_refined(settings))
    else:
        check_cancel(cancel, "Kernel estimation stopped on request.")
        kernel = _level(_Spectra(region, size), _on_canvas(kept, size), size, _refined(settings), REFINE_ROUNDS)
        tick()
    kernel = normalize_kernel(kernel)
    candidates[f"estimated {size} px, refined"] = kernel
    return kernel, whole


def held_out_limit(sigma: float, smaller: bool) -> float:
    """How much worse than no blur an estimate may explain the held-out crop, for a photo of noise ``sigma``: the
    smaller estimate ``SMALL_HELD_OUT + SMALL_NOISE_SLOPE * sigma``, the larger ``HELD_OUT_TOLERANCE +
    LARGE_NOISE_SLOPE * sigma``."""
    if smaller:
        return SMALL_HELD_OUT + SMALL_NOISE_SLOPE * sigma
    return HELD_OUT_TOLERANCE + LARGE_NOISE_SLOPE * sigma


def _confidence(scores: dict, smaller: bool, sigma: float) -> float:
    """0.05 to 1: for the smaller estimate its agreement with the larger, for the larger its held-out fit."""
    if smaller:
        value = (scores["agreement"] - AGREEMENT) / (1 - AGREEMENT)
    else:
        limit = held_out_limit(sigma, smaller=False)
        value = (limit - scores["larger held-out energy"]) / (2 * limit)
    return float(np.clip(value, 0.05, 1.0))


def _decide(
    small: np.ndarray,
    large: np.ndarray | None,
    check: np.ndarray,
    sigma: float,
    sizes: list[int],
    region: np.ndarray,
) -> tuple[str, dict, np.ndarray | None]:
    """Which estimate is the photo's blur, if any (see the module notes): its source, the evidence, the kernel kept.

    ``check`` is the held-out crop; both estimates are tested on it denoised as the larger estimate's crop was
    (noise ``sigma``), and only when the test is reached. ``sizes`` are the two estimates' sizes; ``region`` is the
    whole region the kernel comes from (luminance), where a mild smaller estimate must not meet fine detail
    (:func:`detail_ratio`).
    """
    agreement = _similarity(small, large) if large is not None else 1.0
    spread = _spread(small)
    scores = {"agreement": agreement, "spread": spread}
    denoised = functools.cache(lambda: _prepared(check, sigma, LARGE_SETTINGS))  # made once, when first needed
    too_detailed = False  # a mild smaller estimate on a photo with the fine detail it would have removed
    if spread >= MIN_SPREAD and agreement >= AGREEMENT:
        scores["held-out energy"] = _held_out(denoised(), small)
        if spread < MILD_SPREAD:
            scores["fine detail"] = detail_ratio(region, small, sigma)
            too_detailed = scores["fine detail"] > DETAIL_LIMIT
        if scores["held-out energy"] <= held_out_limit(sigma, smaller=True) and not too_detailed:
            return "estimated", scores, small
    reaches = large is not None and _extent(large) >= max(sizes[0] - LARGE_MARGIN + 1, LARGE_BLUR)
    if reaches and _spread(large) >= MIN_SPREAD:
        scores["larger held-out energy"] = _held_out(denoised(), large)
        if scores["larger held-out energy"] <= held_out_limit(sigma, smaller=False):
            return "estimated", scores, large
    return ("no blur found" if spread < MIN_SPREAD or too_detailed else "unsure"), scores, None


def _spread(kernel: np.ndarray) -> float:
    """The kernel's standard deviation along its long axis, px."""
    return math.sqrt(max(float(kernel_axes(kernel)[0][1]), 0.0))


def _extent(kernel: np.ndarray) -> int:
    """The side of the smallest square around the kernel's weights of at least 2 % of its peak, px."""
    ys, xs = np.nonzero(kernel > 0.02 * kernel.max())
    return int(max(np.ptp(ys), np.ptp(xs))) + 1


def _held_out(crop: np.ndarray, kernel: np.ndarray) -> float:
    """How much worse than no blur ``kernel`` explains ``crop`` by the estimation's objective (0.05: 5 % worse)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        blurred_energy, sharp_energy = pool.map(lambda k: _map_energy(crop, k), (kernel, identity_kernel()))
    return blurred_energy / sharp_energy - 1
