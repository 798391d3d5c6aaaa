"""Blind kernel estimation, measured: ``python -m deblur_core.bench.estimation``.

How good is the kernel :func:`deblur_core.classical.estimate.estimate_kernel` finds, judged by what it
is for: the learned deconvolver handed the *estimated* kernel against the same deconvolver handed the
*true* one, on the published benchmark's own cases (:mod:`deblur_core.bench.stills`: Set5 and Set14
with its 19 blurs, the 4 Levin et al. 2009 images with their 8 re-centred camera-shake kernels, each
blurred with reflect boundaries, noise sigma 0.01 and 8-bit rounding, seeded by the case), so the
numbers compare with ``BENCHMARKS.md``; and on the two real GoPro pairs, where no kernel is known,
against the blurred frame and the blind end-to-end model.

Per case the kernel is estimated once (timed), with the estimator's defaults, as the method
``estimated-deconvolver`` does; where the estimate falls back ("no blur found") the result is the photo
as it is, exactly as that method returns it (:func:`deblur_core.restoration.restore_with_estimate`).
Wiener (its automatic noise-to-signal ratio) runs with both kernels too, and the blind default model on
every case for comparison. For the Levin cases the error ratio of Levin et al. is reported: the sum of
squared differences from the sharp image of the result with the estimated kernel over that of the
result with the true kernel, both from the same non-blind deconvolution (here the learned deconvolver).

The output is a markdown section, "Blind kernel estimation", to append to ``BENCHMARKS.md`` (printed;
also written to ``--out`` with a CSV of every case beside it). Nothing is trained or tuned here.

References
----------
1. Levin, Weiss, Durand and Freeman, "Understanding and evaluating blind deconvolution algorithms",
   CVPR 2009.
2. Nah, Kim and Lee, "Deep multi-scale convolutional neural network for dynamic scene deblurring",
   CVPR 2017 (the GoPro pairs).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deblur_core.bench.estimation_tables import PROG, markdown, ratio_shares, summarise
from deblur_core.metrics import mse, psnr, ssd_aligned, ssim
from deblur_core.settings import data_dir

__all__ = [
    "COLUMNS",
    "PROG",
    "Case",
    "error_ratio",
    "evaluate",
    "main",
    "make_cases",
    "markdown",
    "ratio_shares",
    "ssd",
    "summarise",
    "write_csv",
]

SETS = ("set5", "set14", "levin", "gopro")
SET_NAMES = {"set5": "Set5", "set14": "Set14", "levin": "Levin", "gopro": "GoPro"}

# Every CSV column, in order; results that a case has not (no true kernel on GoPro) are left empty.
COLUMNS = (
    "set",
    "image",
    "family",
    "degradation",
    "height",
    "width",
    "blurred_psnr",
    "blurred_ssim",
    "deconv_true_psnr",
    "deconv_true_ssim",
    "deconv_est_psnr",
    "deconv_est_ssim",
    "wiener_true_psnr",
    "wiener_est_psnr",
    "blind_psnr",
    "blind_ssim",
    "ssd_true",
    "ssd_est",
    "error_ratio",
    "ssd_true_aligned",
    "ssd_est_aligned",
    "error_ratio_aligned",
    "fallback",
    "source",
    "confidence",
    "kernel_size",
    "estimate_seconds",
)


@dataclass(frozen=True)
class Case:
    """One photo with one blur: the sharp image, its blurred version and the true kernel (None if unknown)."""

    set: str
    image: str
    family: str
    degradation: str
    sharp: np.ndarray
    blurred: np.ndarray
    kernel: np.ndarray | None


# -- the measures ----------------------------------------------------------------------------------


def ssd(reference: np.ndarray, test: np.ndarray) -> float:
    """Sum of squared differences of two images in [0, 1] (all pixels and channels)."""
    return mse(reference, test) * float(np.asarray(reference).size)


def error_ratio(sharp: np.ndarray, with_estimate: np.ndarray, with_true: np.ndarray) -> float:
    """Levin et al.'s error ratio: SSD(result with the estimated kernel) / SSD(result with the true kernel).

    Both results must come from the same non-blind deconvolution; 1 means the estimate is as good as
    the true kernel, larger is worse (below 1 happens: the true kernel is not always the best one for
    a regularised deconvolution).

    Parameters
    ----------
    sharp, with_estimate, with_true : ndarray
        Images in [0, 1] of one shape.

    Returns
    -------
    float
        The ratio; ``inf`` where the true kernel's result is exact and the estimate's is not.

    Raises
    ------
    ValueError
        If the shapes differ or an image is not in [0, 1].
    """
    return _ratio(ssd(sharp, with_estimate), ssd(sharp, with_true))


def _ratio(est: float, true: float) -> float:
    """``est / true``; 1 where both are 0, ``inf`` where only ``true`` is."""
    if true == 0:
        return 1.0 if est == 0 else math.inf
    return est / true


# -- the cases -------------------------------------------------------------------------------------


def parse_sets(text: str) -> list[str]:
    """``"set5,levin"`` -> ``["set5", "levin"]`` in the benchmark's order; ValueError names the choices."""
    asked = [s.strip().lower() for s in text.split(",") if s.strip()]
    unknown = [s for s in asked if s not in SETS]
    if unknown or not asked:
        raise ValueError(f"Unknown set(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(SETS)}.")
    return [s for s in SETS if s in asked]


def available_sets(data: Path) -> dict[str, bool]:
    """Which of the benchmark's sets ``data`` holds."""
    return {
        "set5": (data / "val" / "Set5").is_dir(),
        "set14": (data / "val" / "Set14").is_dir(),
        "levin": (data / "levin09" / "sharp").is_dir() and (data / "levin09" / "kernels").is_dir(),
        "gopro": (data / "real" / "GoPro").is_dir(),
    }


def gopro_pairs(data: Path) -> list[tuple[str, Path, Path]]:
    """(name, blurred path, sharp path) of every ``*_blur*.png`` in ``real/GoPro`` with its ``_sharp`` twin."""
    folder = data / "real" / "GoPro"
    out = []
    for blur_path in sorted(folder.glob("*_blur*.png")):
        sharp_path = folder / blur_path.name.replace("_blur", "_sharp")
        if sharp_path.is_file():
            out.append((blur_path.stem, blur_path, sharp_path))
    return out


def make_cases(data: Path, set_key: str, limit: int | None = None) -> Iterator[Case]:
    """The cases of one set, made one at a time (an image of each is held only while it is measured).

    Set5 and Set14: every image with each of the published benchmark's 19 blurs; Levin: its 4 images
    with its own 8 kernels; each blurred as :func:`deblur_core.bench.stills.make_blurred` does, with the
    same seed, so the blurred photos are the very ones of ``BENCHMARKS.md``. GoPro: the real pairs.
    ``limit`` stops after that many cases.
    """
    from deblur_core.bench.stills import _images, degradations, make_blurred
    from deblur_core.io import read_rgb

    count = 0
    if set_key == "gopro":
        for name, blur_path, sharp_path in gopro_pairs(data):
            if limit is not None and count >= limit:
                return
            count += 1
            yield Case("GoPro", name, "real", "real camera motion", read_rgb(sharp_path), read_rgb(blur_path), None)
        return
    set_name = SET_NAMES[set_key]
    degs = degradations(data)
    if set_key == "levin":
        images = _images(data / "levin09" / "sharp")
        degs = [d for d in degs if d[0] == "levin"]
    else:
        images = _images(data / "val" / set_name)
    for img_name, sharp in images:
        for family, label, kernel in degs:
            if limit is not None and count >= limit:
                return
            count += 1
            blurred = make_blurred(sharp, kernel, (set_name, img_name, label))
            yield Case(set_name, img_name, family, label, sharp, blurred, kernel)


def count_cases(data: Path, set_key: str, limit: int | None = None) -> int:
    """How many cases :func:`make_cases` yields, without reading a photo."""
    from deblur_core.bench.stills import degradations

    if set_key == "gopro":
        n = len(gopro_pairs(data))
    else:
        degs = degradations(data)
        if set_key == "levin":
            degs = [d for d in degs if d[0] == "levin"]
        folder = data / "levin09" / "sharp" if set_key == "levin" else data / "val" / SET_NAMES[set_key]
        n = len(list(folder.glob("*.png"))) * len(degs)
    return n if limit is None else min(n, limit)


def measure_case(case: Case, registry, blind: str | None) -> dict:
    """One CSV row: PSNR (dB) and SSIM of every result, the SSDs and error ratio, and the estimate."""
    from deblur_core.classical.estimate import estimate_kernel
    from deblur_core.restoration import restore_image, restore_with_estimate

    sharp, blurred = case.sharp, case.blurred
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        {
            "set": case.set,
            "image": case.image,
            "family": case.family,
            "degradation": case.degradation,
            "height": blurred.shape[0],
            "width": blurred.shape[1],
            "blurred_psnr": psnr(sharp, blurred),
            "blurred_ssim": ssim(sharp, blurred),
        }
    )
    found = estimate_kernel(blurred)
    with_estimate = restore_with_estimate(blurred, "estimated-deconvolver", found, registry=registry).image
    row.update(
        {
            "deconv_est_psnr": psnr(sharp, with_estimate),
            "deconv_est_ssim": ssim(sharp, with_estimate),
            "fallback": bool(found.fallback),
            "source": found.source,
            "confidence": float(found.confidence),
            "kernel_size": int(found.kernel.shape[0]),
            "estimate_seconds": float(found.seconds),
        }
    )
    # Wiener with the estimate leaves the photo as it is on a fallback too, as the estimating method does.
    wiener_est = blurred if found.fallback else restore_image(blurred, "wiener", kernel=found.kernel)
    row["wiener_est_psnr"] = psnr(sharp, wiener_est)
    if case.kernel is not None:
        with_true = restore_image(blurred, "deconvolver", kernel=case.kernel, registry=registry)
        wiener_true = restore_image(blurred, "wiener", kernel=case.kernel)
        row.update(
            {
                "deconv_true_psnr": psnr(sharp, with_true),
                "deconv_true_ssim": ssim(sharp, with_true),
                "wiener_true_psnr": psnr(sharp, wiener_true),
                "ssd_true": ssd(sharp, with_true),
                "ssd_est": ssd(sharp, with_estimate),
                "error_ratio": error_ratio(sharp, with_estimate, with_true),
                **_aligned_ratio(sharp, with_estimate, with_true),
            }
        )
    if blind is not None:
        out = restore_image(blurred, blind, registry=registry)
        row.update({"blind_psnr": psnr(sharp, out), "blind_ssim": ssim(sharp, out)})
    return row


def _aligned_ratio(sharp: np.ndarray, with_estimate: np.ndarray, with_true: np.ndarray) -> dict:
    """The error ratio as Levin et al. measure it, each result at its best shift (:func:`ssd_aligned`)."""
    est, true = ssd_aligned(sharp, with_estimate), ssd_aligned(sharp, with_true)
    return {"ssd_true_aligned": true, "ssd_est_aligned": est, "error_ratio_aligned": _ratio(est, true)}


def evaluate(
    data: Path, sets: list[str], registry, blind: str | None, limit: int | None = None, log=None
) -> list[dict]:
    """Every case of ``sets`` (at most ``limit`` per set), measured; ``log(text)`` after each."""
    total = sum(count_cases(data, s, limit) for s in sets)
    rows: list[dict] = []
    for set_key in sets:
        for case in make_cases(data, set_key, limit):
            start = time.perf_counter()
            row = measure_case(case, registry, blind)
            rows.append(row)
            if log:
                log(
                    f"[{len(rows)}/{total}] {case.set}/{case.image} {case.degradation}: blurred "
                    f"{row['blurred_psnr']:.2f} dB, estimated kernel {row['deconv_est_psnr']:.2f} dB"
                    + ("" if row["deconv_true_psnr"] == "" else f", true kernel {row['deconv_true_psnr']:.2f} dB")
                    + f"{' (fallback)' if row['fallback'] else ''}; estimate {row['estimate_seconds']:.1f} s, "
                    f"case {time.perf_counter() - start:.1f} s"
                )
    return rows


def _cell(value) -> str:
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.6g}"
    return str(value)


def write_csv(rows: list[dict], path: Path) -> None:
    """Every case, one row each, written atomically."""
    from deblur_core.files import atomic_write_text

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS))
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _cell(r[k]) for k in COLUMNS})
    atomic_write_text(path, buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=data_dir(), help="the shared data folder (val/, levin09/, real/)")
    parser.add_argument("--out", type=Path, help="write the markdown here, and a CSV of every case beside it")
    parser.add_argument(
        "--sets",
        default=",".join(SETS),
        help=f"comma-separated, from {', '.join(SETS)} (default: all; Set14's 266 cases take the longest)",
    )
    parser.add_argument("--limit", type=int, help="at most this many cases per set (a smoke run; not for publishing)")
    args = parser.parse_args(argv)
    try:
        sets = parse_sets(args.sets)
    except ValueError as err:
        parser.error(str(err))
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1.")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up lines are noise here
    have = available_sets(args.data)
    missing = [s for s in sets if not have[s]]
    if missing:
        print(
            f"skipped: the estimation benchmark needs {', '.join(SET_NAMES[s] for s in missing)} in {args.data} "
            "(val/, levin09/, real/GoPro); not there, so nothing was measured.",
            file=sys.stderr,
        )
        return 0
    from deblur_core.learned.registry import default_registry
    from deblur_core.restoration import get_method

    registry = default_registry()
    if not get_method("estimated-deconvolver").available(registry.names()):
        print("skipped: the learned deconvolver's model (deconv-unet) is not installed.", file=sys.stderr)
        return 0
    try:
        blind = registry.default_name()
    except ValueError:
        blind = None
    start = time.perf_counter()
    total = sum(count_cases(args.data, s, args.limit) for s in sets)
    print(f"Estimating the kernel of {total} cases ({', '.join(sets)}) ...", file=sys.stderr, flush=True)
    rows = evaluate(args.data, sets, registry, blind, args.limit, log=lambda text: print(text, file=sys.stderr))
    if not rows:
        print(f"skipped: no cases found in {args.data}.", file=sys.stderr)
        return 0
    report = markdown(rows, sets, blind, time.perf_counter() - start, args.limit)
    print(report, end="")
    if args.out:
        from deblur_core.files import atomic_write_text

        atomic_write_text(args.out, report)
        write_csv(rows, args.out.with_suffix(".csv"))
        print(f"Wrote {args.out} and {args.out.with_suffix('.csv')}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
