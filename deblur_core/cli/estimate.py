"""``python -m deblur_core estimate``: find the blur kernel of each photo and write it as ``.npy`` and ``.png``."""

from __future__ import annotations

import argparse
import time

from deblur_core.cli.console import (
    EXIT_CODES_TEXT,
    EXIT_FAILED,
    EXIT_OK,
    Formatter,
    UsageError,
    add_io_arguments,
    assign_outputs,
    check_out_dir,
    check_overwrite,
    err,
    find_inputs,
    kernel_files,
    process_files,
    save_kernel_files,
)

__all__ = ["add_parser", "cmd_estimate"]

DEFAULT_MAX_SIZE = 31


def _max_size(text: str) -> int:
    """The ``--max-size`` value; anything but a whole number in the estimator's range is a usage error."""
    from deblur_core.classical.estimate import MAX_ESTIMATE_SIZE

    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 5 <= value <= MAX_ESTIMATE_SIZE:
        raise UsageError(
            f"--max-size is the largest kernel side to look for, a whole number of pixels from 5 to "
            f"{MAX_ESTIMATE_SIZE}; got '{text}'."
        )
    return value


def _region(text: str) -> tuple[int, int, int, int]:
    """The ``--region X,Y,W,H`` value; a malformed or too small region is a usage error."""
    from deblur_core.classical.regions import MIN_REGION

    try:
        x, y, w, h = (int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(
            "--region takes four whole numbers X,Y,W,H: the left and top edges, the width and the height "
            f"of the part to estimate from, in pixels (such as 0,0,256,256); got '{text}'."
        ) from None
    if x < 0 or y < 0:
        raise UsageError(f"--region starts inside the photo: X and Y are at least 0; got '{text}'.")
    if w < MIN_REGION or h < MIN_REGION:
        raise UsageError(
            f"--region must be at least {MIN_REGION} x {MIN_REGION} pixels to hold enough edges; got {w} x {h}."
        )
    return x, y, w, h


def _line(label: str, found, npy) -> str:
    """The one line printed for a photo: its name, the kernel's size, where it came from, the confidence, the time."""
    if found.fallback:
        return f"{label}: {found.fallback_reason()} (the 1 x 1 px identity kernel), {found.seconds:.1f} s -> {npy}"
    return (
        f"{label}: {found.size_text()} kernel, {found.source}, confidence {found.confidence_words()}, "
        f"{found.seconds:.1f} s -> {npy}"
    )


def cmd_estimate(args: argparse.Namespace) -> int:
    from deblur_core.classical.estimate import estimate_kernel
    from deblur_core.classical.regions import MIN_REGION
    from deblur_core.io import load_image

    max_size = _max_size(str(args.max_size))
    region = _region(args.region) if args.region is not None else None
    files = find_inputs(args.inputs, args.recursive)
    out_dir = check_out_dir(args.out)
    # <stem>.png names the photo's results, with the same handling of clashing stems as the other commands.
    targets = assign_outputs(files, out_dir, ".png")
    check_overwrite([path for target in targets for path in kernel_files(target)], args.overwrite)
    started = time.monotonic()

    def work(item, target, bar) -> str:
        photo = load_image(item.path, name=item.label).rgb
        height, width = photo.shape[:2]
        if min(height, width) < MIN_REGION:
            raise ValueError(
                f"the image is {width} x {height} pixels; kernel estimation needs at least {MIN_REGION} pixels a side."
            )
        found = estimate_kernel(photo, max_size=max_size, region=region, on_progress=bar.update)
        npy, _ = save_kernel_files(found.kernel, target)
        return _line(item.label, found, npy)

    failed = process_files(files, targets, work)
    done = len(files) - failed
    summary = f"{done} of {len(files)} kernel(s) estimated into {out_dir} in {time.monotonic() - started:.1f} s"
    err(summary + (f"; {failed} skipped." if failed else "."))
    return EXIT_FAILED if failed else EXIT_OK


def add_parser(commands: argparse._SubParsersAction, prog: str) -> None:
    """The ``estimate`` command and its options."""
    p = commands.add_parser(
        "estimate",
        help="find the blur kernel of blurry photos, without restoring them",
        formatter_class=Formatter,
        description=(
            "Estimate the blur kernel of each input from the photo alone (a coarse-to-fine search over the\n"
            "most edge-rich part of it, photos of at least 64 pixels a side) and write <stem>_kernel.npy\n"
            "(the float32 kernel, summing to 1) and <stem>_kernel.png (the kernel enlarged so that each of\n"
            "its pixels is a square, white at its peak) into the output folder. One line per photo says the\n"
            "kernel's size, where it came from (estimated, or a Gaussian, disk or line fitted to the\n"
            "estimate), how confident the estimate is, and the time. Where no blur stands out, the kernel\n"
            "is the 1 x 1 identity and the line says 'no clear blur found'. A file that cannot be read is\n"
            "reported in one line and skipped; the others are still processed."
        ),
        epilog=(
            "examples:\n"
            f"  {prog} estimate photo.jpg --out kernels/\n"
            f"  {prog} estimate shots/ --recursive --out kernels/ --max-size 21\n"
            f"  {prog} estimate photo.jpg --out kernels/ --region 400,300,384,384\n\n"
            "then restore with the kernel found:\n"
            f"  {prog} deblur photo.jpg --out restored/ --method wiener --kernel kernels/photo_kernel.npy\n\n"
            + EXIT_CODES_TEXT
        ),
    )
    add_io_arguments(p)
    p.add_argument(
        "--max-size",
        default=DEFAULT_MAX_SIZE,
        metavar="N",
        help="the largest kernel side to look for in pixels, 5 to 51; an even number is rounded up to the next odd one",
    )
    p.add_argument(
        "--region",
        metavar="X,Y,W,H",
        help="estimate from this part of each photo (at least 64 x 64 px) instead of the most edge-rich square",
    )
    p.set_defaults(handler=cmd_estimate)
