"""The command line: ``python -m deblur_core deblur|estimate|blur|models|train|video ...``.

Each command lives in a module of its own (:mod:`deblur_core.cli.deblur`, ``estimate``, ``blur``,
``models``, ``train``, ``video``) with its ``add_parser`` and its ``cmd_*`` handler; :mod:`deblur_core.cli.console`
holds what they share. TensorFlow is imported only by the commands that need a learned model, so
``blur``, ``estimate`` and the classical methods start in well under a second.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import sys
from collections.abc import Sequence

from deblur_core.cli import blur, deblur, estimate, models, train, video
from deblur_core.cli.console import (
    EXIT_CODES_TEXT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Formatter,
    Parser,
    UsageError,
    err,
)

COMMANDS = (deblur, estimate, blur, models, train, video)
"""The command modules, in the order ``--help`` lists them."""

MALLOC_ARENAS = 2
"""How many malloc arenas the command's threads share (glibc's ``M_ARENA_MAX``; its default is 8 per core)."""
_M_ARENA_MAX = -8


def fewer_malloc_arenas(count: int = MALLOC_ARENAS) -> bool:
    """Have glibc keep at most ``count`` malloc arenas; True if it took the setting.

    glibc gives each thread that allocates an arena of its own and keeps there what the thread freed, so the
    buffers the FFT and TensorFlow threads free are not reused by the next stage: a 12-MP photo through the
    learned deconvolver peaked at 2.3 GB, and at 1.8 GB with two arenas, in the same time. An explicit
    ``MALLOC_ARENA_MAX`` in the environment wins; without glibc (macOS, Windows, musl) nothing changes.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, int(count)))
    except (OSError, AttributeError):
        return False


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with its commands."""
    prog = "python -m deblur_core"
    parser = Parser(
        prog=prog,
        formatter_class=Formatter,
        description=(
            "Deblur Studio on the command line: restore blurry photos with classical deconvolution or a\n"
            "trained model, find the blur kernel of a photo, blur sharp photos on purpose, list and train\n"
            "models, and deblur videos."
        ),
        epilog=(
            "examples:\n"
            f"  {prog} deblur photo.jpg --out restored/   # the default model\n"
            f"  {prog} deblur shots/ --recursive --out restored/\n"
            f"  {prog} estimate photo.jpg --out kernels/  # the blur kernel, as .npy and .png\n"
            f"  {prog} blur sharp/ --out blurred/ --kernel gaussian:sigma=2 --noise 0.005 --seed 1\n"
            f"  {prog} deblur blurred/ --out restored/ --method wiener --kernel gaussian:sigma=2\n"
            f"  {prog} models\n"
            f"  {prog} train --arch unet --data my_photos/ --out ~/my-unet.keras --minutes 30\n"
            f"  {prog} video clip.mp4 --out clip-sharp.mp4\n\n"
            f"Run '{prog} COMMAND --help' for the options of each command.\n\n" + EXIT_CODES_TEXT
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(commands, prog)
    return parser


def _version() -> str:
    from deblur_core import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    # TensorFlow's informational start-up lines are noise for a command-line user.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    fewer_malloc_arenas()  # before the worker threads start
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except UsageError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    except CommandError as exc:
        err(f"error: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err("\ninterrupted.")
        return EXIT_INTERRUPTED
    except MemoryError:
        err("error: not enough memory; process fewer or smaller images at a time.")
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader of our output went away (for example `models | head`); nothing left to say.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush quiet
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - a user sees one line, never a traceback
        detail = " ".join(str(exc).split()) or "no details"
        err(f"error: an unexpected {type(exc).__name__} stopped the command ({detail}).")
        return EXIT_FAILED
