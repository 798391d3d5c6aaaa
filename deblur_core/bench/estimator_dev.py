"""The kernel estimator on training photos: ``python -m deblur_core.bench.estimator_dev``.

A development check, not a benchmark. The estimator's settings may only be chosen on photos no benchmark uses;
this builds such cases from the *training* photos (T91, BSD100, BSD400, from the training part of their
split, never the held-out tenth, never Set5, Set14, the Levin set or the GoPro pairs): centre crops of
255 px blurred by thin camera-shake traces (:func:`deblur_core.kernels.trace_kernel`) of 17 to 27 px,
noise sigma 0.01, 8-bit rounding. It reports, as the estimation benchmark does for the Levin set, the
error ratio of Levin et al. per case: the squared error of Wiener with the estimated kernel over that of
Wiener with the true one (a fallback counts the blurred photo), and the share of cases within ratios 2 and 3;
and Wiener's mean gain over the blurred photos with the estimates, with the cases it makes more than ``WORSE_BY``
dB worse.

``--compact`` draws Gaussian (sigma 1-3 px), defocus (radius 1.5-4 px) and straight motion (7-21 px) blurs
instead, the compact blurs a rule made for camera shake must not cost. ``--dim-tail`` keeps only traces with at
least ``DIM_TAIL_MASS`` of their weight below a tenth of their peak: the camera slowed at one spot (a bright
point) and swept fast elsewhere (a faint trail). Recorded camera shake is often like that; the traces drawn for
training mostly are not (a median of about 6 % of their weight lies that low). Estimates of such blurs tend to
shrink to the bright spot.

``--jitter SIGMA`` estimates every case a second time with Gaussian noise of ``SIGMA`` added to the blurred photo
(1e-4 is a fortieth of an 8-bit step: nothing a camera would notice) and reports how many decisions between a
kernel and the fallback flipped, and how many error ratios moved by more than ``JITTER_MOVE`` times: how stable
the estimate is. An estimator whose answer changes with such noise is deciding on a knife edge.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from deblur_core.bench.estimation_tables import WORSE_BY

PROG = "python -m deblur_core.bench.estimator_dev"
SIZES = (17, 19, 21, 23, 25, 27)
CROP = 255
NOISE = 0.01
DIM_TAIL_SHARE = 0.1
DIM_TAIL_MASS = 0.15
"""A trace counts as dim-tailed when at least this much of its weight lies below DIM_TAIL_SHARE of its peak."""
# With --jitter: an error ratio that moves by more than this factor between the two runs counts as moved.
JITTER_MOVE = 1.5
# The training photos used: every STRIDE-th of the training part, from an offset that picks one of four sets (no
# photo in two of them), each with the seed of its blurs and noise. A change should hold on a set it was not tried on.
STRIDE = 17
OFFSETS = {"a": (5, 2024), "b": (11, 77), "c": (3, 555), "d": (14, 99)}


def dim_mass(kernel: np.ndarray, share: float = DIM_TAIL_SHARE) -> float:
    """The share of a kernel's weight in the pixels below ``share`` of its peak."""
    k = np.asarray(kernel, np.float64)
    total = float(k.sum())
    if total <= 0:
        raise ValueError("The kernel has no positive weight.")
    return float(k[k < share * k.max()].sum() / total)


def draw_trace(rng: np.random.Generator, dim_tail: bool = False, tries: int = 1000) -> np.ndarray:
    """A thin camera-shake trace drawn in a square of 17 to 27 px; with ``dim_tail``, drawn again until it is
    dim-tailed."""
    from deblur_core.kernels import trace_kernel

    for _ in range(tries):
        kernel = trace_kernel(int(rng.choice(SIZES)), rng)
        if not dim_tail or dim_mass(kernel) >= DIM_TAIL_MASS:
            return kernel
    raise RuntimeError(f"No dim-tailed trace in {tries} draws.")


def draw_compact(rng: np.random.Generator) -> np.ndarray:
    """A Gaussian, defocus or straight-motion blur, the family and its size drawn at random."""
    from deblur_core.kernels import defocus_kernel, gaussian_kernel, motion_kernel

    family = int(rng.integers(3))
    if family == 0:
        return gaussian_kernel(float(rng.uniform(1.0, 3.0)))
    if family == 1:
        return defocus_kernel(float(rng.uniform(1.5, 4.0)))
    return motion_kernel(float(rng.uniform(7.0, 21.0)), float(rng.uniform(0.0, 180.0)))


def dev_cases(count: int, photo_set: str = "a", dim_tail: bool = False, compact: bool = False) -> list[tuple]:
    """``(sharp, kernel, blurred)`` for ``count`` training photos of ``photo_set`` ("a" to "d"): blurred by
    traces (only dim-tailed ones with ``dim_tail``), or by compact blurs with ``compact``."""
    if dim_tail and compact:
        raise ValueError("Dim-tailed traces and compact blurs are two different sets; ask for one.")
    from deblur_core.degrade import add_noise, blur, quantize
    from deblur_core.training.data import load_images
    from deblur_core.training.deconv_train import split_photos

    offset, seed = OFFSETS[photo_set]
    photos = load_images(split_photos()[0][offset::STRIDE][:count])
    rng = np.random.default_rng(seed)
    cases = []
    for photo in photos:
        h, w = photo.shape[:2]
        side = min(h, w, CROP)
        y, x = (h - side) // 2, (w - side) // 2
        sharp = photo[y : y + side, x : x + side]
        kernel = draw_compact(rng) if compact else draw_trace(rng, dim_tail)
        cases.append((sharp, kernel, quantize(add_noise(blur(sharp, kernel), NOISE, rng))))
    return cases


def error_ratios(cases: list[tuple], log=None) -> list[dict]:
    """Per case: the error ratio through Wiener (automatic ratio), whether the estimate fell back, and the gain in dB
    of Wiener's result with the estimate (the photo itself on a fallback) over the blurred photo."""
    from deblur_core.bench.estimation import error_ratio
    from deblur_core.classical.deconvolution import wiener
    from deblur_core.classical.estimate import estimate_kernel
    from deblur_core.metrics import psnr

    rows = []
    for i, (sharp, kernel, blurred) in enumerate(cases):
        found = estimate_kernel(blurred)
        result = blurred if found.fallback else wiener(blurred, found.kernel, nsr="auto")
        ratio = error_ratio(sharp, result, wiener(blurred, kernel, nsr="auto"))
        gain = psnr(sharp, result) - psnr(sharp, blurred)
        rows.append({"ratio": ratio, "fallback": found.fallback, "gain": gain})
        if log is not None:
            log(f"case {i + 1}/{len(cases)}: ratio {ratio:.2f} ({found.source}, {found.kernel.shape[0]} px)")
    return rows


def summary(rows: list[dict]) -> str:
    """One line: the shares within ratios 2 and 3, the median ratio, the fallbacks; where the rows have gains, Wiener's
    mean gain over the blurred photos and the cases it leaves more than WORSE_BY dB worse."""
    ratios = np.array([r["ratio"] for r in rows])
    n = len(ratios)
    line = (
        f"{n} cases: ratio <= 2 on {int((ratios <= 2).sum())}, <= 3 on {int((ratios <= 3).sum())} "
        f"({100 * float((ratios <= 3).mean()):.0f} %), median {float(np.median(ratios)):.2f}, "
        f"fallbacks {sum(r['fallback'] for r in rows)}"
    )
    if rows and all("gain" in r for r in rows):
        gains = np.array([r["gain"] for r in rows])
        line += f", Wiener's gain {float(gains.mean()):+.2f} dB, {int((gains < -WORSE_BY).sum())} worse"
    return line


def jittered(cases: list[tuple], sigma: float, seed: int = 7) -> list[tuple]:
    """The same cases with the blurred photo changed by Gaussian noise of ``sigma`` (kept in [0, 1])."""
    rng = np.random.default_rng(seed)
    return [
        (sharp, kernel, np.clip(blurred + rng.normal(0.0, sigma, blurred.shape), 0.0, 1.0).astype(np.float32))
        for sharp, kernel, blurred in cases
    ]


def stability(rows: list[dict], again: list[dict], factor: float = JITTER_MOVE) -> str:
    """One line comparing two runs of the same cases (``again``: the jittered photos): decisions that flipped between
    a kernel and the fallback, error ratios of kernels kept in both that moved by more than ``factor`` times, and the
    cases within ratio 3 in each."""
    flips = sum(a["fallback"] != b["fallback"] for a, b in zip(rows, again, strict=True))
    moved = sum(
        not a["fallback"] and not b["fallback"] and max(a["ratio"], b["ratio"]) > factor * min(a["ratio"], b["ratio"])
        for a, b in zip(rows, again, strict=True)
    )
    within = [sum(r["ratio"] <= 3 for r in run) for run in (rows, again)]
    return (
        f"jittered: {flips} of {len(rows)} decisions flipped, {moved} more ratios moved over {factor:g} times; "
        f"within ratio 3 {within[0]} as they are, {within[1]} jittered"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=30, help="how many training photos (default 30)")
    parser.add_argument("--set", choices=sorted(OFFSETS), default="a", help="which of four photo sets (default a)")
    kinds = parser.add_mutually_exclusive_group()
    kinds.add_argument("--dim-tail", action="store_true", help="only traces with a faint trail")
    kinds.add_argument("--compact", action="store_true", help="Gaussian, defocus and straight-motion blurs instead")
    parser.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        metavar="SIGMA",
        help="also estimate each case with noise of SIGMA added (e.g. 1e-4, a fortieth of an 8-bit step) and report "
        "how many decisions and ratios that changes: how stable the estimate is",
    )
    args = parser.parse_args(argv)
    if args.photos < 1:
        parser.error("--photos must be at least 1.")
    if not 0 <= args.jitter < 0.1:
        parser.error("--jitter must be at least 0 and under 0.1.")
    from deblur_core.settings import data_dir

    if not (data_dir() / "train").is_dir():
        print(f"skipped: the training photos are not in {data_dir() / 'train'}; nothing was measured.", file=sys.stderr)
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    cases = dev_cases(args.photos, args.set, args.dim_tail, args.compact)

    def log(text: str) -> None:
        print(text, file=sys.stderr)

    rows = error_ratios(cases, log=log)
    kind = "dim-tailed traces" if args.dim_tail else "compact blurs" if args.compact else "traces"
    line = f"set {args.set}, {kind}: {summary(rows)}"
    if args.jitter > 0:
        line += "; " + stability(rows, error_ratios(jittered(cases, args.jitter), log=log))
    print(f"{line}; {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
