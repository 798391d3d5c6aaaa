"""Restoring a clip: every frame through :func:`deblur_core.restoration.restore`, and the per-frame metrics.

A model whose card says ``frames: 3`` sees the previous, current and next frames stacked on the
channel axis (H x W x 9, the first and last frames repeated at the ends) and restores the middle one;
still-image models and the classical methods get one frame at a time. A method that estimates the blur
kernel estimates it once for the clip (:func:`estimate_clip_kernel`), not per frame: a kernel that changed
from frame to frame would make the result flicker, and one estimate costs seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deblur_core import metrics
from deblur_core.image import to_uint8
from deblur_core.progress import CancelFn, ProgressFn, check_cancel
from deblur_core.video.clip import Video
from deblur_core.video.synthetic import Degradation

if TYPE_CHECKING:
    from deblur_core.classical.estimate import KernelEstimate

CLIP_ESTIMATE_FRAMES = 3
"""How many frames, spread over a clip, :func:`estimate_clip_kernel` estimates the blur on."""

# -- restoration ----------------------------------------------------------------------------------


def neighbour_stack(video: Video | np.ndarray, index: int, count: int = 3) -> np.ndarray:
    """Frames ``index - count//2 .. index + count//2`` stacked on the channel axis (oldest first).

    At the ends the first or last frame is repeated, so every frame has a full stack.

    Parameters
    ----------
    video : Video or ndarray
        A clip, or frames as an N x H x W x 3 float array in [0, 1].
    index : int
        The middle frame, 0 <= index < N.
    count : int
        Odd number of frames in the stack.

    Returns
    -------
    ndarray
        float32, H x W x 3*count; channels ``3*(count//2) .. 3*(count//2)+2`` are frame ``index``.
    """
    if count < 1 or count % 2 == 0:
        raise ValueError(f"A frame stack holds an odd number of frames; got {count}.")
    n = len(video)
    if not 0 <= index < n:
        raise ValueError(f"Frame {index} is outside the clip of {n} frames.")
    half = count // 2
    picks = [min(max(index + d, 0), n - 1) for d in range(-half, half + 1)]
    if isinstance(video, Video):
        parts = [video.frame(i) for i in picks]
    else:
        parts = [np.asarray(video[i], np.float32) for i in picks]
    return np.concatenate(parts, axis=2)


def model_frames(method: str, registry=None) -> int:
    """How many frames ``method`` takes at once: the model card's ``frames``, 1 for a method of the catalogue.

    Raises
    ------
    ValueError
        For a method of the catalogue that does not take video frames, or an unknown model.
    """
    from deblur_core.learned.registry import resolve_model
    from deblur_core.restoration import get_method

    record = get_method(method)
    if record is not None:
        if "frames" not in record.takes:
            raise ValueError(f"{record.title} takes still photos only, not video frames.")
        return 1 if record.model is None else resolve_model(record.model, registry).frames
    return resolve_model(method, registry).frames


def estimate_clip_kernel(
    video: Video,
    *,
    max_size: int = 31,
    frames: int = CLIP_ESTIMATE_FRAMES,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> KernelEstimate:
    """One blur kernel for a whole clip, estimated on a few of its frames instead of on every one.

    The frames at the middles of ``frames`` equal parts of the clip are estimated
    (:func:`deblur_core.classical.estimate.estimate_kernel`); of the estimates that found a blur the
    most confident is kept, and when none did, the clip's blur is reported as not found (the first
    fallback), so its frames are left as they are.

    Parameters
    ----------
    video : Video
        The blurred clip.
    max_size : int
        The largest kernel side to consider (as for ``estimate_kernel``).
    frames : int
        How many frames to estimate on (at most the clip's length).
    on_progress : callable, optional
        ``on_progress(done, total, info)`` after each frame's estimate; ``info["frame"]`` is 1-based.
    cancel : callable, optional
        Returns True to stop (raises :class:`deblur_core.progress.Cancelled`).

    Returns
    -------
    KernelEstimate
        The kept estimate (its ``seconds`` is the time of all of them).
    """
    from deblur_core.classical.estimate import estimate_kernel

    if frames < 1:
        raise ValueError(f"A clip's blur is estimated on at least one frame; got {frames}.")
    n = len(video)
    count = clip_estimate_frames(n, frames)
    picks = sorted({min(n - 1, int((2 * i + 1) * n / (2 * count))) for i in range(count)})
    start = time.perf_counter()
    found: list[KernelEstimate] = []
    for done, index in enumerate(picks, 1):
        check_cancel(cancel)
        found.append(estimate_kernel(video.frame(index), max_size=max_size, cancel=cancel))
        if on_progress is not None:
            on_progress(done, len(picks), {"frame": index + 1})
    blurs = [estimate for estimate in found if not estimate.fallback]
    best = max(blurs, key=lambda estimate: estimate.confidence) if blurs else found[0]
    return replace(best, seconds=time.perf_counter() - start)


def clip_estimate_frames(length: int, frames: int = CLIP_ESTIMATE_FRAMES) -> int:
    """How many frames of a clip of ``length`` frames :func:`estimate_clip_kernel` estimates on."""
    return min(frames, length)


def restore_video(
    video: Video,
    method: str = "default",
    *,
    kernel: np.ndarray | None = None,
    estimate: KernelEstimate | None = None,
    kernel_approximate: bool = False,
    registry=None,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    **options,
) -> Video:
    """Restore every frame of ``video`` with ``method`` through :func:`deblur_core.restoration.restore`.

    A model with ``frames: 3`` on its card gets each frame with its previous and next frame
    (:func:`neighbour_stack`); still-image models and the classical methods get one frame at a time.

    Parameters
    ----------
    video : Video
        The blurred clip.
    method : str
        Any method :func:`~deblur_core.restoration.restore` accepts.
    kernel : ndarray, optional
        The known blur, for the classical methods.
    estimate : KernelEstimate, optional
        For a method that estimates the kernel: the clip's estimate made beforehand (:func:`estimate_clip_kernel`);
        made here when None. Every frame is restored with its kernel, or left as is where it found no clear blur.
    kernel_approximate : bool
        ``kernel`` is a guess, not the blur known exactly: passed on as ``restore``'s ``kernel_estimated``.
    registry : Registry, optional
        Where model names are looked up.
    on_progress : callable, optional
        ``on_progress(done_frames, total_frames, info)`` after each frame; ``info`` has ``frame``
        (1-based), ``elapsed_s`` and ``remaining_s`` (an estimate). It does not change the result.
    cancel : callable, optional
        Returns True to stop; checked between frames (and inside long methods), raising
        :class:`deblur_core.progress.Cancelled`.
    **options
        Passed to a classical method (``nsr=``, ``iterations=``).

    Returns
    -------
    Video
        The restored clip: same frame count, size and frame rate.
    """
    from deblur_core.restoration import get_method, restore_image

    frames = model_frames(method, registry)
    label = method_label(method, registry)
    record = get_method(method)
    per_frame = None  # the method each frame is restored with; None leaves the frames as they are
    estimated = record is not None and record.kernel == "estimates"
    lean_less = estimated or (kernel_approximate and record is not None and record.needs_kernel)  # a guessed kernel
    if estimated:
        if estimate is None:
            estimate = estimate_clip_kernel(video, cancel=cancel)
        if not estimate.fallback:
            per_frame, kernel = record.with_kernel, estimate.kernel
    else:
        per_frame = method
    n = len(video)
    out = np.empty_like(video.pixels)
    start = time.monotonic()
    for i in range(n):
        check_cancel(cancel)
        if per_frame is None:
            out[i] = video.pixels[i]
        else:
            image = neighbour_stack(video, i, frames) if frames > 1 else video.frame(i)
            restored = restore_image(
                image, per_frame, kernel=kernel, kernel_estimated=lean_less, registry=registry, cancel=cancel, **options
            )
            out[i] = to_uint8(restored)
        if on_progress is not None:
            elapsed = time.monotonic() - start
            on_progress(
                i + 1, n, {"frame": i + 1, "elapsed_s": elapsed, "remaining_s": elapsed / (i + 1) * (n - i - 1)}
            )
    return replace(video, pixels=out, name=f"restored ({label})")


def method_label(method: str, registry=None) -> str:
    """A method as people read it: ``default`` becomes the model's name, a path its file name."""
    if method == "default":
        from deblur_core.learned.registry import default_registry

        try:
            return (registry or default_registry()).default_name()
        except ValueError:
            return method
    if "/" in method or "\\" in method:
        return Path(method).name.removesuffix(".keras").removesuffix(".weights.h5")
    return method


# -- metrics --------------------------------------------------------------------------------------


def frame_metrics(
    truth: Video, test: Video, on_progress: ProgressFn | None = None, cancel: CancelFn | None = None
) -> dict[str, np.ndarray]:
    """PSNR (dB), SSIM and MSE of every frame of ``test`` against the same frame of ``truth``.

    Each value is exactly what :func:`deblur_core.metrics.psnr` (``ssim``, ``mse``) gives for the
    two frames as float32 images.

    Returns
    -------
    dict
        ``{"psnr": array, "ssim": array, "mse": array}``, one float64 value per frame.

    Raises
    ------
    ValueError
        If the clips differ in frame count or size.
    """
    if len(truth) != len(test) or truth.size != test.size:
        raise ValueError(
            f"The clips differ: {truth.describe()} against {test.describe()}; metrics compare frame by frame."
        )
    n = len(truth)
    out = {"psnr": np.empty(n), "ssim": np.empty(n), "mse": np.empty(n)}
    for i in range(n):
        check_cancel(cancel)
        a, b = truth.frame(i), test.frame(i)
        out["psnr"][i], out["ssim"][i], out["mse"][i] = metrics.psnr(a, b), metrics.ssim(a, b), metrics.mse(a, b)
        if on_progress is not None:
            on_progress(i + 1, n, {"frame": i + 1})
    return out


def summary_row(name: str, scores: dict[str, np.ndarray]) -> dict:
    """One row of the per-video table: the means over frames."""
    return {
        "video": name,
        "frames": len(scores["psnr"]),
        "psnr": float(np.mean(scores["psnr"])),
        "ssim": float(np.mean(scores["ssim"])),
        "mse": float(np.mean(scores["mse"])),
    }


def metrics_table(rows: list[dict]) -> str:
    """A markdown table of per-video rows: video, frames, PSNR (dB), SSIM, MSE (means over frames)."""
    lines = ["| video | frames | PSNR (dB) | SSIM | MSE |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        psnr_text = metrics.format_psnr(r["psnr"]).removesuffix(" dB")
        lines.append(
            f"| {r['video']} | {r['frames']} | {psnr_text} | {metrics.format_ssim(r['ssim'])} | {r['mse']:.5f} |"
        )
    return "\n".join(lines)


@dataclass
class VideoResult:
    """Everything one run produced: the clips and, when there is ground truth, the per-frame metrics."""

    source: Video
    blurred: Video
    restored: Video
    truth: Video | None
    method: str  # as people read it (see method_label)
    frames_per_step: int
    degradation: Degradation | None = None
    blurred_scores: dict[str, np.ndarray] | None = None
    restored_scores: dict[str, np.ndarray] | None = None
    seconds: float = 0.0
    kernel_estimate: KernelEstimate | None = None  # the clip's estimate, for a method that estimates the kernel

    @property
    def has_truth(self) -> bool:
        return self.truth is not None and self.restored_scores is not None

    def rows(self) -> list[dict]:
        """Per-video rows for the table: the blurred input and the result (empty without truth)."""
        if not self.has_truth:
            return []
        return [
            summary_row("blurred input", self.blurred_scores),
            summary_row(f"restored ({self.method})", self.restored_scores),
        ]


def deblur_video(
    video: Video,
    method: str = "default",
    *,
    kernel: np.ndarray | None = None,
    degradation: Degradation | None = None,
    truth: Video | None = None,
    kernel_approximate: bool = False,
    registry=None,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    **options,
) -> VideoResult:
    """Optionally blur a sharp clip on purpose, restore it, and measure every frame against the truth.

    Parameters
    ----------
    video : Video
        The clip: sharp when ``degradation`` is given, otherwise the blurry clip to restore.
    method : str
        The restoration method (see :func:`restore_video`).
    kernel : ndarray, optional
        The known blur for classical methods; defaults to the degradation's kernel.
    degradation : Degradation, optional
        A synthetic blur; its sharp frames become the ground truth.
    truth : Video, optional
        Ground truth for a blurred ``video`` without ``degradation``.
    kernel_approximate : bool
        ``kernel`` is a guess, not the blur known exactly (see :func:`restore_video`).
    on_progress : callable, optional
        ``on_progress(done, total, info)``; ``info["stage"]`` is ``"restoring"`` or ``"measuring"``,
        ``info["frame"]`` the frame number.
    cancel : callable, optional
        Returns True to stop (raises :class:`deblur_core.progress.Cancelled`).

    Returns
    -------
    VideoResult
    """
    from deblur_core.restoration import get_method

    start = time.monotonic()
    if degradation is not None:
        blurred, truth = degradation.apply(video)
        if kernel is None:
            kernel = degradation.kernel_array()
    else:
        blurred = video
    record = get_method(method)
    if record is not None and record.needs_kernel and kernel is None:
        raise ValueError(
            f"{method} needs the blur kernel: choose the blur the clip has (a known kernel), or use a learned model."
        )
    if truth is not None and (len(truth) != len(blurred) or truth.size != blurred.size):
        raise ValueError("The ground truth must have as many frames, of the same size, as the clip.")
    n = len(blurred)
    estimating = record is not None and record.kernel == "estimates"
    first = clip_estimate_frames(n) if estimating else 0  # an estimate costs about a restored frame or two
    total = first + n * (3 if truth is not None else 1)  # measuring both clips costs about as much as restoring one

    def stage(name: str, offset: int, scale: int = 1) -> ProgressFn | None:
        if on_progress is None:
            return None
        return lambda done, _total, info: on_progress(offset + done * scale, total, {**info, "stage": name})

    frames = model_frames(method, registry)  # a method that takes no frames is refused before any estimate
    estimate = estimate_clip_kernel(blurred, on_progress=stage("estimating", 0), cancel=cancel) if first else None
    given = dict(kernel=kernel, estimate=estimate, kernel_approximate=kernel_approximate, registry=registry)
    restored = restore_video(blurred, method, on_progress=stage("restoring", first), cancel=cancel, **given, **options)
    result = VideoResult(video, blurred, restored, truth, method_label(method, registry), frames, degradation)
    result.kernel_estimate = estimate
    if truth is not None:
        result.blurred_scores = frame_metrics(truth, blurred, stage("measuring", first + n), cancel)
        result.restored_scores = frame_metrics(truth, restored, stage("measuring", first + 2 * n), cancel)
    result.seconds = time.monotonic() - start
    return result
