"""Where a kernel is estimated from: the most edge-rich unclipped square of the photo, and a crop held out from it.

The blur of a photo is the same all over it (the estimator's assumption), so a kernel can be checked on a part
of the photo it was not estimated from: a kernel fitted to one crop's noise or texture explains another crop
worse than no blur does. :func:`regions` finds both parts, cutting a photo too small for two separate crops in
two.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["MIN_REGION", "REGION", "check_region", "choose_region", "crop", "regions"]

MIN_REGION = 64
REGION = 384
# The held-out crop's largest side; where the photo has no room for it beside the estimate's crop, the estimate
# takes SPLIT of the photo's longer side and the test the rest, if that is at least MIN_HELD_OUT px. On 266
# training photos (BENCHMARKS.md, "a held-out test that holds out"; the smaller estimate's limit then at 15 %),
# cutting at 0.6 left 6 of them more than 0.5 dB worse than blurred and no sharp photo changed; at 0.5, 10 and 2;
# at 0.7, 9 and 1.
HELD_OUT_SIDE = 256
SPLIT = 0.6
MIN_HELD_OUT = 48


def _edge_strength(grey: np.ndarray) -> np.ndarray:
    gy, gx = np.gradient(cv2.GaussianBlur(grey, (0, 0), 1.0))
    return np.hypot(gx, gy)


def choose_region(grey: np.ndarray, size: int = REGION, exclude: tuple[int, int, int, int] | None = None):
    """The ``size`` x ``size`` square with the most edge strength and the fewest clipped pixels.

    Squares are tried on a grid of quarter steps; a square with over a fifth of its pixels near
    black or white (clipped highlights hide the blur's shape) is passed over unless nothing else
    is left. ``exclude`` is a square the result must not overlap by more than a quarter.

    Returns
    -------
    tuple of int
        ``(x, y, width, height)``.
    """
    return _square(_sums(grey, _edge_strength(grey)), size, exclude)


def _sums(grey: np.ndarray, strength: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Summed-area tables of the edge strength and of the clipped pixels, which every square is scored from."""
    clipped = ((grey > 0.98) | (grey < 0.02)).astype(np.float64)
    return cv2.integral(strength), cv2.integral(clipped)


def _square(sums: tuple[np.ndarray, np.ndarray], size: int, exclude: tuple[int, int, int, int] | None):
    """:func:`choose_region` with the photo's summed-area tables (:func:`_sums`) made once by the caller."""
    integral, integral_clip = sums
    h, w = integral.shape[0] - 1, integral.shape[1] - 1
    size = int(min(size, h, w))
    step = max(1, size // 4)
    best, best_score = (0, 0, size, size), -np.inf
    for y in range(0, h - size + 1, step):
        for x in range(0, w - size + 1, step):
            if exclude is not None and _overlap((x, y, size, size), exclude) > 0.25:
                continue
            edge = integral[y + size, x + size] - integral[y, x + size] - integral[y + size, x] + integral[y, x]
            clip = (
                integral_clip[y + size, x + size]
                - integral_clip[y, x + size]
                - integral_clip[y + size, x]
                + integral_clip[y, x]
            ) / size**2
            score = edge - (1e9 if clip > 0.2 else 0.0)
            if score > best_score:
                best, best_score = (x, y, size, size), score
    return best


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Share of ``a``'s area that ``b`` covers."""
    w = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return w * h / float(a[2] * a[3])


def regions(grey: np.ndarray, region: tuple[int, int, int, int] | None) -> tuple[tuple, tuple, tuple]:
    """Where the kernel comes from, the part of it the estimate sees first, and a held-out crop apart from that
    part, each as ``(x, y, width, height)``.

    The kernel's region is ``region`` or the most edge-rich square of up to ``REGION`` px; the held-out crop is
    the most edge-rich square of up to ``HELD_OUT_SIDE`` px elsewhere, and the estimate sees the whole region.
    Where the photo has no room for both (most photos under about 640 px), the region (or the whole photo) is
    cut in two across its longer side: the estimate sees the more edge-rich ``SPLIT`` of it, the held-out test
    the rest, and once a kernel passes, it is estimated again on the whole region.
    """
    strength = _edge_strength(grey)  # once for the photo: both squares and the cut read it
    sums = _sums(grey, strength)
    whole = region or _square(sums, REGION, None)
    held = _square(sums, min(HELD_OUT_SIDE, whole[2], whole[3]), whole)
    if _overlap(held, whole) <= 0.25:
        return whole, whole, held
    x, y, w, h = region or (0, 0, grey.shape[1], grey.shape[0])
    long_side = max(w, h)
    part = min(REGION, int(round(SPLIT * long_side)))
    if long_side - part < MIN_HELD_OUT:
        return whole, whole, held  # too small to cut: the test sees the estimate's own crop
    if w >= h:
        first, second = (x, y, part, h), (x + part, y, w - part, h)
        flipped = (x + w - part, y, part, h), (x, y, w - part, h)
    else:
        first, second = (x, y, w, part), (x, y + part, w, h - part)
        flipped = (x, y + h - part, w, part), (x, y, w, h - part)
    if crop(strength, first).sum() >= crop(strength, flipped[0]).sum():
        return whole, first, second
    return (whole, *flipped)


def crop(array: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The part of ``array`` inside ``box`` = ``(x, y, width, height)``."""
    x, y, w, h = box
    return array[y : y + h, x : x + w]


def check_region(region, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``region`` as four ints inside a photo of ``shape`` and at least ``MIN_REGION`` a side; ValueError if not."""
    try:
        x, y, w, h = (int(v) for v in region)
    except (TypeError, ValueError):
        raise ValueError("The region must be four whole numbers: x, y, width, height.") from None
    if w < MIN_REGION or h < MIN_REGION:
        raise ValueError(f"The region must be at least {MIN_REGION} x {MIN_REGION} pixels.")
    if x < 0 or y < 0 or x + w > shape[1] or y + h > shape[0]:
        raise ValueError(f"The region ({x}, {y}, {w} x {h}) lies outside the {shape[1]} x {shape[0]} photo.")
    return x, y, w, h
