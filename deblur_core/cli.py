"""The command line: ``python -m deblur_core deblur|blur|models|train|video ...``.

Every user-facing failure is one line on stderr starting with ``error:`` (or ``skipped`` for a single
bad input among several), never a traceback. Exit codes: 0 everything worked, 1 something failed
while working (an unreadable image, a failed training run), 2 the command line itself is wrong (an
unknown option or method, a missing kernel), 130 interrupted with Ctrl-C.

TensorFlow is imported only by the commands that need a learned model, so ``blur`` and the classical
methods start in well under a second.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from deblur_core.io.decode import IMAGE_SUFFIXES

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

CLASSICAL_SUMMARIES = {
    "wiener": "Wiener deconvolution: fast, one pass in the Fourier domain; the noise level is estimated.",
    "richardson-lucy": "Richardson-Lucy: iterative, keeps values positive; more iterations, more detail and noise.",
    "unsupervised-wiener": "Unsupervised Wiener-Hunt: estimates its own regularisation; slowest, no parameter.",
}
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


# --------------------------------------------------------------------------------------------------
# Progress on stderr
# --------------------------------------------------------------------------------------------------


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


def _err(text: str) -> None:
    """One line on stderr."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------------
# Inputs and outputs
# --------------------------------------------------------------------------------------------------


class InputFile:
    """One input image: where it is, how to name it in messages, and the folder its result goes to."""

    def __init__(self, path: Path, label: str, subdir: Path) -> None:
        self.path = path
        self.label = label
        self.subdir = subdir


def _is_blur_kernel_preview(path: Path) -> bool:
    """``kernel.png`` beside ``kernel.npy`` is what the blur command writes, not a photo."""
    return path.name == "kernel.png" and path.with_name("kernel.npy").is_file()


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
                and not _is_blur_kernel_preview(p)
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


def _check_out_dir(out: str) -> Path:
    """The output folder, created if missing; a usage error if it is a file."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder for the results.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot create the output folder {out} ({exc.strerror or exc}).") from None
    return path


def _parse_kernel(spec: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """A kernel from its text form; a bad spec is a usage error with the library's sentence."""
    from deblur_core.io import ImageLoadError
    from deblur_core.kernels import parse_kernel_spec

    try:
        return parse_kernel_spec(spec, rng)
    except ImageLoadError as exc:
        raise UsageError(f"the kernel file {exc}") from None
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None


def _describe_failure(exc: BaseException) -> str:
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


# --------------------------------------------------------------------------------------------------
# deblur
# --------------------------------------------------------------------------------------------------


def _registry():
    """A registry of the shipped models and the user's folder (read from the environment now)."""
    from deblur_core.registry import Registry

    return Registry()


def _prepare_method(args: argparse.Namespace):
    """Check the method and kernel before any file is touched; return ``(kernel, registry)``."""
    from deblur_core.registry import CLASSICAL_NAMES

    method = args.method
    if method in CLASSICAL_NAMES:
        from deblur_core import classical

        kernel = _parse_kernel(args.kernel) if args.kernel else None
        if kernel is None:
            # The library's own sentence for a missing kernel, before any image is read.
            try:
                classical.CLASSICAL_METHODS[method](np.zeros((8, 8, 3), np.float32), None)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        if args.upscale:
            _err(f"note: --upscale has no effect with {method}; the result keeps the input's size.")
        return kernel, None

    from deblur_core.inference import get_runner, resolve_model

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
        _parse_kernel(args.kernel)  # still refuse a malformed spec
        _err(f"note: --kernel is ignored by '{entry.name}': learned models are blind and find the blur themselves.")
    if args.upscale and int(entry.input.get("scale", 1)) <= 1:
        _err(f"note: --upscale has no effect with '{entry.name}'; it does not enlarge.")
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
    from deblur_core.inference import restore
    from deblur_core.io import load_image, output_like

    if args.iterations is not None and args.method != "richardson-lucy":
        raise UsageError("--iterations applies to richardson-lucy only.")
    if args.nsr is not None and args.method != "wiener":
        raise UsageError("--nsr applies to wiener only.")
    kernel, registry = _prepare_method(args)
    files = collect_inputs(args.inputs, args.recursive)
    if not files:
        raise CommandError(f"no images found in {', '.join(args.inputs)} (looked for {', '.join(IMAGE_SUFFIXES)}).")
    out_dir = _check_out_dir(args.out)
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
            bar.line(f"skipped {item.label}: {_describe_failure(exc)}")
            continue
        size = f"{restored.shape[1]}x{restored.shape[0]}"
        bar.line(f"{item.label} -> {target} ({size}, {time.monotonic() - t0:.1f} s)")
    bar.clear()
    done = len(files) - failed
    summary = f"{done} of {len(files)} image(s) restored with {args.method} into {out_dir} in {time.monotonic() - started:.1f} s"
    _err(summary + (f"; {failed} skipped." if failed else "."))
    return EXIT_FAILED if failed else EXIT_OK


# --------------------------------------------------------------------------------------------------
# blur
# --------------------------------------------------------------------------------------------------


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
    kernel = _parse_kernel(args.kernel, np.random.default_rng(args.seed))
    files = collect_inputs(args.inputs, args.recursive)
    if not files:
        raise CommandError(f"no images found in {', '.join(args.inputs)} (looked for {', '.join(IMAGE_SUFFIXES)}).")
    out_dir = _check_out_dir(args.out)
    atomic_write_with(out_dir / "kernel.npy", lambda tmp: np.save(tmp, kernel), suffix=".npy")
    visible = np.repeat((kernel / kernel.max())[:, :, None], 3, axis=2).astype(np.float32)
    save_image(visible, out_dir / "kernel.png", greyscale=True)
    targets = assign_outputs(files, out_dir, ".png")

    bar = ProgressBar(len(files))
    failed = 0
    for index, (item, target) in enumerate(zip(files, targets, strict=True)):
        bar.begin(index, item.label)
        try:
            loaded = load_image(item.path, name=item.label)
            out = blur(loaded.rgb, kernel)
            if args.noise > 0:
                noisy = add_noise(out, args.noise, _noise_rng(args.seed, item.path.name))
                # A greyscale picture gets one noise plane, not three that the grey output would average.
                out = np.repeat(noisy[:, :, :1], 3, axis=2) if loaded.greyscale else noisy
            if args.jpeg is not None:
                out = jpeg(out, args.jpeg)
            atomic_write_bytes(target, output_like(loaded, out))
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad file is reported in one line; the rest go on
            failed += 1
            bar.line(f"skipped {item.label}: {_describe_failure(exc)}")
            continue
        bar.line(f"{item.label} -> {target}")
    bar.clear()
    _err(
        f"{len(files) - failed} of {len(files)} image(s) blurred with {args.kernel} "
        f"({kernel.shape[1]}x{kernel.shape[0]} kernel, noise {args.noise:g}) into {out_dir}; "
        f"the kernel is in {out_dir / 'kernel.npy'}." + (f" {failed} skipped." if failed else "")
    )
    return EXIT_FAILED if failed else EXIT_OK


# --------------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------------


def _format_count(n: int | None) -> str:
    if n is None:
        return "? parameters"
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} M parameters"
    if n >= 1_000:
        return f"{n / 1e3:.1f} k parameters"
    return f"{n} parameters"


def _describe_input(spec: dict) -> str:
    """'1 frame, RGB, any size (sides padded to a multiple of 8), output 1x' and the like."""
    frames = int(spec.get("frames", 1))
    parts = [f"{frames} frame{'s' if frames != 1 else ''}" + (" (video only)" if frames > 1 else "")]
    parts.append("luminance (Y) channel" if spec.get("color") == "y" else "RGB")
    fixed = spec.get("fixed_size")
    if fixed:
        parts.append(f"fixed {fixed[0]}x{fixed[1]} input (larger images are tiled)")
    else:
        multiple = int(spec.get("multiple", 1))
        parts.append("any size" + (f" (padded to a multiple of {multiple})" if multiple > 1 else ""))
    scale = int(spec.get("scale", 1))
    parts.append(f"enlarges {scale}x with --upscale" if scale > 1 else "output the input's size")
    return ", ".join(parts)


def _model_record(entry, default_name: str | None) -> dict:
    card = entry.card
    training = card.get("training") or {}
    return {
        "name": entry.name,
        "default": entry.name == default_name,
        "recommended": bool(card.get("recommended")),
        "shipped": entry.shipped,
        "path": str(entry.path),
        "architecture": card.get("architecture"),
        "arch_args": card.get("arch_args", {}),
        "parameters": card.get("parameters"),
        "input": entry.input,
        "validation": card.get("validation", {}),
        "description": entry.description,
        "epochs_run": training.get("epochs_run"),
        "date": card.get("date"),
    }


def cmd_models(args: argparse.Namespace) -> int:
    from deblur_core.registry import CLASSICAL_NAMES

    registry = _registry()
    entries = registry.list()
    problems = list(registry.problems)
    try:
        default_name = registry.default_name()
    except ValueError:
        default_name = None
    records = [_model_record(e, default_name) for e in entries]
    classical = [
        {"name": n, "needs_kernel": True, "description": CLASSICAL_SUMMARIES.get(n, "")} for n in CLASSICAL_NAMES
    ]
    if args.json:
        payload = {
            "models": records,
            "classical": classical,
            "default": default_name,
            "shipped_dir": str(registry.shipped_dir),
            "user_dir": str(registry.user_dir),
            "problems": problems,
        }
        sys.stdout.write(json.dumps(_json_safe(payload), indent=2) + "\n")
        return EXIT_OK

    out = sys.stdout
    out.write(f"Learned models (shipped: {registry.shipped_dir}; yours: {registry.user_dir})\n")
    if not records:
        out.write("  none installed. Train one with `python -m deblur_core train --help`.\n")
    for r in records:
        marks = ["default" if r["default"] else "", "recommended" if r["recommended"] and not r["default"] else ""]
        marks.append("shipped" if r["shipped"] else "yours")
        out.write(f"\n  {r['name']}  [{', '.join(m for m in marks if m)}]\n")
        if r["description"]:
            out.write(f"      {r['description']}\n")
        arch_args = ", ".join(f"{k}={v}" for k, v in (r["arch_args"] or {}).items())
        out.write(
            f"      architecture: {r['architecture']}{f' ({arch_args})' if arch_args else ''}, "
            f"{_format_count(r['parameters'])}\n"
        )
        out.write(f"      input: {_describe_input(r['input'])}\n")
        val = r["validation"] or {}
        if "psnr" in val:
            line = f"      validation: PSNR {val['psnr']:.2f} dB"
            if val.get("ssim") is not None:
                line += f", SSIM {val['ssim']:.3f}"
            if isinstance(val.get("blurred_psnr"), (int, float)) and math.isfinite(val["blurred_psnr"]):
                line += f" (blurred input: {val['blurred_psnr']:.2f} dB)"
            out.write(line + "\n")
        else:
            out.write("      validation: not recorded\n")
    out.write("\nClassical methods (need --kernel SPEC):\n")
    width = max(len(n) for n in CLASSICAL_NAMES)
    for c in classical:
        out.write(f"  {c['name']:<{width}}  {c['description']}\n")
    for problem in problems:
        _err(f"warning: a model was skipped: {problem}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------------


def parse_arch_value(text: str) -> bool | int | float | str | None:
    """``true``/``false`` -> bool, ``none`` -> None, then int, then float, else the text itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_arch_args(pairs: Sequence[str]) -> dict:
    """``["base_filters=4", "depth=2"]`` -> ``{"base_filters": 4, "depth": 2}``."""
    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip().isidentifier():
            raise UsageError(f"--arch-arg takes KEY=VALUE (for example base_filters=24); got '{pair}'.")
        out[key.strip()] = parse_arch_value(value)
    return out


def _json_safe(value):
    """Replace NaN and infinity (not valid JSON) with None, recursively; paths become strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


class EventLog:
    """Appends one JSON object per line to a progress file, flushed at every write (or does nothing)."""

    def __init__(self, path: str | None) -> None:
        self._handle = None
        self._lock = threading.Lock()
        if path:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            self._handle = target.open("a", encoding="utf-8")

    def write(self, event: str, **fields) -> None:
        if self._handle is None:
            return
        record = _json_safe({"event": event, "time": round(time.time(), 3), **fields})
        with self._lock:
            self._handle.write(json.dumps(record, allow_nan=False) + "\n")
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _as_rgb_preview(array: np.ndarray) -> np.ndarray:
    """A training sample as H x W x 3: the middle frame of a clip, grey for a luminance model."""
    a = np.clip(np.asarray(array, np.float32), 0.0, 1.0)
    channels = a.shape[-1]
    if channels == 1:
        return np.repeat(a, 3, axis=2)
    if channels > 3:
        middle = (channels // 3) // 2
        return a[..., 3 * middle : 3 * middle + 3]
    return a


def preview_strip(blurred: np.ndarray, restored: np.ndarray, sharp: np.ndarray, gap: int = 4) -> np.ndarray:
    """Blurred | restored | sharp side by side with white gaps, float32 RGB in [0, 1]."""
    panels = [_as_rgb_preview(a) for a in (blurred, restored, sharp)]
    height = max(p.shape[0] for p in panels)
    spacer = np.ones((height, gap, 3), np.float32)
    row = []
    for i, p in enumerate(panels):
        if p.shape[0] < height:
            p = np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0)), constant_values=1.0)
        row += [spacer, p] if i else [p]
    return np.concatenate(row, axis=1)


def _format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _build_train_config(args: argparse.Namespace):
    from deblur_core.architectures import ARCHITECTURES, input_spec
    from deblur_core.degrade import DegradationMix
    from deblur_core.losses import LOSSES
    from deblur_core.training import TrainConfig

    if args.arch not in ARCHITECTURES:
        raise UsageError(f"unknown architecture '{args.arch}'; choose one of {', '.join(sorted(ARCHITECTURES))}.")
    arch_args = parse_arch_args(args.arch_arg)
    try:
        input_spec(args.arch, **arch_args)
    except TypeError as exc:
        raise UsageError(f"architecture '{args.arch}' does not take these arguments: {exc}.") from None
    if args.loss not in LOSSES:
        raise UsageError(f"unknown loss '{args.loss}'; choose one of {', '.join(LOSSES)}.")
    if not args.out.endswith(".keras"):
        raise UsageError(f"--out must end with .keras (the card is written beside it as .json); got {args.out}.")
    for folder in (*args.data, *args.paired):
        if not Path(folder).exists():
            raise UsageError(f"the training folder {folder} does not exist.")
    if args.resume and not Path(args.resume).is_file():
        raise UsageError(f"the checkpoint {args.resume} given to --resume does not exist.")
    for name, value, low in (
        ("--patch-size", args.patch_size, 8),
        ("--batch-size", args.batch_size, 1),
        ("--epochs", args.epochs, 1),
        ("--steps-per-epoch", args.steps_per_epoch, 1),
        ("--patience", args.patience, 1),
    ):
        if value < low:
            raise UsageError(f"{name} must be at least {low}; got {value}.")
    if args.sr_scale < 0 or args.sr_scale == 1:
        raise UsageError(f"--sr-scale is 0 (off) or an enlargement factor of at least 2; got {args.sr_scale}.")
    if not args.lr > 0:
        raise UsageError(f"--lr must be greater than 0; got {args.lr}.")
    if args.minutes is not None and not args.minutes > 0:
        raise UsageError(f"--minutes must be greater than 0; got {args.minutes}.")

    families = [f.strip() for f in args.families.split(",") if f.strip()]
    if args.noise_max is not None and not 0 <= args.noise_max <= 1:
        raise UsageError(f"--noise-max is a standard deviation in [0, 1] units; got {args.noise_max}.")
    for name, value in (("--p-clean", args.p_clean), ("--jpeg-prob", args.jpeg_prob)):
        if value is not None and not 0 <= value <= 1:
            raise UsageError(f"{name} is a probability from 0 to 1; got {value}.")
    mix = DegradationMix()
    settings = {
        "families": dict.fromkeys(families, 1.0),
        "p_clean": mix.p_clean if args.p_clean is None else args.p_clean,
        "noise_range": list(mix.noise_range if args.noise_max is None else (0.0, args.noise_max)),
        "p_jpeg": mix.p_jpeg if args.jpeg_prob is None else args.jpeg_prob,
        "round8": mix.round8,
    }
    try:
        degradations = DegradationMix.from_dict(settings).to_dict()
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--families: {exc}") from None
    return TrainConfig(
        out=args.out,
        arch=args.arch,
        arch_args=arch_args,
        data=list(args.data),
        paired=list(args.paired),
        loss=args.loss,
        patch_size=args.patch_size,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        minutes=args.minutes,
        patience=args.patience,
        degradations=degradations,
        sr_scale=args.sr_scale,
        clips=args.clips,
        seed=args.seed,
        resume=args.resume,
        schedule=args.schedule,
        description=args.description,
    )


@contextlib.contextmanager
def _graceful_sigterm(on_signal: Callable[[], None]):
    """Route SIGTERM to ``on_signal`` while the block runs (only possible in the main thread)."""
    previous = None
    installed = False
    if hasattr(signal, "SIGTERM") and threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: on_signal())
        installed = True
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, previous)


def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from deblur_core.io import save_image
    from deblur_core.training import train

    log = EventLog(args.progress)
    try:
        cfg = _build_train_config(args)
    except UsageError as exc:
        # A program following the progress file learns why nothing started.
        log.write("error", message=str(exc))
        log.close()
        raise
    bar = ProgressBar(1)
    stop_requested = threading.Event()
    stop_reason: list[str] = []
    last_batch_event = [0.0]
    preview_dir = Path(args.preview_dir) if args.preview_dir else None

    def request_stop(reason: str) -> None:
        if not stop_requested.is_set():
            stop_reason.append(reason)
            stop_requested.set()

    def cancel() -> bool:
        if args.stop_file and os.path.exists(args.stop_file):
            request_stop(f"stop file {args.stop_file} found")
        if stop_requested.is_set() and stop_reason and stop_reason[0] != "announced":
            reason = stop_reason.pop(0)
            stop_reason.insert(0, "announced")
            log.write("stopping", reason=reason)
            bar.line(f"stopping: {reason}; the best checkpoint so far will be saved after this batch.")
        return stop_requested.is_set()

    def on_progress(done: int, total: int, info: dict) -> None:
        event = info.get("event")
        if event == "batch":
            now = time.monotonic()
            if now - last_batch_event[0] >= 2.0:
                last_batch_event[0] = now
                log.write("batch", done=done, total=total, **{k: v for k, v in info.items() if k != "event"})
            bar.status(
                f"epoch {info.get('epoch')}/{cfg.epochs}  step {info.get('step')}/{cfg.steps_per_epoch}  "
                f"loss {info.get('loss', float('nan')):.4f}  {info.get('steps_per_s', 0):.1f} steps/s  "
                f"ETA {_format_duration(info.get('eta_s'))}"
            )
        elif event == "epoch":
            log.write("epoch", done=done, total=total, **{k: v for k, v in info.items() if k != "event"})
            bar.line(
                f"epoch {info.get('epoch')}/{cfg.epochs}: loss {info.get('loss', float('nan')):.4f}, "
                f"validation PSNR {info.get('val_psnr', float('nan')):.2f} dB "
                f"(blurred {info.get('val_blurred_psnr', float('nan')):.2f} dB), "
                f"SSIM {info.get('val_ssim', float('nan')):.3f}"
                + (" (best so far)" if info.get("improved") else "")
                + f", {_format_duration(info.get('seconds'))} elapsed, ETA {_format_duration(info.get('eta_s'))}"
            )

    def on_preview(epoch: int, blurred: np.ndarray, restored: np.ndarray, sharp: np.ndarray) -> None:
        if preview_dir is None:
            return
        path = preview_dir / f"epoch_{epoch:03d}.png"
        save_image(preview_strip(blurred, restored, sharp), path)
        log.write("preview", epoch=epoch, path=str(path))

    log.write("start", pid=os.getpid(), config=asdict(cfg))
    bar.line(
        f"training {cfg.arch} for up to {cfg.epochs} epoch(s) of {cfg.steps_per_epoch} steps"
        + (f" or {cfg.minutes:g} minutes" if cfg.minutes else "")
        + f"; the model goes to {cfg.out}"
    )
    try:
        with _graceful_sigterm(lambda: request_stop("termination signal received")):
            result = train(cfg, on_progress=on_progress, cancel=cancel, on_preview=on_preview)
    except KeyboardInterrupt:
        bar.clear()
        log.write("error", message="Training was interrupted with Ctrl-C; no model was saved.")
        log.close()
        raise
    except (ValueError, RuntimeError, OSError, MemoryError) as exc:
        bar.clear()
        message = _describe_failure(exc)
        log.write("error", message=message)
        log.close()
        raise CommandError(message) from None
    bar.clear()
    log.write(
        "done",
        model=str(result.model_path),
        card=str(Path(result.model_path).with_suffix(".json")),
        best_val_psnr=result.best_val_psnr,
        best_val_ssim=result.best_val_ssim,
        epochs_run=result.epochs_run,
        stopped_because=result.stopped_because,
    )
    log.close()
    _err(
        f"saved {result.model_path} after {result.epochs_run} epoch(s) ({result.stopped_because}); "
        f"best validation PSNR {result.best_val_psnr:.2f} dB, SSIM {result.best_val_ssim:.3f}."
    )
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# video
# --------------------------------------------------------------------------------------------------


def cmd_video(args: argparse.Namespace) -> int:
    try:
        from deblur_core.video import run_cli
    except ModuleNotFoundError as exc:
        if exc.name != "deblur_core.video":
            raise
        raise CommandError("video support is not available in this installation.") from None
    return int(run_cli(args) or 0)


# --------------------------------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------------------------------


class _Formatter(argparse.RawDescriptionHelpFormatter):
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


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors say which command to ask for help."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"error: {message}\nRun '{self.prog} --help' for all options.\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with its five commands."""
    prog = "python -m deblur_core"
    parser = _Parser(
        prog=prog,
        formatter_class=_Formatter,
        description=(
            "Deblur Studio on the command line: restore blurry photos with classical deconvolution or a\n"
            "trained model, blur sharp photos on purpose, list and train models, and deblur videos."
        ),
        epilog=(
            "examples:\n"
            f"  {prog} deblur photo.jpg --out restored/   # the default model\n"
            f"  {prog} deblur shots/ --recursive --out restored/\n"
            f"  {prog} blur sharp/ --out blurred/ --kernel gaussian:sigma=2 --noise 0.005 --seed 1\n"
            f"  {prog} deblur blurred/ --out restored/ --method wiener --kernel gaussian:sigma=2\n"
            f"  {prog} models\n"
            f"  {prog} train --arch unet --data my_photos/ --out ~/my-unet.keras --minutes 30\n"
            f"  {prog} video clip.mp4 --out clip-sharp.mp4\n\n"
            f"Run '{prog} COMMAND --help' for the options of each command.\n\n" + EXIT_CODES_TEXT
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    # deblur ---------------------------------------------------------------------------------------
    p = commands.add_parser(
        "deblur",
        help="restore images (files or folders) with a model or a classical method",
        formatter_class=_Formatter,
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
        "--iterations", type=_positive_int, metavar="N", help="richardson-lucy: number of iterations (default 30)"
    )
    p.add_argument(
        "--nsr", type=float, metavar="F", help="wiener: noise-to-signal ratio (default: estimated from the image)"
    )
    p.set_defaults(handler=cmd_deblur)

    # blur -----------------------------------------------------------------------------------------
    p = commands.add_parser(
        "blur",
        help="blur sharp images on purpose with a known kernel and noise",
        formatter_class=_Formatter,
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
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders of images")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the results (created if missing)")
    p.add_argument("--kernel", required=True, metavar="SPEC", help=KERNEL_HELP)
    p.add_argument("--noise", type=float, default=0.0, metavar="SIGMA", help="noise standard deviation, 0-1 units")
    p.add_argument("--seed", type=int, default=0, help="seed for the noise (and a shake kernel without seed=)")
    p.add_argument("--jpeg", type=int, metavar="Q", help="JPEG-compress at quality Q (1-100) after the noise")
    p.add_argument("--recursive", action="store_true", help="also process images in subfolders")
    p.set_defaults(handler=cmd_blur)

    # models ---------------------------------------------------------------------------------------
    p = commands.add_parser(
        "models",
        help="list the shipped and user models with their cards, and the classical methods",
        formatter_class=_Formatter,
        description=(
            "List the learned models (shipped ones and those in your model folder, $DEBLUR_STUDIO_MODELS\n"
            "or ~/.deblur-studio/models) with what each takes and how well it did on validation, and the\n"
            "classical methods."
        ),
        epilog=f"examples:\n  {prog} models\n  {prog} models --json > models.json\n\n" + EXIT_CODES_TEXT,
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.set_defaults(handler=cmd_models)

    # train ----------------------------------------------------------------------------------------
    p = commands.add_parser(
        "train",
        help="train a model on your images and save it with its model card",
        formatter_class=_Formatter,
        description=(
            "Train a model: sharp images from --data are blurred on the fly with a random mix of\n"
            "kernels and noise (or --paired folders give blurred/sharp pairs). A tenth of the images is\n"
            "held out for validation; the checkpoint with the best validation PSNR is saved to --out\n"
            "with its card (.json) beside it. Training stops after --epochs, --minutes, --patience epochs\n"
            "without improvement, when --stop-file appears, or on SIGTERM; a stop keeps the best\n"
            "checkpoint. --progress writes one JSON object per line (events: start, batch, epoch,\n"
            "preview, stopping, done, error) for other programs to follow."
        ),
        epilog=(
            "examples:\n"
            f"  {prog} train --arch unet --data photos/ --out ~/models/my-unet.keras --minutes 60\n"
            f"  {prog} train --arch unet --arch-arg base_filters=16 --arch-arg depth=2 --data photos/ "
            "--out small.keras --epochs 5 --families gaussian,defocus\n"
            f"  {prog} train --arch dbsrcnn --data photos/ --sr-scale 3 --loss mse --out dbsrcnn-x3.keras\n"
            f"  {prog} train --arch unet --paired blur-dataset/ --out paired.keras --progress run.jsonl\n\n"
            + EXIT_CODES_TEXT
        ),
    )
    p.add_argument("--arch", required=True, metavar="NAME", help="architecture: unet, autoencoder or dbsrcnn")
    p.add_argument(
        "--arch-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="builder argument, repeatable (e.g. base_filters=16); values are read as int, float, bool or text",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", nargs="+", default=[], metavar="DIR", help="folders of sharp images")
    source.add_argument("--paired", nargs="+", default=[], metavar="DIR", help="folders of blurred/sharp pairs")
    p.add_argument("--out", required=True, metavar="PATH.keras", help="where to save the model")
    p.add_argument("--loss", default="charbonnier", help="charbonnier, l1, mse, structural, edge or fft")
    p.add_argument("--patch-size", type=int, default=128, metavar="N", help="training crop side in pixels")
    p.add_argument("--batch-size", type=int, default=8, metavar="N", help="crops per step")
    p.add_argument("--lr", type=float, default=1e-3, metavar="F", help="initial learning rate (Adam)")
    p.add_argument("--epochs", type=int, default=50, metavar="N", help="most epochs to run")
    p.add_argument("--steps-per-epoch", type=int, default=200, metavar="N", help="steps in one epoch")
    p.add_argument("--minutes", type=float, metavar="F", help="time budget; stop after this many minutes")
    p.add_argument("--patience", type=int, default=10, metavar="N", help="stop after N epochs without improvement")
    p.add_argument(
        "--schedule",
        choices=("plateau", "cosine"),
        default="plateau",
        help="learning rate: halve on a validation plateau, or decay on a half cosine to the end of the run "
        "(the end is --epochs or --minutes, whichever comes first)",
    )
    p.add_argument(
        "--families", default="gaussian,defocus,motion,shake", help="comma-separated blur families to train on"
    )
    p.add_argument("--noise-max", type=float, metavar="F", help="largest noise sigma (0-1 units; default 0.02)")
    p.add_argument("--p-clean", type=float, metavar="F", help="share of samples left sharp (default 0.08)")
    p.add_argument("--jpeg-prob", type=float, metavar="F", help="share of samples JPEG-compressed (default 0)")
    p.add_argument("--clips", action="store_true", help="train on synthetic moving clips (for video models)")
    p.add_argument("--sr-scale", type=int, default=0, metavar="N", help="DBSRCNN protocol: bicubic down/up by N")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, crops and degradations")
    p.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint (.keras)")
    p.add_argument("--description", default="", metavar="TEXT", help="a sentence for the model card")
    p.add_argument("--progress", metavar="FILE", help="append JSON-lines progress events to FILE")
    p.add_argument("--stop-file", metavar="FILE", help="stop gracefully when FILE appears")
    p.add_argument("--preview-dir", metavar="DIR", help="save a validation sample per epoch as DIR/epoch_NNN.png")
    p.set_defaults(handler=cmd_train)

    # video ----------------------------------------------------------------------------------------
    p = commands.add_parser(
        "video",
        help="deblur a video frame by frame and reassemble it",
        formatter_class=_Formatter,
        description=(
            "Deblur a video clip with a model (a 3-frame video model uses each frame's neighbours) or\n"
            "a classical method, and write the reassembled clip with the original audio if possible."
        ),
        epilog=(
            "examples:\n"
            f"  {prog} video clip.mp4 --out clip-sharp.mp4\n"
            f"  {prog} video clip.mp4 --out clip-sharp.mp4 --method video-unet3 --max-frames 100\n"
            f"  {prog} video clip.mp4 --out test.mp4 --blur motion:length=9,angle=0 --method wiener "
            "--kernel motion:length=9,angle=0\n\n" + EXIT_CODES_TEXT
        ),
    )
    p.add_argument("input", metavar="IN", help="the video file")
    p.add_argument("--out", required=True, metavar="OUT", help="the output video file")
    p.add_argument("--method", default="default", metavar="NAME|PATH", help="restoration method, as for deblur")
    p.add_argument("--kernel", metavar="SPEC", help=KERNEL_HELP + "; required by the classical methods")
    p.add_argument("--blur", metavar="SPEC", help="blur the frames with this kernel first (a demonstration)")
    p.add_argument("--max-frames", type=_positive_int, metavar="N", help="process only the first N frames")
    p.set_defaults(handler=cmd_video)
    return parser


def _version() -> str:
    from deblur_core import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    # TensorFlow's informational start-up lines are noise for a command-line user.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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
        _err(f"error: {exc}")
        return EXIT_USAGE
    except CommandError as exc:
        _err(f"error: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("\ninterrupted.")
        return EXIT_INTERRUPTED
    except MemoryError:
        _err("error: not enough memory; process fewer or smaller images at a time.")
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader of our output went away (for example `models | head`); nothing left to say.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush quiet
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - a user sees one line, never a traceback
        detail = " ".join(str(exc).split()) or "no details"
        _err(f"error: an unexpected {type(exc).__name__} stopped the command ({detail}).")
        return EXIT_FAILED
