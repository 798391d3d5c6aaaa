"""Synthetic blur for clips with ground truth: a kernel on every frame, averaged frames, and a sample clip.

Averaging consecutive sharp frames is how the GoPro deblurring set was made; :func:`sample_clip` makes
a sharp clip without any data file, a slow pan over one of scikit-image's photos, whose averaged
frames are blurred by a known motion kernel (:func:`averaging_kernel_spec`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from deblur_core.image import to_uint8
from deblur_core.video.clip import Video

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
