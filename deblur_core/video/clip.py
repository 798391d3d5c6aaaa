"""A clip in memory: 8-bit RGB frames, a frame rate and a name, and the limits on what is read.

A :class:`Video` keeps its frames as 8-bit RGB, exactly as a video file stores them, so a clip of a
few hundred frames costs a quarter of the memory it would as float32; every frame is handed to the
restoration code as float32 RGB in [0, 1] (:meth:`Video.frame`), the library's convention.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from deblur_core.files import UnusableFileError
from deblur_core.image import to_uint8

DEFAULT_MAX_FRAMES = 300
DEFAULT_MAX_SIZE = (1920, 1080)  # (long side, short side) in pixels: Full HD, landscape or portrait
DEFAULT_MAX_BYTES = 200 * 1024 * 1024  # the app's upload limit (server.maxUploadSize = 200 MB)
DEFAULT_MAX_TOTAL_PIXELS = 120_000_000  # over all frames: about 360 MB of 8-bit frames per copy
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".webm", ".mkv", ".gif")


class VideoLoadError(UnusableFileError):
    """A video file that cannot be used (``filename``, ``reason``); the message starts with the file's name."""


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
