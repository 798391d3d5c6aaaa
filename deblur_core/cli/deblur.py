"""``python -m deblur_core deblur``: restore images (files or folders) with any method."""

from __future__ import annotations

import argparse
import time

import numpy as np

from deblur_core.cli.console import (
    EXIT_CODES_TEXT,
    EXIT_FAILED,
    EXIT_OK,
    KERNEL_HELP,
    CommandError,
    Formatter,
    ProgressBar,
    UsageError,
    assign_outputs,
    check_out_dir,
    collect_inputs,
    describe_failure,
    err,
    parse_kernel,
    positive_int,
)
from deblur_core.io.decode import IMAGE_SUFFIXES


def _registry():
    """A registry of the shipped models and the user's folder (read from the environment now)."""
    from deblur_core.learned.registry import Registry

    return Registry()


def _prepare_method(args: argparse.Namespace):
    """Check the method and kernel before any file is touched; return ``(kernel, registry)``."""
    from deblur_core.learned.registry import CLASSICAL_NAMES

    method = args.method
    if method in CLASSICAL_NAMES:
        from deblur_core import classical

        kernel = parse_kernel(args.kernel) if args.kernel else None
        if kernel is None:
            # The library's own sentence for a missing kernel, before any image is read.
            try:
                classical.wiener(np.zeros((8, 8, 3), np.float32), None)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        if args.upscale:
            err(f"note: --upscale has no effect with {method}; the result keeps the input's size.")
        return kernel, None

    from deblur_core.learned.registry import get_runner, resolve_model

    registry = _registry()
    try:
        entry = resolve_model(method, registry)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not entry.fits_still_image():
        raise UsageError(
            f"the model '{entry.name}' takes {entry.frames} video frames at once; use it with the video command."
        )
    if args.kernel:
        parse_kernel(args.kernel)  # still refuse a malformed spec
        err(f"note: --kernel is ignored by '{entry.name}': learned models are blind and find the blur themselves.")
    if args.upscale and int(entry.input.get("scale", 1)) <= 1:
        err(f"note: --upscale has no effect with '{entry.name}'; it does not enlarge.")
    bar = ProgressBar(1)
    bar.status(f"loading model {entry.name} ...")
    try:
        get_runner(entry, registry)  # load once, up front, so that a broken file is one error
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    finally:
        bar.clear()
    return None, registry


def cmd_deblur(args: argparse.Namespace) -> int:
    from deblur_core.files import atomic_write_bytes
    from deblur_core.io import load_image, output_like
    from deblur_core.restoration import restore

    if args.iterations is not None and args.method != "richardson-lucy":
        raise UsageError("--iterations applies to richardson-lucy only.")
    if args.nsr is not None and args.method != "wiener":
        raise UsageError("--nsr applies to wiener only.")
    kernel, registry = _prepare_method(args)
    files = collect_inputs(args.inputs, args.recursive)
    if not files:
        raise CommandError(f"no images found in {', '.join(args.inputs)} (looked for {', '.join(IMAGE_SUFFIXES)}).")
    out_dir = check_out_dir(args.out)
    suffix = ".jpg" if args.format == "jpeg" else ".png"
    targets = assign_outputs(files, out_dir, suffix)
    options = {}
    if args.iterations is not None:
        options["iterations"] = args.iterations
    if args.nsr is not None:
        options["nsr"] = args.nsr

    bar = ProgressBar(len(files))
    failed = 0
    started = time.monotonic()
    for index, (item, target) in enumerate(zip(files, targets, strict=True)):
        bar.begin(index, item.label)
        t0 = time.monotonic()
        try:
            loaded = load_image(item.path, name=item.label)
            restored = restore(
                loaded.rgb,
                args.method,
                kernel=kernel,
                registry=registry,
                upscale=args.upscale,
                on_progress=bar.update,
                **options,
            )
            data = output_like(loaded, restored, format=args.format, quality=args.quality)
            atomic_write_bytes(target, data)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad file is reported in one line; the rest go on
            failed += 1
            bar.line(f"skipped {item.label}: {describe_failure(exc)}")
            continue
        size = f"{restored.shape[1]}x{restored.shape[0]}"
        bar.line(f"{item.label} -> {target} ({size}, {time.monotonic() - t0:.1f} s)")
    bar.clear()
    done = len(files) - failed
    summary = f"{done} of {len(files)} image(s) restored with {args.method} into {out_dir} in {time.monotonic() - started:.1f} s"
    err(summary + (f"; {failed} skipped." if failed else "."))
    return EXIT_FAILED if failed else EXIT_OK


def add_parser(commands: argparse._SubParsersAction, prog: str) -> None:
    """The ``deblur`` command and its options."""
    p = commands.add_parser(
        "deblur",
        help="restore images (files or folders) with a model or a classical method",
        formatter_class=Formatter,
        description=(
            "Restore each input image and write <stem>.png (or .jpg) into the output folder. Folders\n"
            "contribute the images inside them; with --recursive also their subfolders, whose layout is\n"
            "kept. Transparency and greyscale are preserved. When two inputs share a stem (a.jpg, a.png)\n"
            "each keeps its extension (a.jpg.png, a.png.png). A file that cannot be read is reported in\n"
            "one line and skipped; the others are still processed."
        ),
        epilog=(
            "methods:\n"
            "  default               the recommended shipped model (blind: no kernel needed)\n"
            "  NAME                  a shipped or user model, see 'models'\n"
            "  path/to/model.keras   a model file of yours with its .json card beside it\n"
            "  wiener, richardson-lucy, unsupervised-wiener\n"
            "                        classical deconvolution; needs --kernel\n\n"
            "examples:\n"
            f"  {prog} deblur photo.jpg --out restored/\n"
            f"  {prog} deblur blurred/ --out restored/ --method wiener --kernel gaussian:sigma=2\n"
            f"  {prog} deblur scans/ --recursive --out restored/ --method richardson-lucy "
            "--kernel motion:length=15,angle=30 --iterations 50\n"
            f"  {prog} deblur small.png --out big/ --method dbsrcnn-x3 --upscale\n\n" + EXIT_CODES_TEXT
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders of images")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the results (created if missing)")
    p.add_argument("--method", default="default", metavar="NAME|PATH", help="restoration method (see below)")
    p.add_argument("--kernel", metavar="SPEC", help=KERNEL_HELP + "; required by the classical methods")
    p.add_argument("--recursive", action="store_true", help="also process images in subfolders")
    p.add_argument("--upscale", action="store_true", help="with an enlarging model (card scale > 1): enlarge too")
    p.add_argument("--format", choices=("png", "jpeg"), default="png", help="output file format")
    p.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG quality (1-100) with --format jpeg")
    p.add_argument(
        "--iterations", type=positive_int, metavar="N", help="richardson-lucy: number of iterations (default 30)"
    )
    p.add_argument(
        "--nsr", type=float, metavar="F", help="wiener: noise-to-signal ratio (default: estimated from the image)"
    )
    p.set_defaults(handler=cmd_deblur)
