"""``python -m deblur_core deblur``: restore images (files or folders) with any method."""

from __future__ import annotations

import argparse
import threading
import time

from deblur_core.cli.console import (
    EXIT_CODES_TEXT,
    EXIT_FAILED,
    EXIT_OK,
    KERNEL_HELP,
    CommandError,
    Formatter,
    ProgressBar,
    UsageError,
    add_io_arguments,
    add_method_options,
    assign_outputs,
    check_out_dir,
    check_overwrite,
    chosen_options,
    err,
    find_inputs,
    kernel_files,
    methods_help,
    parse_kernel,
    process_files,
    save_kernel_files,
    usable_inputs,
)

__all__ = ["add_parser", "cmd_deblur"]


def _registry():
    """A registry of the shipped models and the user's folder (read from the environment now)."""
    from deblur_core.learned.registry import Registry

    return Registry()


def _check_method(args: argparse.Namespace):
    """Check the method and kernel before any file is touched; return ``(kernel, registry, entry, record)``.

    ``entry`` is the model to load (None for a classical method), ``record`` the catalogue's method that runs
    (None for a model run on its own). Reading the model cards imports no
    TensorFlow, so a wrong command line is answered at once.
    """
    from deblur_core.restoration import get_method, kernel_needed, resolve_method

    registry = _registry()
    kernel = parse_kernel(args.kernel) if args.kernel else None  # a malformed spec is refused for any method
    # 'default' with a kernel is the learned deconvolver; a model that takes a kernel runs through its method.
    method = resolve_method(args.method, kernel is not None, registry)
    if method != args.method:
        err(f"note: {args.method} with a kernel runs the {method} method.")
    record = get_method(method)
    if record is not None:
        if "photo" not in record.takes:
            raise UsageError(f"{record.title} takes video frames only; use it with the video command.")
        if record.needs_kernel and kernel is None:
            # The sentence for a missing kernel, before any image is read.
            raise UsageError(kernel_needed(record))
        if kernel is not None and not record.needs_kernel:
            err(f"note: --kernel is ignored by {method}: it does not use a given kernel.")
            kernel = None
        if args.upscale:
            err(f"note: --upscale has no effect with {method}; the result keeps the input's size.")
        if record.model is None:
            return kernel, registry, None, record
        if not record.available(registry.names()):
            raise UsageError(f"{record.title} runs the model '{record.model}', which is not installed.")
        model = record.model
    else:
        model = method
    try:
        entry = registry.resolve(model)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if record is None:
        if not entry.fits_still_image():
            raise UsageError(
                f"the model '{entry.name}' takes {entry.frames} video frames at once; use it with the video command."
            )
        if kernel is not None:
            err(f"note: --kernel is ignored by '{entry.name}': learned models are blind and find the blur themselves.")
            kernel = None
        if args.upscale and int(entry.input.get("scale", 1)) <= 1:
            err(f"note: --upscale has no effect with '{entry.name}'; it does not enlarge.")
    return kernel, registry, entry, record


def _saves_kernel(args: argparse.Namespace, kernel, record) -> bool:
    """Whether ``--save-kernel`` has a kernel to write (a given one, or one the method estimates); says so once if not."""
    if not args.save_kernel:
        return False
    if kernel is not None or (record is not None and record.kernel == "estimates"):
        return True
    err(f"note: --save-kernel writes no kernel with {args.method}: it is blind and uses none.")
    return False


class _ModelLoading:
    """The model loading on a thread (this imports TensorFlow: seconds) while the first photo is decoded,
    or, with ``start=False``, from the first :meth:`start` on.

    :meth:`wait` is called before each restoration: it returns at once once the model is in the
    registry's cache, and turns a broken model file into one :class:`CommandError` for the command
    (not one skipped line per photo).
    """

    def __init__(self, entry, registry, start: bool = True) -> None:
        self.entry, self.registry = entry, registry
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._load, name="model-loader", daemon=True)
        if start:
            self.start()

    def start(self) -> None:
        """Start loading, unless it has started already."""
        if self._thread.ident is None:
            self._thread.start()

    def _load(self) -> None:
        from deblur_core.learned.registry import get_runner

        try:
            get_runner(self.entry, self.registry)
        except Exception as exc:  # noqa: BLE001 - raised on the main thread by wait()
            self.error = exc

    def wait(self, bar: ProgressBar) -> None:
        self.start()
        if self._thread.is_alive():
            bar.status(f"loading model {self.entry.name} ...")
            self._thread.join()
        if self.error is not None:
            raise CommandError(str(self.error))


def cmd_deblur(args: argparse.Namespace) -> int:
    from deblur_core import restoration
    from deblur_core.files import atomic_write_bytes
    from deblur_core.io import load_image, output_like

    options = chosen_options(args, args.method)
    kernel, registry, entry, record = _check_method(args)
    save_kernel = _saves_kernel(args, kernel, record)
    found = find_inputs(args.inputs, args.recursive)
    out_dir = check_out_dir(args.out)
    suffix = ".jpg" if args.format == "jpeg" else ".png"
    outputs = assign_outputs(found, out_dir, suffix)
    kernel_outputs = [path for target in outputs for path in kernel_files(target)] if save_kernel else []
    check_overwrite([*outputs, *kernel_outputs], args.overwrite)
    started = time.monotonic()
    # Every input's header is checked before the model loads: a bad file is answered at once.
    files, targets, failed_early = usable_inputs(found, outputs)
    if not files:
        err(f"0 of {len(found)} image(s) restored: none of the inputs could be read.")
        return EXIT_FAILED
    # The learned deconvolver loads its model itself (the one for the kernel it is given) while its Wiener step runs:
    # no need to load one here, nor while the photo is decoded (the import of TensorFlow would slow the decoding as
    # much as it overlaps it; beside the Wiener step's FFTs it costs less). Here it loads only to name a broken file.
    overlaps_loading = record is not None and record.loads_model_itself
    # A method that estimates its kernel runs its own model (a kernel it estimates is never exact): that one can
    # start loading during the estimate.
    estimates = record is not None and record.kernel == "estimates"
    loading = _ModelLoading(entry, registry, start=not overlaps_loading) if entry is not None else None

    def work(item, target, bar) -> str:
        t0 = time.monotonic()
        loaded = load_image(item.path, name=item.label)
        if loading is not None and not overlaps_loading:
            loading.wait(bar)  # starts it, once the first photo is decoded, where it has not started yet
        elif loading is not None and estimates:
            loading.start()  # the kernel estimate's seconds hide the import; the method then finds its model loaded
        try:
            result = restoration.restore(
                loaded.rgb,
                args.method,
                kernel=kernel,
                registry=registry,
                upscale=args.upscale,
                kernel_estimated=(args.approximate_kernel or args.fit_kernel) and kernel is not None,
                fit_kernel=args.fit_kernel and kernel is not None,
                on_progress=bar.update,
                **options,
            )
        except Exception:
            if loading is not None:
                loading.wait(bar)  # a broken model file: one CommandError for the command, not one per photo
            raise
        restored = result.image
        atomic_write_bytes(target, output_like(loaded, restored, format=args.format, quality=args.quality))
        size = f"{restored.shape[1]}x{restored.shape[0]}"
        used = f", kernel {result.kernel_text()}" if result.kernel is not None else ""
        saved = ""
        if save_kernel and result.kernel is not None:
            saved = f"; its kernel -> {save_kernel_files(result.kernel, target)[0]}"
        return f"{item.label} -> {target} ({size}{used}, {time.monotonic() - t0:.1f} s){saved}"

    failed = process_files(files, targets, work) + failed_early
    done = len(found) - failed
    summary = f"{done} of {len(found)} image(s) restored with {args.method} into {out_dir} in {time.monotonic() - started:.1f} s"
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
            "one line and skipped; the others are still processed. Results already in the output folder\n"
            "are not replaced unless --overwrite is given."
        ),
        epilog=(
            methods_help() + "\n\n"
            "examples:\n"
            f"  {prog} deblur photo.jpg --out restored/\n"
            f"  {prog} deblur blurred/ --out restored/ --method wiener --kernel gaussian:sigma=2\n"
            f"  {prog} deblur scans/ --recursive --out restored/ --method richardson-lucy "
            "--kernel motion:length=15,angle=30 --iterations 50\n"
            f"  {prog} deblur photo.jpg --out restored/ --method estimated-deconvolver --save-kernel\n"
            f"  {prog} deblur small.png --out big/ --method dbsrcnn-x3 --upscale\n\n" + EXIT_CODES_TEXT
        ),
    )
    add_io_arguments(p)
    p.add_argument("--method", default="default", metavar="NAME|PATH", help="restoration method (see below)")
    p.add_argument("--kernel", metavar="SPEC", help=KERNEL_HELP + "; required by the methods that need it")
    p.add_argument(
        "--approximate-kernel",
        action="store_true",
        help="the --kernel is a guess, not the blur known exactly: the learned deconvolver leans on it less (without "
        "this it runs its network for exact kernels, sharper with the right kernel and worse with a wrong one)",
    )
    p.add_argument(
        "--fit-kernel",
        action="store_true",
        help="fit the --kernel to each photo first (under a second), and use the fitted kernel where it explains "
        "the photo better: for a kernel shaped by hand (implies --approximate-kernel)",
    )
    p.add_argument("--upscale", action="store_true", help="with an enlarging model (card scale > 1): enlarge too")
    p.add_argument("--format", choices=("png", "jpeg"), default="png", help="output file format")
    p.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG quality (1-100) with --format jpeg")
    p.add_argument(
        "--save-kernel",
        action="store_true",
        help="also write the kernel each photo was restored with (given or estimated) beside it, as "
        "<stem>_kernel.npy and <stem>_kernel.png",
    )
    add_method_options(p)
    p.set_defaults(handler=cmd_deblur)
