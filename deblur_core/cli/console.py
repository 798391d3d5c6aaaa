"""What every command shares: exit codes, errors, the progress bar on stderr, finding inputs and naming outputs.

Every user-facing failure is one line on stderr starting with ``error:`` (or ``skipped`` for a single
bad input among several), never a traceback. Exit codes: 0 everything worked, 1 something failed
while working (an unreadable image, a failed training run), 2 the command line itself is wrong (an
unknown option or method, a missing kernel), 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from deblur_core.io.decode import IMAGE_SUFFIXES

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

KERNEL_HELP = (
    "blur kernel: gaussian:sigma=2 | motion:length=15,angle=30 | defocus:radius=4 | shake:size=21,seed=3 | "
    "a .npy or image file"
)

EXIT_CODES_TEXT = """exit codes:
  0    everything worked
  1    something failed while working (an unreadable image, a failed training run)
  2    the command line is wrong (unknown option or method, missing or bad kernel)
  130  interrupted with Ctrl-C"""


class UsageError(Exception):
    """The command line asks for something impossible; reported as ``error: ...`` with exit code 2."""


class CommandError(Exception):
    """A command failed while working; reported as ``error: ...`` with exit code 1."""


def _is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """A one-line text bar redrawn with carriage returns on a terminal; silent otherwise.

    Whole lines (``line``) are always printed, so a log file gets one line per finished item.
    """

    width = 28

    def __init__(self, total: int, stream: TextIO | None = None, interval: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = _is_tty(self.stream)
        self.total = max(1, int(total))
        self.interval = interval
        self.index = 0
        self.label = ""
        self._shown = 0
        self._last = 0.0

    def begin(self, index: int, label: str) -> None:
        """Start item ``index`` (0-based) called ``label``."""
        self.index, self.label = index, label
        self.update(0, 1, force=True)

    def update(self, done: int, total: int, *_info: object, force: bool = False) -> None:
        """Progress within the current item; usable directly as an ``on_progress`` callable."""
        if not self.tty:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval and done < total:
            return
        self._last = now
        inner = min(1.0, done / total) if total else 1.0
        overall = (self.index + inner) / self.total
        filled = int(round(overall * self.width))
        text = (
            f"[{'#' * filled}{'-' * (self.width - filled)}] {overall * 100:3.0f}%  "
            f"{self.index + 1}/{self.total}  {self.label}"
        )
        if total > 1:
            text += f"  {done}/{total}"
        self._draw(text)

    def status(self, text: str) -> None:
        """Show a free-form status on the bar's line (terminal only)."""
        if self.tty:
            self._draw(text)

    def _draw(self, text: str) -> None:
        columns = shutil.get_terminal_size((100, 20)).columns - 1
        text = text[:columns]
        self.stream.write("\r" + text + " " * max(0, self._shown - len(text)))
        self.stream.flush()
        self._shown = len(text)

    def clear(self) -> None:
        """Erase the bar so that the next output starts on a clean line."""
        if self.tty and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0

    def line(self, text: str) -> None:
        """Print a whole line above the bar."""
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()


def err(text: str) -> None:
    """One line on stderr."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class InputFile:
    """One input image: where it is, how to name it in messages, and the folder its result goes to."""

    def __init__(self, path: Path, label: str, subdir: Path) -> None:
        self.path = path
        self.label = label
        self.subdir = subdir


def _is_kernel_preview(path: Path) -> bool:
    """``kernel.png`` or ``<stem>_kernel.png`` beside its ``.npy`` is a kernel picture this command line wrote, not a photo."""
    return (
        path.suffix == ".png"
        and (path.stem == "kernel" or path.stem.endswith("_kernel"))
        and path.with_suffix(".npy").is_file()
    )


def collect_inputs(inputs: Sequence[str], recursive: bool) -> list[InputFile]:
    """Expand files and folders into a list of input images, in a stable order.

    Files given by name are taken as they are (a bad one is reported later, when it is read);
    folders contribute the image files directly inside them (and, with ``recursive``, inside
    their subfolders, whose layout is kept in the output folder). Hidden files are skipped.
    """
    found: list[InputFile] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            members = sorted(
                p
                for p in path.glob(pattern)
                if p.is_file()
                and p.suffix.lower() in IMAGE_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and not _is_kernel_preview(p)
            )
            for member in members:
                relative = member.relative_to(path)
                found.append(InputFile(member, relative.as_posix(), relative.parent))
        else:
            found.append(InputFile(path, text, Path()))
    return found


def assign_outputs(files: Sequence[InputFile], out_dir: Path, suffix: str) -> list[Path]:
    """The output path of each input: ``<stem><suffix>``, or ``<name><suffix>`` when stems clash.

    When two inputs bound for the same folder share a stem (``a.jpg`` and ``a.png``), both keep
    their original extension (``a.jpg.png``, ``a.png.png``) so that neither overwrites the other;
    any clash left after that gets a counter.
    """
    stems: dict[tuple[Path, str], int] = {}
    for f in files:
        key = (f.subdir, f.path.stem.lower())
        stems[key] = stems.get(key, 0) + 1
    taken: set[str] = set()
    outputs = []
    for f in files:
        clash = stems[(f.subdir, f.path.stem.lower())] > 1
        base = f.path.name if clash else f.path.stem
        candidate = out_dir / f.subdir / f"{base}{suffix}"
        counter = 2
        while str(candidate).lower() in taken:
            candidate = out_dir / f.subdir / f"{base}-{counter}{suffix}"
            counter += 1
        taken.add(str(candidate).lower())
        outputs.append(candidate)
    return outputs


def find_inputs(inputs: Sequence[str], recursive: bool) -> list[InputFile]:
    """:func:`collect_inputs`, or a command error saying what was looked for when there is nothing."""
    files = collect_inputs(inputs, recursive)
    if not files:
        raise CommandError(f"no images found in {', '.join(inputs)} (looked for {', '.join(IMAGE_SUFFIXES)}).")
    return files


def process_files(
    files: Sequence[InputFile], targets: Sequence[Path], work: Callable[[InputFile, Path, ProgressBar], str]
) -> int:
    """``work(item, target, bar)`` for every input, its returned line printed; returns how many failed.

    One bad file is reported in one ``skipped NAME: why`` line and the others go on; Ctrl-C, and a
    :class:`CommandError` (a failure of the whole command, such as a broken model file), stop all.
    """
    bar = ProgressBar(len(files))
    failed = 0
    for index, (item, target) in enumerate(zip(files, targets, strict=True)):
        bar.begin(index, item.label)
        try:
            line = work(item, target, bar)
        except (KeyboardInterrupt, CommandError):
            bar.clear()
            raise
        except Exception as exc:  # noqa: BLE001 - one bad file is reported in one line; the rest go on
            failed += 1
            bar.line(f"skipped {item.label}: {describe_failure(exc)}")
            continue
        bar.line(line)
    bar.clear()
    return failed


def usable_inputs(files: Sequence[InputFile], targets: Sequence[Path]) -> tuple[list[InputFile], list[Path], int]:
    """The inputs whose header reads as an allowed image, with their targets, and how many were skipped.

    Only headers are read (no pixels are decoded), so this answers at once; each refused file gets its
    ``skipped NAME: why`` line now, before any slow start such as loading a model.
    """
    from deblur_core.io import ImageLoadError, probe_image

    kept: list[InputFile] = []
    kept_targets: list[Path] = []
    for item, target in zip(files, targets, strict=True):
        try:
            probe_image(item.path, name=item.label)
        except ImageLoadError as exc:
            err(f"skipped {item.label}: {exc.reason}")
            continue
        kept.append(item)
        kept_targets.append(target)
    return kept, kept_targets, len(files) - len(kept)


def add_io_arguments(parser: argparse.ArgumentParser) -> None:
    """The inputs, ``--out`` and ``--recursive`` of the commands that work on image files and folders."""
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders of images")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the results (created if missing)")
    parser.add_argument("--recursive", action="store_true", help="also process images in subfolders")
    parser.add_argument("--overwrite", action="store_true", help="replace results that already exist in --out")


def check_overwrite(targets: Sequence[Path], overwrite: bool) -> None:
    """A usage error naming the results that already exist, unless ``overwrite``: nothing is replaced unasked."""
    existing = [str(t) for t in targets if t.exists()]
    if overwrite or not existing:
        return
    names = ", ".join(existing[:3]) + (f" and {len(existing) - 3} more" if len(existing) > 3 else "")
    verb = "exists" if len(existing) == 1 else "exist"
    raise UsageError(f"{names} already {verb}; add --overwrite to replace, or choose another --out.")


def check_out_dir(out: str) -> Path:
    """The output folder, created if missing; a usage error if it is a file."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder for the results.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot create the output folder {out} ({exc.strerror or exc}).") from None
    return path


KERNEL_PICTURE_SIDE = 256
"""A kernel picture written beside its ``.npy`` is at least this many pixels on its longest side."""


def kernel_files(target: Path) -> tuple[Path, Path]:
    """The two files of the kernel that goes with ``target``: ``<stem>_kernel.npy`` and ``<stem>_kernel.png`` beside it."""
    return target.with_name(f"{target.stem}_kernel.npy"), target.with_name(f"{target.stem}_kernel.png")


def save_kernel_files(kernel: np.ndarray, target: Path) -> tuple[Path, Path]:
    """Write the kernel that goes with ``target`` as :func:`kernel_files` names them; returns both paths.

    The ``.npy`` holds the float32 kernel exactly; the ``.png`` shows it to people, enlarged with
    nearest-neighbour by a whole factor to at least :data:`KERNEL_PICTURE_SIDE` pixels, so each kernel
    pixel is a square, white at the kernel's peak on black. Both are written atomically.
    """
    from deblur_core.files import atomic_write_with
    from deblur_core.io import save_image
    from deblur_core.kernels import PICTURE_MIN_SIDE, kernel_picture

    values = np.asarray(kernel, np.float32)
    npy, png = kernel_files(target)
    atomic_write_with(npy, lambda tmp: np.save(tmp, values), suffix=".npy")
    side = max(*values.shape, PICTURE_MIN_SIDE)  # kernel_picture draws small kernels on a square this wide
    picture = kernel_picture(values, side * -(-KERNEL_PICTURE_SIDE // side))
    save_image(picture.astype(np.float32) / 255.0, png, greyscale=True)
    return npy, png


def parse_kernel(spec: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """A kernel from its text form; a bad spec is a usage error with the library's sentence."""
    from deblur_core.io import ImageLoadError
    from deblur_core.kernels import parse_kernel_spec

    try:
        return parse_kernel_spec(spec, rng)
    except ImageLoadError as exc:
        raise UsageError(f"the kernel file {exc}") from None
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None


def describe_failure(exc: BaseException) -> str:
    """A one-line description of why one input failed."""
    from deblur_core.io import ImageLoadError

    if isinstance(exc, ImageLoadError):
        return exc.reason
    if isinstance(exc, MemoryError):
        return "not enough memory to process this image; shrink it and retry."
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}."
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-made line breaks of descriptions and epilogs; show meaningful defaults."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or "default" in text
            or default in (None, False, [], argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return text + " (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors say which command to ask for help."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"error: {message}\nRun '{self.prog} --help' for all options.\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value}")
    return value


# --------------------------------------------------------------------------------------------------
# The method catalogue on the command line
# --------------------------------------------------------------------------------------------------


def option_type(option) -> Callable[[str], object]:
    """An argparse ``type`` for a catalogue :class:`~deblur_core.restoration.Option`: its kind and its range."""
    word = "a whole number" if option.kind is int else "a number"

    def parse(text: str) -> object:
        if option.automatic is not None and text == str(option.automatic):
            return option.automatic
        try:
            value = option.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {word}, got '{text}'") from None
        if (option.low is not None and value < option.low) or (option.high is not None and value > option.high):
            raise argparse.ArgumentTypeError(f"expected {word} {option.range_text()}, got {value}")
        return value

    parse.__name__ = option.kind.__name__
    return parse


def _options_by_name() -> dict[str, list]:
    """Each option name of the catalogue with the (method, option) pairs that take it."""
    from deblur_core.restoration import methods

    found: dict[str, list] = {}
    for method in methods():
        for option in method.options:
            found.setdefault(option.name, []).append((method, option))
    return found


def add_method_options(parser: argparse.ArgumentParser) -> None:
    """One flag per option of the catalogue's methods (``--iterations``, ``--nsr``), with its range."""
    for name, pairs in _options_by_name().items():
        method, option = pairs[0]
        owners = ", ".join(m.name for m, _ in pairs)
        parser.add_argument(
            option.flag, dest=name, type=option_type(option), metavar=option.metavar, help=f"{owners}: {option.help}"
        )


def chosen_options(args: argparse.Namespace, method: str) -> dict:
    """The catalogue options given on the command line for ``method``; a flag it does not take is a usage error."""
    from deblur_core.restoration import get_method

    record = get_method(method)
    options = {}
    for name, pairs in _options_by_name().items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if record is None or record.option(name) is None:
            owners = ", ".join(m.name for m, _ in pairs)
            raise UsageError(f"{pairs[0][1].flag} applies to {owners} only.")
        options[name] = value
    return options


def methods_help() -> str:
    """The ``methods:`` section of ``deblur --help``: the trained models, then every method of the catalogue."""
    from deblur_core.restoration import methods

    lines = [
        "methods:",
        "  default               the recommended shipped model (blind: no kernel needed)",
        "  NAME                  a shipped or user model, see 'models'",
        "  path/to/model.keras   a model file of yours with its .json card beside it",
    ]
    needs = {"needs": "; needs --kernel", "estimates": "; estimates the kernel itself", "none": ""}
    for method in methods(takes="photo"):
        text = method.summary.rstrip(".") + needs[method.kernel]
        lines.append(f"  {method.name:<21} {text}" if len(method.name) <= 21 else f"  {method.name}\n{'':24}{text}")
    return "\n".join(lines)
