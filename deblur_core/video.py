"""Video: decode a clip into frames, restore every frame (alone or with its neighbours), encode the result.

A :class:`Video` keeps its frames as 8-bit RGB, exactly as a video file stores them, so a clip of a
few hundred frames costs a quarter of the memory it would as float32; every frame is handed to the
restoration code as float32 RGB in [0, 1] (:meth:`Video.frame`), the library's convention.

Decoding and encoding use the ffmpeg program that ships inside the ``imageio-ffmpeg`` wheel, so no
system installation is needed; OpenCV's own decoder and a VP8 WebM writer are the fallback when that
program is missing. Video decoders need a file, so an upload given as bytes is written to a private
temporary folder only for the time it takes to decode it, and removed right after, also on errors.
The result is H.264 in MP4 (or VP9 in WebM), which plays in every current browser. Sound is not
kept: the output has no audio track.

Limits are checked before any frame is decoded where the file's header allows it: at most
:data:`DEFAULT_MAX_FRAMES` frames, :data:`DEFAULT_MAX_SIZE` pixels, :data:`DEFAULT_MAX_BYTES` bytes
and :data:`DEFAULT_MAX_TOTAL_PIXELS` pixels over all frames. A file that is not a video, holds no
frames, is too long or is damaged is refused with a :class:`VideoLoadError` (a ``ValueError``) whose
message starts with the file's name.

Restoration goes through :func:`deblur_core.inference.restore`, one frame at a time. A model whose
card says ``frames: 3`` sees the previous, current and next frames stacked on the channel axis
(H x W x 9, the first and last frames repeated at the ends) and restores the middle one.
"""

from __future__ import annotations

import functools
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from deblur_core import metrics
from deblur_core.image import to_uint8
from deblur_core.progress import CancelFn, ProgressFn, check_cancel

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_FRAMES",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_MAX_TOTAL_PIXELS",
    "OUTPUT_FORMATS",
    "VIDEO_SUFFIXES",
    "Degradation",
    "Video",
    "VideoLoadError",
    "VideoResult",
    "average_frames",
    "averaging_kernel_spec",
    "blur_video",
    "deblur_video",
    "encode_video",
    "frame_metrics",
    "limits_text",
    "method_label",
    "metrics_table",
    "model_frames",
    "neighbour_stack",
    "read_video",
    "restore_video",
    "run_cli",
    "sample_clip",
    "write_video",
]

DEFAULT_MAX_FRAMES = 300
DEFAULT_MAX_SIZE = (1920, 1080)  # (long side, short side) in pixels: Full HD, landscape or portrait
DEFAULT_MAX_BYTES = 200 * 1024 * 1024  # the app's upload limit (server.maxUploadSize = 200 MB)
DEFAULT_MAX_TOTAL_PIXELS = 120_000_000  # over all frames: about 360 MB of 8-bit frames per copy
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".webm", ".mkv", ".gif")
OUTPUT_FORMATS = ("mp4", "webm")
MIME_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}

_FFMPEG_TIMEOUT_S = 120


class VideoLoadError(ValueError):
    """A video file that cannot be used; the message starts with the file's name.

    Parameters
    ----------
    filename : str
        Name shown to the user, e.g. ``"clip.mp4"``.
    reason : str
        One sentence saying what is wrong and, where possible, what to do.
    """

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason

    def __reduce__(self):
        return (type(self), (self.filename, self.reason))


# -- the clip ------------------------------------------------------------------------------------


@dataclass
class Video:
    """A clip: 8-bit RGB frames, a frame rate and a name.

    Attributes
    ----------
    pixels : ndarray
        uint8, N x H x W x 3 (RGB).
    fps : float
        Frames per second, > 0.
    name : str
        Shown in tables and messages.
    has_audio : bool
        Whether the source file had a sound track (which the output does not keep).
    trimmed_from : int or None
        The number of frames in the source when only its first ``len(video)`` frames were kept.
    motion : (float, float) or None
        For a synthetic clip whose camera moves in a straight line: (pixels per frame, direction in
        degrees counter-clockwise from the x axis), so the blur of averaged frames is known.
    """

    pixels: np.ndarray
    fps: float
    name: str = "video"
    has_audio: bool = False
    trimmed_from: int | None = None
    motion: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        p = self.pixels
        if not isinstance(p, np.ndarray) or p.dtype != np.uint8 or p.ndim != 4 or p.shape[3] != 3:
            raise ValueError(
                "Video frames must be a uint8 array of shape N x H x W x 3; use Video.from_frames for floats."
            )
        if p.shape[0] == 0:
            raise ValueError(f"{self.name}: the video has no frames.")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"{self.name}: the frame rate must be a positive number of frames per second.")

    @classmethod
    def from_frames(cls, frames, fps: float, name: str = "video", **kwargs) -> Video:
        """Build a clip from float32 RGB frames in [0, 1] (an N x H x W x 3 array or a list of H x W x 3).

        Values are rounded to 8 bits, as a video file stores them.
        """
        if isinstance(frames, np.ndarray) and frames.dtype == np.uint8:
            return cls(np.ascontiguousarray(frames), float(fps), name, **kwargs)
        frames = list(frames) if not isinstance(frames, np.ndarray) else frames
        if len(frames) == 0:
            raise ValueError(f"{name}: the video has no frames.")
        shape = np.shape(frames[0])
        if len(shape) != 3 or shape[2] != 3:
            raise ValueError(f"{name}: each frame must be an H x W x 3 RGB array; got shape {shape}.")
        out = np.empty((len(frames), *shape), np.uint8)
        for i, f in enumerate(frames):
            if np.shape(f) != shape:
                raise ValueError(
                    f"{name}: frame {i + 1} has shape {np.shape(f)}, the first has {shape}; all must match."
                )
            out[i] = to_uint8(np.asarray(f))
        return cls(out, float(fps), name, **kwargs)

    def __len__(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[2])

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return self.height, self.width

    @property
    def duration(self) -> float:
        """Length in seconds: frames / fps."""
        return len(self) / self.fps

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as float32 RGB in [0, 1], H x W x 3."""
        return self.pixels[index].astype(np.float32) / np.float32(255.0)

    def frames(self) -> Iterator[np.ndarray]:
        """Iterate over the frames as float32 RGB in [0, 1]."""
        for i in range(len(self)):
            yield self.frame(i)

    def as_float(self) -> np.ndarray:
        """All frames as one float32 N x H x W x 3 array in [0, 1] (four times the memory)."""
        return self.pixels.astype(np.float32) / np.float32(255.0)

    def describe(self) -> str:
        """``"48 frames, 640 x 360, 24 fps, 2.0 s"``."""
        return f"{len(self)} frames, {self.width} x {self.height}, {_format_fps(self.fps)} fps, {self.duration:.1f} s"


def _format_fps(fps: float) -> str:
    return f"{fps:.0f}" if abs(fps - round(fps)) < 0.005 else f"{fps:.2f}"


def limits_text(
    max_frames: int = DEFAULT_MAX_FRAMES,
    max_size: tuple[int, int] = DEFAULT_MAX_SIZE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_total_pixels: int = DEFAULT_MAX_TOTAL_PIXELS,
) -> str:
    """One sentence stating the limits, to show before an upload."""
    hd_frames = max_total_pixels // (max_size[0] * max_size[1])
    return (
        f"Videos up to {max_frames} frames, {max_size[0]} x {max_size[1]} pixels and {max_bytes // 2**20} MB; "
        f"{max_total_pixels // 1_000_000} megapixels over all frames "
        f"(about {min(hd_frames, max_frames)} frames of {max_size[0]} x {max_size[1]}). "
        "MP4, MOV, AVI, WebM, MKV or animated GIF. The sound track is not kept."
    )


# -- ffmpeg ---------------------------------------------------------------------------------------


@functools.cache
def ffmpeg_exe() -> str | None:
    """Path of the ffmpeg program bundled with imageio-ffmpeg, or None if it is unavailable."""
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError, OSError):
        return None
    return exe if exe and Path(exe).is_file() else None


@functools.cache
def ffmpeg_encoders() -> frozenset[str]:
    """Names of the video encoders the bundled ffmpeg offers (empty without ffmpeg)."""
    exe = ffmpeg_exe()
    if exe is None:
        return frozenset()
    try:
        out = subprocess.run(
            [exe, "-hide_banner", "-nostdin", "-encoders"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(m.group(1) for m in re.finditer(r"^\s*V\S*\s+(\S+)", out, re.MULTILINE))


@dataclass
class _Probe:
    """What ffmpeg's header report says about a file."""

    container: str = ""
    codec: str = ""
    width: int = 0
    height: int = 0
    fps: float = 0.0
    duration: float | None = None
    has_audio: bool = False
    rotation: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def expected_frames(self) -> int | None:
        if self.duration is None or not self.fps:
            return None
        return round(self.duration * self.fps)


_STREAM_RE = re.compile(r"Stream #\d+:\d+.*?: (Video|Audio): (.*)")
_SIZE_RE = re.compile(r"(?:^|[ ,])(\d{1,5})x(\d{1,5})(?=[ ,\[]|$)")
_RATE_RE = re.compile(r"([\d.]+)(k?) (fps|tbr)")


def _probe(exe: str, path: Path) -> _Probe:
    """Run ``ffmpeg -i`` (no output) and read the container, first video stream, audio and rotation."""
    proc = subprocess.run(
        [exe, "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        timeout=_FFMPEG_TIMEOUT_S,
        check=False,
    )
    text = proc.stderr.decode("utf-8", "replace")
    info = _Probe()
    m = re.search(r"Input #0, ([^,]+)", text)
    info.container = m.group(1).strip() if m else ""
    m = re.search(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", text)
    if m:
        info.duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    video_seen = False
    for line in text.splitlines():
        sm = _STREAM_RE.search(line)
        if sm and sm.group(1) == "Audio":
            info.has_audio = True
        elif sm and not video_seen and "attached pic" not in line:
            video_seen = True
            desc = sm.group(2)
            info.codec = desc.split(",", 1)[0].split(" ", 1)[0].strip()
            size = _SIZE_RE.search(desc)
            if size:
                info.width, info.height = int(size.group(1)), int(size.group(2))
            rates = {kind: float(v) * (1000 if k else 1) for v, k, kind in _RATE_RE.findall(desc)}
            info.fps = rates.get("fps") or rates.get("tbr") or 0.0
        elif video_seen and "rotation of" in line:
            rm = re.search(r"rotation of (-?[\d.]+) degrees", line)
            if rm:
                info.rotation = round(float(rm.group(1))) % 360
    if info.rotation in (90, 270):
        info.width, info.height = info.height, info.width
    if not video_seen:
        tail = [ln.strip() for ln in text.splitlines() if ln.strip()][-2:]
        info.errors = tail
    return info


_STILL_CONTAINERS = ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "pgm_pipe", "ppm_pipe")


def _check_probe(info: _Probe, label: str, max_size: tuple[int, int]) -> None:
    """Refuse what is not a video, or is too large, before decoding anything."""
    if info.container in _STILL_CONTAINERS or info.container.endswith("_pipe"):
        raise VideoLoadError(
            label, "is a still image, not a video. Use the Deblur page (or the deblur command) for photos."
        )
    if not info.codec or not info.width or not info.height:
        raise VideoLoadError(
            label,
            "is not a video that can be read (no video stream found). "
            "Use an MP4, MOV, AVI, WebM, MKV or animated GIF file; if it is one, the file may be damaged.",
        )
    _check_size(info.width, info.height, label, max_size)


def _check_size(width: int, height: int, label: str, max_size: tuple[int, int]) -> None:
    long_side, short_side = max(width, height), min(width, height)
    if long_side > max_size[0] or short_side > max_size[1]:
        raise VideoLoadError(
            label,
            f"is {width} x {height} pixels, larger than the limit of {max_size[0]} x {max_size[1]}. "
            f"Scale it down first (for example to {max_size[0]} pixels on the long side).",
        )


def _too_long(label: str, max_frames: int, found: str) -> VideoLoadError:
    return VideoLoadError(
        label,
        f"has {found} frames, more than the limit of {max_frames}. Cut it shorter, or keep only its first frames.",
    )


def _too_many_pixels(label: str, width: int, height: int, max_total_pixels: int) -> VideoLoadError:
    frames = max(1, max_total_pixels // (width * height))
    return VideoLoadError(
        label,
        f"is too long for its size: at {width} x {height} pixels at most {frames} frames fit the limit of "
        f"{max_total_pixels // 1_000_000} megapixels over all frames. Cut it shorter or scale it down.",
    )


def _decode_ffmpeg(
    exe: str,
    path: Path,
    label: str,
    info: _Probe,
    frame_limit: int,
    trim: bool,
    max_frames: int,
    max_total_pixels: int,
    scratch: Path,
) -> tuple[np.ndarray, bool]:
    """Decode up to ``frame_limit`` frames (one more when not trimming, to detect a longer file).

    Returns the frames and whether the file had more than ``frame_limit``.
    """
    w, h = info.width, info.height
    frame_bytes = w * h * 3
    err_path = scratch / "decode.log"
    cmd = [
        exe,
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-fps_mode",
        "passthrough",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
    ]
    frames: list[np.ndarray] = []
    longer = False
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        try:
            assert proc.stdout is not None
            while True:
                chunk = proc.stdout.read(frame_bytes)
                if len(chunk) < frame_bytes:
                    break
                if len(frames) >= frame_limit:
                    longer = True
                    break
                frames.append(np.frombuffer(chunk, np.uint8).reshape(h, w, 3))
                if not trim and (len(frames) + 1) * w * h > max_total_pixels and len(frames) < max_frames:
                    # The next frame would exceed the pixel budget: stop reading now.
                    chunk = proc.stdout.read(frame_bytes)
                    if len(chunk) == frame_bytes:
                        raise _too_many_pixels(label, w, h, max_total_pixels)
                    break
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.wait(timeout=_FFMPEG_TIMEOUT_S)
    errors = err_path.read_text("utf-8", "replace").strip()
    if longer:
        return np.stack(frames), True
    if not frames:
        if errors:
            raise VideoLoadError(label, "could not be decoded; the file is damaged or incomplete.")
        raise VideoLoadError(label, "contains no frames.")
    expected = info.expected_frames
    if proc.returncode not in (0, None, -9) or (errors and expected is not None and len(frames) < expected - 1):
        raise VideoLoadError(
            label,
            f"is damaged or incomplete (truncated): only {len(frames)} of about {expected or '?'} frames could be "
            "decoded. Use the complete file.",
        )
    return np.stack(frames), False


def _decode_cv2(path: Path, label: str, frame_limit: int) -> tuple[np.ndarray, float, bool]:
    """The fallback decoder when ffmpeg is missing: OpenCV's own build of FFmpeg."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoLoadError(label, "is not a video that can be read, or the file is damaged.")
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
        frames: list[np.ndarray] = []
        longer = False
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if len(frames) >= frame_limit:
                longer = True
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    if not frames:
        raise VideoLoadError(label, "contains no frames that can be decoded.")
    return np.stack(frames), fps, longer


def _source_label(source: object, name: str | None) -> str:
    if name:
        return Path(str(name)).name or "video"
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return Path(str(getattr(source, "name", "") or "video")).name or "video"


def _read_bytes(source: bytes | BinaryIO, label: str, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        size = getattr(source, "size", None)
        if isinstance(size, int) and size > max_bytes:
            raise VideoLoadError(label, _too_big_reason(size, max_bytes))
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise VideoLoadError(label, _too_big_reason(len(data), max_bytes))
    return data


def _too_big_reason(size: int, max_bytes: int) -> str:
    return f"is {size / 2**20:.0f} MB, more than the limit of {max_bytes // 2**20} MB. Cut it shorter or compress it."


def read_video(
    source: str | os.PathLike | bytes | BinaryIO,
    *,
    name: str | None = None,
    max_frames: int = DEFAULT_MAX_FRAMES,
    max_size: tuple[int, int] = DEFAULT_MAX_SIZE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_total_pixels: int = DEFAULT_MAX_TOTAL_PIXELS,
    trim: bool = False,
) -> Video:
    """Decode a video file into a :class:`Video`.

    Parameters
    ----------
    source : path, bytes or binary file
        The video. Bytes and file objects (such as an upload) are written to a private temporary
        folder while they are decoded, because video decoders need a file; it is removed before this
        function returns, also when it raises.
    name : str, optional
        The name used in messages (default: the file's name).
    max_frames : int
        Refuse longer videos, or keep only their first ``max_frames`` frames with ``trim=True``.
    max_size : (int, int)
        Largest (long side, short side) in pixels, in either orientation.
    max_bytes : int
        Largest file size.
    max_total_pixels : int
        Largest number of pixels over all frames (width x height x frames).
    trim : bool
        Keep the first frames of a longer video instead of refusing it (``Video.trimmed_from`` then
        says how many frames there were, or at least how many were seen).

    Returns
    -------
    Video
        8-bit RGB frames (rotation metadata applied), the frame rate and whether there was sound.

    Raises
    ------
    VideoLoadError
        (a ValueError) for a missing, empty, too large, too long, damaged or non-video file.
    """
    label = _source_label(source, name)
    if max_frames < 1:
        raise ValueError("The frame limit must be at least 1.")
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise VideoLoadError(label, "does not exist.")
        if not path.is_file():
            raise VideoLoadError(label, "is not a file.")
        size = path.stat().st_size
        if size == 0:
            raise VideoLoadError(label, "is empty (0 bytes).")
        if size > max_bytes:
            raise VideoLoadError(label, _too_big_reason(size, max_bytes))
        with tempfile.TemporaryDirectory(prefix="deblur-video-") as scratch:
            return _read_path(path, label, max_frames, max_size, max_total_pixels, trim, Path(scratch))
    data = _read_bytes(source, label, max_bytes)
    if not data:
        raise VideoLoadError(label, "is empty (0 bytes).")
    suffix = Path(label).suffix.lower()
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ".bin"
    # TemporaryDirectory creates the folder readable by this user only and removes it on any exit.
    with tempfile.TemporaryDirectory(prefix="deblur-video-") as scratch:
        path = Path(scratch) / f"upload{suffix}"
        path.write_bytes(data)
        del data
        return _read_path(path, label, max_frames, max_size, max_total_pixels, trim, Path(scratch))


def _read_path(
    path: Path,
    label: str,
    max_frames: int,
    max_size: tuple[int, int],
    max_total_pixels: int,
    trim: bool,
    scratch: Path,
) -> Video:
    exe = ffmpeg_exe()
    if exe is None:
        pixels, fps, longer = _decode_cv2(path, label, max_frames)
        has_audio, total_guess = False, None
        _check_size(pixels.shape[2], pixels.shape[1], label, max_size)
    else:
        try:
            info = _probe(exe, path)
        except subprocess.TimeoutExpired:
            raise VideoLoadError(label, "took too long to open; the file may be damaged.") from None
        _check_probe(info, label, max_size)
        per_frame = info.width * info.height
        budget = max(1, max_total_pixels // per_frame)
        frame_limit = min(max_frames, budget)
        expected = info.expected_frames
        if not trim and expected is not None and expected > max_frames + 1:
            raise _too_long(label, max_frames, f"about {expected}")
        if not trim and expected is not None and expected > budget + 1:
            raise _too_many_pixels(label, info.width, info.height, max_total_pixels)
        try:
            pixels, longer = _decode_ffmpeg(
                exe, path, label, info, frame_limit, trim, max_frames, max_total_pixels, scratch
            )
        except subprocess.TimeoutExpired:
            raise VideoLoadError(label, "took too long to decode; the file may be damaged.") from None
        fps, has_audio, total_guess = info.fps, info.has_audio, expected
    if longer and not trim:
        if len(pixels) >= max_frames:
            raise _too_long(label, max_frames, "more than " if total_guess is None else f"about {total_guess}")
        raise _too_many_pixels(label, pixels.shape[2], pixels.shape[1], max_total_pixels)
    if not fps or not math.isfinite(fps):
        fps = 25.0
    trimmed_from = None
    if longer:
        trimmed_from = max(total_guess or 0, len(pixels) + 1)
    return Video(np.ascontiguousarray(pixels), float(fps), label, has_audio, trimmed_from)


# -- writing --------------------------------------------------------------------------------------


def _rate_text(fps: float) -> str:
    """A frame rate as the exact fraction ffmpeg should use (29.97 -> 30000/1001)."""
    for base in (24, 30, 60, 120, 48):
        if abs(fps - base * 1000 / 1001) < 0.006:
            return f"{base * 1000}/1001"
    frac = Fraction(fps).limit_denominator(1000)
    return f"{frac.numerator}/{frac.denominator}"


def _format_for(path: Path, format: str | None) -> str:
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"Videos are written as MP4 or WebM; '{path.name}' should end in .mp4 or .webm.")
    return fmt


def _even_pad(frame: np.ndarray) -> np.ndarray:
    """Repeat the last row/column once where a side is odd (H.264 in 4:2:0 needs even sides)."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def encoded_size(video: Video, format: str = "mp4") -> tuple[int, int]:
    """(height, width) of the encoded file: MP4 rounds odd sides up to even by repeating the edge."""
    if format == "mp4":
        return video.height + video.height % 2, video.width + video.width % 2
    return video.size


def _encode_ffmpeg(exe: str, video: Video, out: Path, fmt: str, log: Path, cancel: CancelFn | None) -> None:
    h, w = encoded_size(video, fmt)
    if fmt == "mp4":
        codec = ["-c:v", "libx264", "-preset", "fast", "-crf", "18", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
        codec += ["-f", "mp4"]
    else:
        codec = ["-c:v", "libvpx-vp9", "-crf", "30", "-b:v", "0", "-deadline", "good", "-cpu-used", "4"]
        codec += ["-row-mt", "1", "-pix_fmt", "yuv420p", "-f", "webm"]
    cmd = [exe, "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    cmd += ["-s", f"{w}x{h}", "-r", _rate_text(video.fps), "-i", "-", "-an", *codec, str(out)]
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        assert proc.stdin is not None
        try:
            for i in range(len(video)):
                check_cancel(cancel)
                frame = video.pixels[i] if fmt != "mp4" else _even_pad(video.pixels[i])
                proc.stdin.write(np.ascontiguousarray(frame).tobytes())
            proc.stdin.close()
            proc.wait(timeout=_FFMPEG_TIMEOUT_S * 5)
        except BrokenPipeError:
            proc.wait(timeout=_FFMPEG_TIMEOUT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        detail = log.read_text("utf-8", "replace").strip().splitlines()
        raise ValueError(
            f"The video could not be encoded as {fmt.upper()}: {detail[-1] if detail else 'ffmpeg failed'}."
        )


def _encode_cv2(video: Video, out: Path) -> None:
    """Fallback writer without ffmpeg: VP8 in WebM through OpenCV (plays in Chromium and Firefox)."""
    import cv2

    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"VP80"), float(video.fps), (video.width, video.height))
    if not writer.isOpened():
        raise ValueError("The video could not be encoded: neither ffmpeg nor OpenCV's VP8 writer is available.")
    try:
        for i in range(len(video)):
            writer.write(cv2.cvtColor(video.pixels[i], cv2.COLOR_RGB2BGR))
    finally:
        writer.release()


def _ffmpeg_can_write(fmt: str) -> bool:
    """Whether the bundled ffmpeg has the encoder for ``fmt`` (H.264 for MP4, VP9 for WebM)."""
    encoder = "libx264" if fmt == "mp4" else "libvpx-vp9"
    return ffmpeg_exe() is not None and encoder in ffmpeg_encoders()


def _encode_to(video: Video, out: Path, fmt: str, cancel: CancelFn | None = None) -> None:
    """Encode into ``out`` as ``fmt``; without ffmpeg only WebM (VP8, through OpenCV) can be written."""
    if _ffmpeg_can_write(fmt):
        with tempfile.TemporaryDirectory(prefix="deblur-video-") as scratch:
            _encode_ffmpeg(ffmpeg_exe(), video, out, fmt, Path(scratch) / "encode.log", cancel)
    elif fmt == "webm":
        _encode_cv2(video, out)
    else:
        raise ValueError("MP4 cannot be written on this system (the bundled ffmpeg is missing); use .webm.")


def encode_video(video: Video, format: str = "mp4", cancel: CancelFn | None = None) -> tuple[bytes, str]:
    """Encode a clip in memory for playing and downloading.

    Parameters
    ----------
    video : Video
        The frames and frame rate to encode (the frame rate and size are kept; MP4 pads an odd side
        by one repeated row or column, see :func:`encoded_size`).
    format : {"mp4", "webm"}
        H.264 in MP4 (with the index at the front, so it starts playing before it is fully loaded),
        or VP9 in WebM.
    cancel : callable, optional
        Returns True to stop between frames.

    Returns
    -------
    (bytes, str)
        The file's content and its MIME type (``video/webm`` if ffmpeg is missing and the OpenCV
        fallback wrote VP8 WebM).

    Raises
    ------
    ValueError
        If the format is unknown or encoding fails.
    """
    fmt = _format_for(Path(f"video.{format}"), format)
    if not _ffmpeg_can_write(fmt):
        fmt = "webm"  # the OpenCV fallback
    with tempfile.TemporaryDirectory(prefix="deblur-video-") as scratch:
        out = Path(scratch) / f"out.{fmt}"
        _encode_to(video, out, fmt, cancel)
        return out.read_bytes(), MIME_TYPES[fmt]


def write_video(video: Video, path: str | os.PathLike, format: str | None = None) -> Path:
    """Write a clip to ``path`` atomically; ``.mp4`` gives H.264, ``.webm`` gives VP9.

    Raises
    ------
    ValueError
        If the ending is neither .mp4 nor .webm, or encoding fails.
    """
    from deblur_core.files import atomic_write_with

    path = Path(path)
    fmt = _format_for(path, format)
    return atomic_write_with(path, lambda tmp: _encode_to(video, Path(tmp), fmt))


# -- synthetic blur -------------------------------------------------------------------------------


def blur_video(video: Video, kernel: np.ndarray, noise: float = 0.0, rng: np.random.Generator | None = None) -> Video:
    """Blur every frame with ``kernel`` (reflect edges) and add Gaussian noise of ``noise`` sigma.

    The sharp clip itself is the ground truth for every frame. ``rng`` seeds the noise (default
    ``numpy.random.default_rng(0)``), so the same call gives the same clip.
    """
    from deblur_core.degrade import add_noise, blur

    rng = np.random.default_rng(0) if rng is None else rng
    out = np.empty_like(video.pixels)
    for i in range(len(video)):
        frame = blur(video.frame(i), kernel)
        if noise:
            frame = add_noise(frame, noise, rng)
        out[i] = to_uint8(frame)
    return replace(video, pixels=out, name=f"{video.name} (blurred)")


def average_frames(video: Video, window: int = 7, stride: int = 1) -> tuple[Video, Video]:
    """Real-looking motion blur: each output frame is the mean of ``window`` consecutive sharp frames.

    This is how the GoPro deblurring data set was made: a camera's exposure integrates light while
    things move, so averaging frames of a sharp (high frame rate) clip gives natural motion blur, and
    the sharp frame in the middle of each window is its ground truth.

    Parameters
    ----------
    video : Video
        The sharp clip, at least ``window`` frames long.
    window : int
        Frames averaged into one, an odd number >= 1 (so that there is a middle frame).
    stride : int
        Step between windows: 1 keeps the frame rate (overlapping windows); ``window`` gives
        non-overlapping windows as in GoPro, at ``fps / stride``.

    Returns
    -------
    (Video, Video)
        The blurred clip and the ground truth (the middle frame of each window); both have
        ``(len(video) - window) // stride + 1`` frames.

    Raises
    ------
    ValueError
        If ``window`` is even or not positive, ``stride`` is not positive, or the clip is too short.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"The averaging window must be an odd number of frames (1, 3, 5, ...); got {window}.")
    if stride < 1:
        raise ValueError(f"The step between windows must be at least 1 frame; got {stride}.")
    n = len(video)
    if n < window:
        raise ValueError(f"Averaging {window} frames needs a clip of at least {window} frames; this one has {n}.")
    starts = range(0, n - window + 1, stride)
    out = np.empty((len(starts), *video.pixels.shape[1:]), np.uint8)
    acc = video.pixels[:window].astype(np.float32).sum(axis=0)
    position = 0
    for k, start in enumerate(starts):
        while position < start:  # slide the running sum: drop the oldest frame, add the next
            acc -= video.pixels[position]
            acc += video.pixels[position + window]
            position += 1
        out[k] = to_uint8(acc / np.float32(window * 255.0))
    truth = video.pixels[[s + window // 2 for s in starts]]
    fps = video.fps / stride
    blurred = replace(video, pixels=out, fps=fps, name=f"{video.name} ({window}-frame average)", trimmed_from=None)
    sharp = replace(video, pixels=np.ascontiguousarray(truth), fps=fps, name=f"{video.name} (sharp)", trimmed_from=None)
    return blurred, sharp


@dataclass(frozen=True)
class Degradation:
    """A synthetic blur for demos with ground truth.

    ``kind="kernel"`` blurs every frame with the kernel ``kernel`` (a spec such as
    ``motion:length=9,angle=0``) and adds noise of sigma ``noise``, seeded by ``seed``;
    ``kind="average"`` averages ``window`` consecutive frames (see :func:`average_frames`).
    """

    kind: str = "kernel"
    kernel: str = "motion:length=9,angle=0"
    noise: float = 0.0
    seed: int = 0
    window: int = 7

    def __post_init__(self) -> None:
        if self.kind not in ("kernel", "average"):
            raise ValueError(f"A video degradation is 'kernel' or 'average'; got '{self.kind}'.")

    def kernel_array(self) -> np.ndarray | None:
        """The kernel of a ``kernel`` degradation (None for frame averaging)."""
        if self.kind != "kernel":
            return None
        from deblur_core.kernels import parse_kernel_spec

        return parse_kernel_spec(self.kernel, np.random.default_rng(self.seed))

    def apply(self, video: Video) -> tuple[Video, Video]:
        """Returns ``(blurred, truth)``."""
        if self.kind == "average":
            return average_frames(video, self.window)
        rng = np.random.default_rng(self.seed)
        return blur_video(video, self.kernel_array(), self.noise, rng), video

    def describe(self) -> str:
        if self.kind == "average":
            return f"average of {self.window} consecutive frames"
        noise = f" + noise sigma {self.noise:g}" if self.noise else ""
        return f"blur {self.kernel}{noise}"


# -- sample clip ----------------------------------------------------------------------------------


def sample_clip(
    frames: int = 48, size: tuple[int, int] = (360, 640), seed: int = 0, image: str = "coffee", zoom: float = 0.1
) -> Video:
    """A sharp demo clip made without any data file: a slow pan and zoom over a scikit-image photo.

    The virtual camera moves along a straight line at 1.5 to 2.5 pixels per frame (slower only when a
    long clip would leave the photo) while zooming in or out by ``zoom``, so averaging seven frames
    gives 10 to 16 pixels of natural motion blur. The photo is enlarged at most 2x, unless the frames
    are more than twice its size.

    Parameters
    ----------
    frames : int
        Number of frames, >= 1.
    size : (int, int)
        (height, width) of the frames, each at least 16 pixels.
    seed : int
        Chooses the direction, speed and zoom; the same seed gives the same clip.
    image : {"coffee", "astronaut", "chelsea"}
        The photo from :mod:`skimage.data`.
    zoom : float
        Zoom in or out over the whole clip, 0 to 0.2 (0.1 = 10 %); 0 gives a pure pan, whose averaged
        frames are blurred exactly by :func:`averaging_kernel_spec`.

    Returns
    -------
    Video
        24 frames per second, named "sample clip".
    """
    import cv2
    from skimage import data

    if frames < 1:
        raise ValueError("The sample clip needs at least one frame.")
    h, w = int(size[0]), int(size[1])
    if min(h, w) < 16:
        raise ValueError("The sample clip's frames must be at least 16 x 16 pixels.")
    if not 0 <= zoom <= 0.2:
        raise ValueError("The sample clip's zoom must be between 0 and 0.2 (20 %).")
    loaders = {"coffee": data.coffee, "astronaut": data.astronaut, "chelsea": data.chelsea}
    if image not in loaders:
        raise ValueError(f"The sample image is one of {', '.join(loaders)}; got '{image}'.")
    source = loaders[image]()[..., :3].astype(np.float32) / 255.0
    sh, sw = source.shape[:2]
    rng = np.random.default_rng(seed)
    zoom_in = rng.random() < 0.5
    z = np.linspace(1.0, 1.0 + zoom, frames) if zoom_in else np.linspace(1.0 + zoom, 1.0, frames)
    angle = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.sin(angle), np.cos(angle)])  # (y down, x)
    speed_out = rng.uniform(1.5, 2.5)  # output pixels per frame
    # The photo must hold the window, the whole path and a 5 % margin on each side (in output pixels).
    half_path = speed_out * (frames - 1) / 2 * np.abs(direction)
    need = np.array([h, w]) * 1.1 + 2 * half_path
    # Source pixels per output pixel: what fits the path, but at least 0.5 (no more than 2x enlargement)
    # and at most 90 % of what fits the window alone, so that there is always some room to move.
    still = 0.9 * min(sh / (1.1 * h), sw / (1.1 * w))
    scale = min(max(min(sh / need[0], sw / need[1]), min(0.5, still)), still)
    if scale > 1.0:  # the output is smaller than the photo: shrink it once (area averaging, no aliasing)
        source = cv2.resize(source, (round(sw / scale), round(sh / scale)), interpolation=cv2.INTER_AREA)
        sh, sw = source.shape[:2]
        scale = min(sh / need[0], sw / need[1], 0.9 * sh / (1.1 * h), 0.9 * sw / (1.1 * w))
    speed = speed_out * scale  # in source pixels per frame
    t = np.arange(frames) - (frames - 1) / 2
    room = np.array([sh - 1.1 * h * scale, sw - 1.1 * w * scale]) / 2
    reach = speed * (frames - 1) / 2 * np.abs(direction)
    speed *= min(1.0, *(room / np.maximum(reach, 1e-9)))  # a long clip on a small photo moves slower
    centre = np.array([(sh - 1) / 2, (sw - 1) / 2])
    out = np.empty((frames, h, w, 3), np.uint8)
    for i in range(frames):
        s = scale / z[i]
        cy, cx = centre + t[i] * speed * direction
        m = np.array([[s, 0, cx - s * (w - 1) / 2], [0, s, cy - s * (h - 1) / 2]], np.float32)
        view = cv2.warpAffine(
            source, m, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
        )
        out[i] = to_uint8(np.clip(view, 0.0, 1.0))
    # In output pixels (at the mean zoom), y pointing up as kernels.motion_kernel measures angles.
    per_frame = float(speed / scale * z.mean())
    direction = float(-np.degrees(angle) % 180.0)
    return Video(out, 24.0, "sample clip", motion=(per_frame, direction))


def averaging_kernel_spec(video: Video, window: int) -> str | None:
    """The motion kernel that averaging ``window`` frames of a clip with known camera motion amounts to.

    ``window`` positions ``v`` pixels apart span ``(window - 1) * v`` pixels, which is
    ``motion_kernel(length=(window - 1) * v + 1)``. None when the clip's motion is unknown.
    """
    if video.motion is None:
        return None
    per_frame, direction = video.motion
    length = max(1.0, (window - 1) * per_frame + 1)
    return f"motion:length={length:.1f},angle={direction:.0f}"


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
    """How many frames ``method`` takes: the model card's ``frames``, 1 for classical methods."""
    from deblur_core.inference import resolve_model
    from deblur_core.registry import CLASSICAL_NAMES

    if method in CLASSICAL_NAMES:
        return 1
    return resolve_model(method, registry).frames


def restore_video(
    video: Video,
    method: str = "default",
    *,
    kernel: np.ndarray | None = None,
    registry=None,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    **options,
) -> Video:
    """Restore every frame of ``video`` with ``method`` through :func:`deblur_core.inference.restore`.

    A model with ``frames: 3`` on its card gets each frame with its previous and next frame
    (:func:`neighbour_stack`); still-image models and the classical methods get one frame at a time.

    Parameters
    ----------
    video : Video
        The blurred clip.
    method : str
        Any method :func:`~deblur_core.inference.restore` accepts.
    kernel : ndarray, optional
        The known blur, for the classical methods.
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
    from deblur_core.inference import restore

    frames = model_frames(method, registry)
    n = len(video)
    out = np.empty_like(video.pixels)
    start = time.monotonic()
    for i in range(n):
        check_cancel(cancel)
        image = neighbour_stack(video, i, frames) if frames > 1 else video.frame(i)
        restored = restore(image, method, kernel=kernel, registry=registry, cancel=cancel, **options)
        out[i] = to_uint8(restored)
        if on_progress is not None:
            elapsed = time.monotonic() - start
            on_progress(
                i + 1, n, {"frame": i + 1, "elapsed_s": elapsed, "remaining_s": elapsed / (i + 1) * (n - i - 1)}
            )
    return replace(video, pixels=out, name=f"restored ({method_label(method, registry)})")


def method_label(method: str, registry=None) -> str:
    """A method as people read it: ``default`` becomes the model's name, a path its file name."""
    if method == "default":
        from deblur_core.inference import default_registry

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
    on_progress : callable, optional
        ``on_progress(done, total, info)``; ``info["stage"]`` is ``"restoring"`` or ``"measuring"``,
        ``info["frame"]`` the frame number.
    cancel : callable, optional
        Returns True to stop (raises :class:`deblur_core.progress.Cancelled`).

    Returns
    -------
    VideoResult
    """
    from deblur_core.registry import CLASSICAL_NAMES

    start = time.monotonic()
    if degradation is not None:
        blurred, truth = degradation.apply(video)
        if kernel is None:
            kernel = degradation.kernel_array()
    else:
        blurred = video
    if method in CLASSICAL_NAMES and kernel is None:
        raise ValueError(
            f"{method} needs the blur kernel: choose the blur the clip has (a known kernel), or use a learned model."
        )
    if truth is not None and (len(truth) != len(blurred) or truth.size != blurred.size):
        raise ValueError("The ground truth must have as many frames, of the same size, as the clip.")
    n = len(blurred)
    total = n * (3 if truth is not None else 1)  # measuring both clips costs about as much as restoring one

    def stage(name: str, offset: int, scale: int = 1) -> ProgressFn | None:
        if on_progress is None:
            return None
        return lambda done, _total, info: on_progress(offset + done * scale, total, {**info, "stage": name})

    restored = restore_video(
        blurred, method, kernel=kernel, registry=registry, on_progress=stage("restoring", 0), cancel=cancel, **options
    )
    label = method_label(method, registry)
    result = VideoResult(video, blurred, restored, truth, label, model_frames(method, registry), degradation)
    if truth is not None:
        result.blurred_scores = frame_metrics(truth, blurred, stage("measuring", n), cancel)
        result.restored_scores = frame_metrics(truth, restored, stage("measuring", 2 * n), cancel)
    result.seconds = time.monotonic() - start
    return result


# -- command line ---------------------------------------------------------------------------------


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
    """The ``video`` command: ``video IN --out OUT [--method M] [--kernel SPEC] [--blur SPEC] [--max-frames N]``.

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
    from deblur_core.registry import CLASSICAL_NAMES

    method = getattr(args, "method", None) or "default"
    blur_spec = getattr(args, "blur", None)
    kernel_spec = getattr(args, "kernel", None)
    max_frames = getattr(args, "max_frames", None)
    out = Path(args.out)
    try:  # the arguments first: nothing is decoded before they are known to be right
        _format_for(out, None)
        degradation = Degradation("kernel", blur_spec) if blur_spec else None
        if degradation is not None:
            degradation.kernel_array()
        kernel = parse_kernel_spec(kernel_spec) if kernel_spec else None
        if method in CLASSICAL_NAMES:
            if kernel is None and degradation is None:
                raise ValueError(
                    f"{method} needs the blur kernel: give --kernel SPEC (or --blur SPEC for a demonstration)."
                )
        else:
            frames = model_frames(method)
            if frames % 2 == 0:
                raise ValueError(f"The model '{method}' takes {frames} frames; video models take an odd number.")
            if kernel is not None:
                print(
                    f"note: --kernel is ignored by '{method}': learned models find the blur themselves.",
                    file=sys.stderr,
                )
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
        options = {k: v for k in ("nsr", "iterations") if (v := getattr(args, k, None)) is not None}
        result = deblur_video(
            video, method, kernel=kernel, degradation=degradation, on_progress=_StderrProgress(), **options
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
    h, w = encoded_size(result.restored, out.suffix.lstrip(".").lower())
    print(
        f"Wrote {out} ({len(result.restored)} frames, {w} x {h}, {_format_fps(result.restored.fps)} fps, "
        f"no audio) in {result.seconds:.1f} s."
    )
    return 0
