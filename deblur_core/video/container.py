"""Video files in and out: decode a clip into a :class:`~deblur_core.video.clip.Video`, encode one for playing.

Decoding and encoding use the ffmpeg program that ships inside the ``imageio-ffmpeg`` wheel, so no
system installation is needed; OpenCV's own decoder and a VP8 WebM writer are the fallback when that
program is missing. Video decoders need a file, so an upload given as bytes is written to a private
temporary folder only for the time it takes to decode it, and removed right after, also on errors.
The result is H.264 in MP4 (or VP9 in WebM), which plays in every current browser. Sound is not
kept: the output has no audio track.

Limits are checked before any frame is decoded where the file's header allows it: at most
:data:`~deblur_core.video.clip.DEFAULT_MAX_FRAMES` frames, ``DEFAULT_MAX_SIZE`` pixels,
``DEFAULT_MAX_BYTES`` bytes and ``DEFAULT_MAX_TOTAL_PIXELS`` pixels over all frames. A file that is
not a video, holds no frames, is too long or is damaged is refused with a
:class:`~deblur_core.video.clip.VideoLoadError` (a ``ValueError``) whose message starts with the
file's name.
"""

from __future__ import annotations

import functools
import math
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import numpy as np

from deblur_core.progress import CancelFn, check_cancel
from deblur_core.video.clip import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_SIZE,
    DEFAULT_MAX_TOTAL_PIXELS,
    Video,
    VideoLoadError,
)

OUTPUT_FORMATS = ("mp4", "webm")
MIME_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}

_FFMPEG_TIMEOUT_S = 120


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
            raise VideoLoadError(label, "the file is empty (0 bytes).")
        if size > max_bytes:
            raise VideoLoadError(label, _too_big_reason(size, max_bytes))
        with tempfile.TemporaryDirectory(prefix="deblur-video-") as scratch:
            return _read_path(path, label, max_frames, max_size, max_total_pixels, trim, Path(scratch))
    data = _read_bytes(source, label, max_bytes)
    if not data:
        raise VideoLoadError(label, "the file is empty (0 bytes).")
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
