"""``python -m deblur_core train``: train a model on your images and save it with its model card."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from deblur_core.cli.console import (
    EXIT_CODES_TEXT,
    EXIT_OK,
    CommandError,
    Formatter,
    ProgressBar,
    UsageError,
    describe_failure,
    err,
)
from deblur_core.progress import format_duration
from deblur_core.training.progress_file import EventLog

__all__ = ["add_parser", "build_train_config", "parse_arch_args", "parse_arch_value", "preview_strip", "cmd_train"]


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


def _check_train_args(args: argparse.Namespace) -> dict:
    """Refuse impossible ``train`` options with a usage error; return the architecture's arguments."""
    from deblur_core.learned.architectures import ARCHITECTURES, input_spec
    from deblur_core.learned.losses import LOSSES

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
    if args.noise_max is not None and not 0 <= args.noise_max <= 1:
        raise UsageError(f"--noise-max is a standard deviation in [0, 1] units; got {args.noise_max}.")
    for name, value in (("--p-clean", args.p_clean), ("--jpeg-prob", args.jpeg_prob)):
        if value is not None and not 0 <= value <= 1:
            raise UsageError(f"{name} is a probability from 0 to 1; got {value}.")
    return arch_args


def build_train_config(args: argparse.Namespace):
    """The :class:`~deblur_core.training.config.TrainConfig` the ``train`` options ask for (a usage error if impossible)."""
    from deblur_core.training.config import TrainConfig, degradations_from

    arch_args = _check_train_args(args)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    try:
        degradations = degradations_from(families, args.noise_max, args.p_clean, args.jpeg_prob)
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


class _TrainingConsole:
    """What the trainer tells the world: the progress file, the bar on stderr, previews, and stop requests."""

    def __init__(self, args: argparse.Namespace, cfg, log: EventLog) -> None:
        self.cfg = cfg
        self.log = log
        self.bar = ProgressBar(1)
        self.stop_file = args.stop_file
        self.preview_dir = Path(args.preview_dir) if args.preview_dir else None
        self.stop_requested = threading.Event()
        self.stop_reason: list[str] = []
        self.last_batch_event = 0.0

    def request_stop(self, reason: str) -> None:
        if not self.stop_requested.is_set():
            self.stop_reason.append(reason)
            self.stop_requested.set()

    def cancel(self) -> bool:
        """The trainer's ``cancel``: a stop file, or a signal; announced once in the log and on stderr."""
        if self.stop_file and os.path.exists(self.stop_file):
            self.request_stop(f"stop file {self.stop_file} found")
        if self.stop_requested.is_set() and self.stop_reason and self.stop_reason[0] != "announced":
            reason = self.stop_reason.pop(0)
            self.stop_reason.insert(0, "announced")
            self.log.write("stopping", reason=reason)
            self.bar.line(f"stopping: {reason}; the best checkpoint so far will be saved after this batch.")
        return self.stop_requested.is_set()

    def on_progress(self, done: int, total: int, info: dict) -> None:
        cfg, event = self.cfg, info.get("event")
        fields = {k: v for k, v in info.items() if k != "event"}
        if event == "batch":
            now = time.monotonic()
            if now - self.last_batch_event >= 2.0:
                self.last_batch_event = now
                self.log.write("batch", done=done, total=total, **fields)
            self.bar.status(
                f"epoch {info.get('epoch')}/{cfg.epochs}  step {info.get('step')}/{cfg.steps_per_epoch}  "
                f"loss {info.get('loss', float('nan')):.4f}  {info.get('steps_per_s', 0):.1f} steps/s  "
                f"ETA {format_duration(info.get('eta_s'))}"
            )
        elif event == "epoch":
            self.log.write("epoch", done=done, total=total, **fields)
            self.bar.line(
                f"epoch {info.get('epoch')}/{cfg.epochs}: loss {info.get('loss', float('nan')):.4f}, "
                f"validation PSNR {info.get('val_psnr', float('nan')):.2f} dB "
                f"(blurred {info.get('val_blurred_psnr', float('nan')):.2f} dB), "
                f"SSIM {info.get('val_ssim', float('nan')):.3f}"
                + (" (best so far)" if info.get("improved") else "")
                + f", {format_duration(info.get('seconds'))} elapsed, ETA {format_duration(info.get('eta_s'))}"
            )

    def on_preview(self, epoch: int, blurred: np.ndarray, restored: np.ndarray, sharp: np.ndarray) -> None:
        from deblur_core.io import save_image

        if self.preview_dir is None:
            return
        path = self.preview_dir / f"epoch_{epoch:03d}.png"
        save_image(preview_strip(blurred, restored, sharp), path)
        self.log.write("preview", epoch=epoch, path=str(path))

    def fail(self, message: str) -> None:
        self.bar.clear()
        self.log.write("error", message=message)
        self.log.close()


def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from deblur_core.training.fit import train

    log = EventLog(args.progress)
    try:
        cfg = build_train_config(args)
    except UsageError as exc:
        # A program following the progress file learns why nothing started.
        log.write("error", message=str(exc))
        log.close()
        raise
    console = _TrainingConsole(args, cfg, log)
    log.write("start", pid=os.getpid(), config=asdict(cfg))
    console.bar.line(
        f"training {cfg.arch} for up to {cfg.epochs} epoch(s) of {cfg.steps_per_epoch} steps"
        + (f" or {cfg.minutes:g} minutes" if cfg.minutes else "")
        + f"; the model goes to {cfg.out}"
    )
    try:
        with _graceful_sigterm(lambda: console.request_stop("termination signal received")):
            result = train(cfg, on_progress=console.on_progress, cancel=console.cancel, on_preview=console.on_preview)
    except KeyboardInterrupt:
        console.fail("Training was interrupted with Ctrl-C; no model was saved.")
        raise
    except (ValueError, RuntimeError, OSError, MemoryError) as exc:
        message = describe_failure(exc)
        console.fail(message)
        raise CommandError(message) from None
    console.bar.clear()
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
    err(
        f"saved {result.model_path} after {result.epochs_run} epoch(s) ({result.stopped_because}); "
        f"best validation PSNR {result.best_val_psnr:.2f} dB, SSIM {result.best_val_ssim:.3f}."
    )
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction, prog: str) -> None:
    """The ``train`` command and its options; the defaults are :class:`~deblur_core.training.config.TrainConfig`'s."""
    from deblur_core.training.config import FAMILIES, TrainConfig

    d = TrainConfig()
    p = commands.add_parser(
        "train",
        help="train a model on your images and save it with its model card",
        formatter_class=Formatter,
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
    p.add_argument("--loss", default=d.loss, help="charbonnier, l1, mse, structural, edge or fft")
    p.add_argument("--patch-size", type=int, default=d.patch_size, metavar="N", help="training crop side in pixels")
    p.add_argument("--batch-size", type=int, default=d.batch_size, metavar="N", help="crops per step")
    p.add_argument("--lr", type=float, default=d.learning_rate, metavar="F", help="initial learning rate (Adam)")
    p.add_argument("--epochs", type=int, default=d.epochs, metavar="N", help="most epochs to run")
    p.add_argument("--steps-per-epoch", type=int, default=d.steps_per_epoch, metavar="N", help="steps in one epoch")
    p.add_argument("--minutes", type=float, metavar="F", help="time budget; stop after this many minutes")
    p.add_argument(
        "--patience", type=int, default=d.patience, metavar="N", help="stop after N epochs without improvement"
    )
    p.add_argument(
        "--schedule",
        choices=("plateau", "cosine"),
        default=d.schedule,
        help="learning rate: halve on a validation plateau, or decay on a half cosine to the end of the run "
        "(the end is --epochs or --minutes, whichever comes first)",
    )
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated blur families to train on")
    p.add_argument("--noise-max", type=float, metavar="F", help="largest noise sigma (0-1 units; default 0.02)")
    p.add_argument("--p-clean", type=float, metavar="F", help="share of samples left sharp (default 0.08)")
    p.add_argument("--jpeg-prob", type=float, metavar="F", help="share of samples JPEG-compressed (default 0)")
    p.add_argument("--clips", action="store_true", help="train on synthetic moving clips (for video models)")
    p.add_argument(
        "--sr-scale", type=int, default=d.sr_scale, metavar="N", help="DBSRCNN protocol: bicubic down/up by N"
    )
    p.add_argument("--seed", type=int, default=d.seed, help="seed for weights, crops and degradations")
    p.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint (.keras)")
    p.add_argument("--description", default=d.description, metavar="TEXT", help="a sentence for the model card")
    p.add_argument("--progress", metavar="FILE", help="append JSON-lines progress events to FILE")
    p.add_argument("--stop-file", metavar="FILE", help="stop gracefully when FILE appears")
    p.add_argument("--preview-dir", metavar="DIR", help="save a validation sample per epoch as DIR/epoch_NNN.png")
    p.set_defaults(handler=cmd_train)
