"""``python -m deblur_core video``: deblur a video file and write the reassembled clip."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deblur_core.cli.console import EXIT_CODES_TEXT, KERNEL_HELP, Formatter, chosen_options, positive_int
from deblur_core.video.clip import DEFAULT_MAX_FRAMES, _format_fps
from deblur_core.video.container import _format_for, encoded_size, read_video, write_video
from deblur_core.video.restore import clip_estimate_frames, deblur_video, metrics_table, model_frames
from deblur_core.video.synthetic import Degradation

__all__ = ["add_parser", "run_cli", "cmd_video"]


class _StderrProgress:
    """Progress on stderr: one line redrawn on a terminal, a line every tenth of the work otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_tenth = -1

    def __call__(self, done: int, total: int, info: dict) -> None:
        stage = info.get("stage", "restoring")
        text = f"{stage}: {done}/{total} ({100 * done // max(total, 1)}%)"
        if self.tty:
            print(f"\r{text}   ", end="\n" if done >= total else "", file=sys.stderr, flush=True)
        elif 10 * done // max(total, 1) > self.last_tenth:
            self.last_tenth = 10 * done // max(total, 1)
            print(text, file=sys.stderr, flush=True)


def run_cli(args) -> int:
    """The ``video`` command: ``video IN --out OUT [--method M] [--kernel SPEC [--approximate-kernel]] [--blur SPEC]
    [--max-frames N]``.

    ``--approximate-kernel`` says the ``--kernel`` is a guess (the learned deconvolver leans on it less).
    ``--blur SPEC`` first blurs every frame with SPEC (a demonstration with ground truth; the known
    kernel then defaults to it). ``--max-frames N`` keeps the first N frames of a longer clip (without
    it, clips over :data:`DEFAULT_MAX_FRAMES` frames are refused). Progress goes to stderr, errors are
    one line, the per-video metrics table (with ground truth) and a summary go to stdout.

    Returns
    -------
    int
        0 on success, 1 when reading or processing fails, 2 for wrong arguments, 130 when interrupted.
    """
    from deblur_core.kernels import parse_kernel_spec
    from deblur_core.progress import Cancelled
    from deblur_core.restoration import get_method

    method = getattr(args, "method", None) or "default"
    blur_spec = getattr(args, "blur", None)
    kernel_spec = getattr(args, "kernel", None)
    max_frames = getattr(args, "max_frames", None)
    out = Path(args.out)
    try:  # the arguments first: nothing is decoded before they are known to be right
        _format_for(out, None)
        if out.exists() and not getattr(args, "overwrite", False):
            raise ValueError(f"{out} already exists; add --overwrite to replace it, or choose another --out.")
        degradation = Degradation("kernel", blur_spec) if blur_spec else None
        if degradation is not None:
            degradation.kernel_array()
        kernel = parse_kernel_spec(kernel_spec) if kernel_spec else None
        record = get_method(method)
        if record is not None and record.needs_kernel and kernel is None and degradation is None:
            raise ValueError(
                f"{method} needs the blur kernel: give --kernel SPEC (or --blur SPEC for a demonstration)."
            )
        frames = model_frames(method)
        if frames % 2 == 0:
            raise ValueError(f"The model '{method}' takes {frames} frames; video models take an odd number.")
        if kernel is not None and (record is None or not record.needs_kernel):
            print(f"note: --kernel is ignored by '{method}': {_why_no_kernel(record)}", file=sys.stderr)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        video = read_video(args.input, max_frames=max_frames or DEFAULT_MAX_FRAMES, trim=bool(max_frames))
        print(f"Read {video.name}: {video.describe()}.", file=sys.stderr)
        if video.trimmed_from:
            print(f"Using the first {len(video)} frames of the clip.", file=sys.stderr)
        if video.has_audio:
            print("Note: the sound track is not kept; the output has no audio.", file=sys.stderr)
        options = chosen_options(args, method)
        result = deblur_video(
            video,
            method,
            kernel=kernel,
            degradation=degradation,
            kernel_approximate=bool(getattr(args, "approximate_kernel", False)) and kernel is not None,
            on_progress=_StderrProgress(),
            **options,
        )
        write_video(result.restored, out)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (Cancelled, KeyboardInterrupt):
        print("\ninterrupted.", file=sys.stderr)
        return 130
    if result.has_truth:
        print(f"Blur: {degradation.describe() if degradation else 'given'}; method: {method}. Means over frames:")
        print(metrics_table(result.rows()))
    if result.kernel_estimate is not None:
        print(_estimate_line(result.kernel_estimate, len(result.blurred)))
    h, w = encoded_size(result.restored, out.suffix.lstrip(".").lower())
    print(
        f"Wrote {out} ({len(result.restored)} frames, {w} x {h}, {_format_fps(result.restored.fps)} fps, "
        f"no audio) in {result.seconds:.1f} s."
    )
    return 0


def cmd_video(args: argparse.Namespace) -> int:
    return int(run_cli(args) or 0)


def add_parser(commands: argparse._SubParsersAction, prog: str) -> None:
    """The ``video`` command and its options."""
    p = commands.add_parser(
        "video",
        help="deblur a video frame by frame and reassemble it",
        formatter_class=Formatter,
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
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it already exists")
    p.add_argument("--method", default="default", metavar="NAME|PATH", help="restoration method, as for deblur")
    p.add_argument("--kernel", metavar="SPEC", help=KERNEL_HELP + "; required by the methods that need it")
    p.add_argument(
        "--approximate-kernel",
        action="store_true",
        help="the --kernel is a guess, not the blur known exactly: the learned deconvolver leans on it less (without "
        "this it runs its network for exact kernels, sharper with the right kernel and worse with a wrong one)",
    )
    p.add_argument("--blur", metavar="SPEC", help="blur the frames with this kernel first (a demonstration)")
    p.add_argument("--max-frames", type=positive_int, metavar="N", help="process only the first N frames")
    p.set_defaults(handler=cmd_video)


def _estimate_line(found, frames: int) -> str:
    """What the one estimate for the clip found, for a method that estimates the kernel."""
    picked = clip_estimate_frames(frames)
    where = f"estimated once for the clip, on {picked} frame{'s' if picked > 1 else ''}, {found.seconds:.1f} s"
    if found.fallback:
        return f"Blur: {found.fallback_reason()} ({where}); the frames are left as they are."
    return f"Blur: a {found.size_text()} kernel, confidence {found.confidence_words()} ({where}), used for every frame."


def _why_no_kernel(record) -> str:
    """Why a method does not take --kernel, in a few words."""
    if record is None:
        return "learned models find the blur themselves."
    return (
        "it estimates the kernel from the clip itself." if record.kernel == "estimates" else "it does not use a kernel."
    )
