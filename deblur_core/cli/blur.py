"""``python -m deblur_core blur``: blur sharp images on purpose with a known kernel and noise."""

from __future__ import annotations

import argparse
import zlib

import numpy as np

from deblur_core.cli.console import (
    EXIT_CODES_TEXT,
    EXIT_FAILED,
    EXIT_OK,
    KERNEL_HELP,
    Formatter,
    UsageError,
    add_io_arguments,
    assign_outputs,
    check_out_dir,
    check_overwrite,
    err,
    find_inputs,
    parse_kernel,
    process_files,
)

__all__ = ["add_parser", "cmd_blur"]


def _noise_rng(seed: int, label: str) -> np.random.Generator:
    """Per-image noise generator: the same seed and file name give the same noise in any order."""
    return np.random.default_rng([seed, zlib.crc32(label.encode("utf-8"))])


def cmd_blur(args: argparse.Namespace) -> int:
    from deblur_core.degrade import add_noise, blur, jpeg
    from deblur_core.files import atomic_write_bytes, atomic_write_with
    from deblur_core.io import load_image, output_like, save_image

    if not 0 <= args.noise <= 1:
        raise UsageError(
            f"--noise is a standard deviation in [0, 1] units (0.01 is 2.55 grey levels); got {args.noise}."
        )
    if args.jpeg is not None and not 1 <= args.jpeg <= 100:
        raise UsageError(f"--jpeg takes a quality from 1 to 100; got {args.jpeg}.")
    kernel = parse_kernel(args.kernel, np.random.default_rng(args.seed))
    files = find_inputs(args.inputs, args.recursive)
    out_dir = check_out_dir(args.out)
    targets = assign_outputs(files, out_dir, ".png")
    check_overwrite([*targets, out_dir / "kernel.npy", out_dir / "kernel.png"], args.overwrite)
    atomic_write_with(out_dir / "kernel.npy", lambda tmp: np.save(tmp, kernel), suffix=".npy")
    visible = np.repeat((kernel / kernel.max())[:, :, None], 3, axis=2).astype(np.float32)
    save_image(visible, out_dir / "kernel.png", greyscale=True)

    def work(item, target, _bar) -> str:
        loaded = load_image(item.path, name=item.label)
        out = blur(loaded.rgb, kernel)
        if args.noise > 0:
            noisy = add_noise(out, args.noise, _noise_rng(args.seed, item.path.name))
            # A greyscale picture gets one noise plane, not three that the grey output would average.
            out = np.repeat(noisy[:, :, :1], 3, axis=2) if loaded.greyscale else noisy
        if args.jpeg is not None:
            out = jpeg(out, args.jpeg)
        atomic_write_bytes(target, output_like(loaded, out))
        return f"{item.label} -> {target}"

    failed = process_files(files, targets, work)
    err(
        f"{len(files) - failed} of {len(files)} image(s) blurred with {args.kernel} "
        f"({kernel.shape[1]}x{kernel.shape[0]} kernel, noise {args.noise:g}) into {out_dir}; "
        f"the kernel is in {out_dir / 'kernel.npy'}." + (f" {failed} skipped." if failed else "")
    )
    return EXIT_FAILED if failed else EXIT_OK


def add_parser(commands: argparse._SubParsersAction, prog: str) -> None:
    """The ``blur`` command and its options."""
    p = commands.add_parser(
        "blur",
        help="blur sharp images on purpose with a known kernel and noise",
        formatter_class=Formatter,
        description=(
            "Blur each input with the kernel (mirror-reflected edges, so no dark frame), add Gaussian\n"
            "noise from a seeded generator, optionally JPEG-compress, and write <stem>.png into the output\n"
            "folder, together with the kernel used: kernel.npy (exact) and kernel.png (scaled so its\n"
            "brightest pixel is white). The same --seed gives the same noise for the same file name."
        ),
        epilog=(
            "examples:\n"
            f"  {prog} blur sharp/ --out blurred/ --kernel gaussian:sigma=2 --noise 0.005 --seed 1\n"
            f"  {prog} blur photo.png --out blurred/ --kernel motion:length=21,angle=45\n"
            f"  {prog} blur photo.png --out blurred/ --kernel shake:size=25,seed=7 --jpeg 80\n\n"
            "then restore with the same kernel:\n"
            f"  {prog} deblur blurred/ --out restored/ --method wiener --kernel blurred/kernel.npy\n\n"
            + EXIT_CODES_TEXT
        ),
    )
    add_io_arguments(p)
    p.add_argument("--kernel", required=True, metavar="SPEC", help=KERNEL_HELP)
    p.add_argument("--noise", type=float, default=0.0, metavar="SIGMA", help="noise standard deviation, 0-1 units")
    p.add_argument("--seed", type=int, default=0, help="seed for the noise (and a shake kernel without seed=)")
    p.add_argument("--jpeg", type=int, metavar="Q", help="JPEG-compress at quality Q (1-100) after the noise")
    p.set_defaults(handler=cmd_blur)
