"""Blind kernel estimation: find the blur of a photo from the photo alone.

The estimate follows the coarse-to-fine MAP scheme of the camera-shake literature. On a pyramid of the
photo's luminance, from a 3-pixel kernel up to the largest size asked for, two steps alternate
(:mod:`deblur_core.classical.l0_map`):

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
``LARGE_NOISE_SLOPE`` times the sigma). Where both tests refused, the smaller estimate is still kept if the two
nearly agree (``DETAIL_AGREEMENT``) and the photo lacks the fine detail the kernel removes (``DETAIL_ACCEPT``), at a
low confidence. Otherwise the photo is left as it is, reported as a fallback, never restored with a wild kernel. A
photo too small for a held-out crop beside the estimate's is cut in two (:mod:`deblur_core.classical.regions`): the
estimate sees the larger part, the test the other, and a kernel that passes is estimated again on the whole region
(at the smaller size, that estimate starts ahead, on the thread the smaller candidate frees, and is dropped if the
decision keeps another). The kept kernel is then refined on the whole region, with a kernel step that allows no
negative weight (:mod:`deblur_core.classical.kernel_solve`), which keeps the faint part of a camera-shake trail. On
training photos, agreement gained about twice as much as scoring each candidate by the MAP objective on a held-out
crop, which prefers "no blur" whenever a kernel is uncertain and cannot tell a blur from fine texture. Gaussian, disk
and line kernels fitted to each estimate's second moments (:mod:`deblur_core.classical.kernel_fit`) are kept in
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from deblur_core.classical.detail import DETAIL_LIMIT, MILD_SPREAD, detail_ratio
from deblur_core.classical.kernel_fit import FIT_SIMILARITY, kernel_axes, nearest_fit, parametric_fits
from deblur_core.classical.kernel_fit import similarity as _similarity
from deblur_core.classical.l0_map import (
    Settings,
    Spectra,
    coarse_to_fine,
    map_energy,
    odd,
    on_canvas,
    pyramid_sizes,
    rounds,
)
from deblur_core.classical.noise import estimate_noise_sigma
from deblur_core.classical.regions import MIN_REGION, check_region, choose_region, crop, regions
from deblur_core.image import check_image, rgb_to_luma
from deblur_core.kernels import identity_kernel, normalize_kernel
from deblur_core.progress import CancelFn, ProgressFn, check_callbacks, check_cancel

__all__ = ["KernelEstimate", "choose_region", "estimate_kernel", "kernel_axes", "nearest_fit"]

ESTIMATE_THREADS = max(1, min(4, os.cpu_count() or 1))
MAX_ESTIMATE_SIZE = 51
# The smaller estimate, for compact blurs, lightly regularised; the larger, for long motion and shake, from the crop
# denoised, the L0 weight divided by 1.3 per iteration and the L2 weight tripled (on 41 training photos with blurs of
# 16 px and more, Wiener's gain +1.76 dB instead of +0.31; the true kernel +5.16); that costs compact blurs 0.4 dB.
SMALL_SETTINGS = Settings(decay=1.1, kernel_l2=0.1, denoise=False)
LARGE_SETTINGS = Settings(decay=1.3, kernel_l2=0.3, denoise=True)
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
# with its L0 latent picture must explain the photo (see map_energy) at most this much worse than no blur
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
# Where both tests refused, the smaller estimate is still kept if the two estimates nearly agree (at least
# DETAIL_AGREEMENT) and the photo holds no more fine detail than its noise where the kernel removes it (detail_ratio
# above 0 and at most DETAIL_ACCEPT): the held-out test leans towards "no blur" on a noisy photo, and the missing
# detail is evidence of its own that the kernel is the photo's blur. Chosen on 299 whole training photos (at most
# 512 px, 12 % sharp, 25 % thin traces, the rest the training mixture, noise 0.005-0.02) in two halves: the learned
# deconvolver's mean gain over the blurred photo +2.320 -> +2.455 dB on the half it was chosen on, +2.084 -> +2.199
# on the other (cases more than 0.5 dB worse 4 -> 4 and 5 -> 6); 14 photos changed, none of them sharp (the sharp
# photos the tests refused measured 2.0 and more).
DETAIL_AGREEMENT = 0.85
DETAIL_ACCEPT = 1.0
DETAIL_CONFIDENCE = 0.25


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


def refined_settings(settings: Settings) -> Settings:
    """The settings of the refinement: the same, with the non-negative kernel step (see REFINE_L2)."""
    return replace(settings, kernel_l2=settings.kernel_l2 * REFINE_L2, solve_steps=REFINE_ITERATIONS, cut=REFINE_CUT)


def _denoised(grey: np.ndarray, sigma: float) -> np.ndarray:
    """The crop after light non-local-means denoising (8-bit, strength DENOISE_STRENGTH x sigma); as it is when
    the noise is below DENOISE_ABOVE."""
    if sigma <= DENOISE_ABOVE:
        return grey
    u8 = np.clip(grey * 255 + 0.5, 0, 255).astype(np.uint8)
    h = DENOISE_STRENGTH * sigma * 255
    return cv2.fastNlMeansDenoising(u8, None, h=h, templateWindowSize=5, searchWindowSize=13).astype(np.float32) / 255


def prepared_crop(grey: np.ndarray, sigma: float, settings: Settings) -> np.ndarray:
    """The crop as an estimate with ``settings`` sees it: denoised when its settings say so."""
    return _denoised(grey, sigma) if settings.denoise else grey


def _candidates(
    pool: ThreadPoolExecutor, crop: np.ndarray, sigma: float, sizes: list[int], cancel: CancelFn | None, tick
) -> Callable[[], dict[str, np.ndarray]]:
    """Start an estimate per kernel size on ``pool`` (the smaller with SMALL_SETTINGS, the larger with LARGE_SETTINGS,
    each from the crop as its settings prepare it); return the wait for them, which gives the estimates and the
    parametric fits that resemble one, by name."""
    jobs = [(sizes[0], SMALL_SETTINGS)] + [(size, LARGE_SETTINGS) for size in sizes[1:]]
    seen = {settings.denoise: prepared_crop(crop, sigma, settings) for _, settings in jobs}  # each crop once
    # The sizes are independent: on threads of their own (the FFTs and NumPy release Python's lock).
    started = [
        pool.submit(coarse_to_fine, seen[settings.denoise], size, cancel, tick, settings) for size, settings in jobs
    ]

    def wait() -> dict[str, np.ndarray]:
        candidates: dict[str, np.ndarray] = {}
        for size, future in zip(sizes, started, strict=True):
            found = normalize_kernel(future.result())
            candidates[f"estimated {size} px"] = found
            # A fitted Gaussian, disk or line competes only where it looks like the estimate itself: a
            # smooth Gaussian would otherwise be picked for a motion blur now and then.
            for name, fit in parametric_fits(found).items():
                if name not in candidates and _similarity(fit, found) >= FIT_SIMILARITY:
                    candidates[name] = fit
        return candidates

    return wait


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
    max_size = _checked_size(max_size, img)
    grey = rgb_to_luma(img).astype(np.float32)
    whole, box, held = regions(grey, check_region(region, grey.shape) if region is not None else None)
    seen, check_crop = crop(grey, box), crop(grey, held)
    sigma = estimate_noise_sigma(crop(img, box))
    sizes = sorted({max_size, max(5, odd(max_size * SMALLER_SIZE))})
    steps = _Steps(
        sum(len(pyramid_sizes(s)) for s in sizes) + 1 + len(pyramid_sizes(max_size) if whole != box else [1]),
        on_progress,
    )
    abandon = threading.Event()
    with ThreadPoolExecutor(max_workers=min(ESTIMATE_THREADS, len(sizes))) as pool:
        wait = _candidates(pool, seen, sigma, sizes, cancel, steps.tick)
        ahead = _start_ahead(pool, grey, (whole, box), sizes[0], sigma, _either(cancel, abandon.is_set))
        candidates = wait()
        check_cancel(cancel, "Kernel estimation stopped on request.")
        small = candidates[f"estimated {sizes[0]} px"]
        large = candidates[f"estimated {sizes[-1]} px"] if len(sizes) > 1 else None
        source, scores, kept = _decide(small, large, check_crop, sigma, sizes, crop(grey, whole))
        steps.tick()
        fallback = kept is None
        confidence = 0.0 if fallback else _confidence(scores, kept is small, sigma)
        if kept is not small:
            abandon.set()
        ready = ahead if kept is small else None
        # The refinement's FFTs keep one worker each: SciPy's two workers made it slower at these sizes.
        kernel, box = _kernel_to_use(
            kept, kept is small, sizes, img, grey, (whole, box), sigma, candidates, cancel, steps, ready
        )
    steps.finish()
    return KernelEstimate(kernel, confidence, box, time.perf_counter() - t0, fallback, source, scores, candidates)


def _checked_size(max_size, img: np.ndarray) -> int:
    """``max_size`` made odd; ValueError unless it is a whole number from 5 to MAX_ESTIMATE_SIZE and the photo is at
    least MIN_REGION a side."""
    if isinstance(max_size, bool) or int(max_size) != max_size or not 5 <= max_size <= MAX_ESTIMATE_SIZE:
        raise ValueError(f"The largest kernel size must be a whole number from 5 to {MAX_ESTIMATE_SIZE} pixels.")
    if min(img.shape[:2]) < MIN_REGION:
        raise ValueError(f"Kernel estimation needs a photo of at least {MIN_REGION} pixels a side.")
    return odd(max_size)


class _Steps:
    """The estimate's progress, reported one step at a time and in order from the estimating threads."""

    def __init__(self, total: int, on_progress: ProgressFn | None):
        self.total, self.done, self.on_progress, self.lock = total, 0, on_progress, threading.Lock()

    def tick(self) -> None:
        with self.lock:
            self.done += 1
            if self.on_progress is not None:
                self.on_progress(
                    self.done, self.total, {"message": f"Estimating the blur: step {self.done} of {self.total}"}
                )

    def finish(self) -> None:
        """The last report says done, also when the steps counted for estimating again were not needed."""
        if self.done < self.total:
            self.done = self.total - 1
            self.tick()


def _start_ahead(pool: ThreadPoolExecutor, grey: np.ndarray, parts, size: int, sigma: float, cancel: CancelFn):
    """Where the photo is cut in two (``parts``: the whole region and the part the candidates see), a kernel that
    passes is estimated again on the whole region. At the smaller ``size`` that estimate depends on nothing the
    decision finds, so it starts on ``pool`` now, to run on the thread the smaller candidate frees while the larger
    one runs; ``cancel`` abandons it (at its next round) when the decision keeps another. Returns its future, or None
    where there is nothing to start (the photo was not cut, or there is one thread)."""
    whole, seen = parts
    if whole == seen or ESTIMATE_THREADS < 2:
        return None
    region = prepared_crop(crop(grey, whole), sigma, SMALL_SETTINGS)  # not denoised: the sigma does not enter
    return pool.submit(_again, region, size, SMALL_SETTINGS, cancel)


def _kernel_to_use(kept, smaller: bool, sizes: list[int], img, grey, parts, sigma, candidates, cancel, steps, ready):
    """``(kernel, region)``: the identity on a fallback; else the kept estimate refined on the whole region (see
    REFINE_L2), ``parts`` being ``(whole region, the part the estimate saw)``: made again on the whole region with its
    finest level refined where it saw only a part (``ready``: that estimate's future, where it was started ahead),
    else refined by REFINE_ROUNDS more rounds at full resolution; added to ``candidates``."""
    whole, seen = parts
    if kept is None:
        return identity_kernel(), whole
    size, settings = (sizes[0], SMALL_SETTINGS) if smaller else (sizes[-1], LARGE_SETTINGS)
    if ready is not None:
        kernel = ready.result()
    elif whole != seen:
        region = prepared_crop(crop(grey, whole), estimate_noise_sigma(crop(img, whole)), settings)
        kernel = _again(region, size, settings, cancel, steps.tick)
    else:
        check_cancel(cancel, "Kernel estimation stopped on request.")
        region = prepared_crop(crop(grey, whole), sigma, settings)
        kernel = rounds(Spectra(region, size), on_canvas(kept, size), size, refined_settings(settings), REFINE_ROUNDS)
        steps.tick()
    kernel = normalize_kernel(kernel)
    candidates[f"estimated {size} px, refined"] = kernel
    return kernel, whole


def _again(region: np.ndarray, size: int, settings: Settings, cancel: CancelFn | None, tick=None) -> np.ndarray:
    """The estimate of ``size`` px made again on the whole ``region`` (as ``settings`` prepare it), its finest level
    refined (``refined_settings``)."""
    return coarse_to_fine(region, size, cancel, tick or (lambda: None), settings, finest=refined_settings(settings))


def _either(cancel: CancelFn | None, abandoned: Callable[[], bool]) -> CancelFn:
    """A cancel check that stops when the caller's ``cancel`` or ``abandoned`` says so."""
    return lambda: abandoned() or (cancel is not None and bool(cancel()))


def held_out_limit(sigma: float, smaller: bool) -> float:
    """How much worse than no blur an estimate may explain the held-out crop, for a photo of noise ``sigma``: the
    smaller estimate ``SMALL_HELD_OUT + SMALL_NOISE_SLOPE * sigma``, the larger ``HELD_OUT_TOLERANCE +
    LARGE_NOISE_SLOPE * sigma``."""
    if smaller:
        return SMALL_HELD_OUT + SMALL_NOISE_SLOPE * sigma
    return HELD_OUT_TOLERANCE + LARGE_NOISE_SLOPE * sigma


def _confidence(scores: dict, smaller: bool, sigma: float) -> float:
    """0.05 to 1: for the smaller estimate its agreement with the larger (at most DETAIL_CONFIDENCE, "low", where it
    was kept on the fine-detail evidence alone), for the larger its held-out fit."""
    if smaller:
        value = (scores["agreement"] - AGREEMENT) / (1 - AGREEMENT)
        held = scores.get("held-out energy")
        if held is None or held > held_out_limit(sigma, smaller=True):
            value = min(value, DETAIL_CONFIDENCE)
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
    denoised = functools.cache(lambda: prepared_crop(check, sigma, LARGE_SETTINGS))  # made once, when first needed
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
    if spread >= MIN_SPREAD and agreement >= DETAIL_AGREEMENT:  # a too detailed one measured above DETAIL_ACCEPT
        if "fine detail" not in scores:
            scores["fine detail"] = detail_ratio(region, small, sigma)
        if 0 < scores["fine detail"] <= DETAIL_ACCEPT:  # the detail the kernel removes is missing: see DETAIL_ACCEPT
            return "estimated", scores, small
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
        blurred_energy, sharp_energy = pool.map(lambda k: map_energy(crop, k), (kernel, identity_kernel()))
    return blurred_energy / sharp_energy - 1
