"""Point-spread functions (blur kernels).

Every kernel returned here is a float32 2-D array with odd sides, non-negative, summing to 1 and
centred: its centre of mass sits on the centre pixel, so blurring with it does not shift the image.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from scipy import ndimage

MAX_KERNEL_SIZE = 101


def _odd(n: float) -> int:
    n = max(1, int(math.ceil(n)))
    return n if n % 2 == 1 else n + 1


def normalize_kernel(kernel: np.ndarray) -> np.ndarray:
    """Clip negatives, make the sides odd, centre the mass and scale to sum 1.

    Parameters
    ----------
    kernel : ndarray
        A 2-D array of non-negative weights.

    Returns
    -------
    ndarray
        float32, odd-sized, non-negative, summing to 1, centre of mass on the centre pixel.

    Raises
    ------
    ValueError
        If the array is not 2-D, is too large, or has no positive weight.
    """
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim == 3 and k.shape[2] in (1, 3, 4):
        k = k[..., :3].mean(axis=2)
    if k.ndim != 2:
        raise ValueError(f"A blur kernel must be a 2-D array; this one has shape {k.shape}.")
    if not np.all(np.isfinite(k)):
        raise ValueError("The blur kernel contains NaN or infinite values.")
    k = np.clip(k, 0.0, None)
    if k.sum() <= 0:
        raise ValueError("The blur kernel has no positive weight; it must contain some light.")
    # Trim empty borders, then pad to an odd square big enough to centre the mass.
    rows = np.flatnonzero(k.sum(axis=1) > 0)
    cols = np.flatnonzero(k.sum(axis=0) > 0)
    k = k[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    if max(k.shape) > MAX_KERNEL_SIZE:
        raise ValueError(
            f"The blur kernel is {k.shape[1]}x{k.shape[0]} pixels; at most {MAX_KERNEL_SIZE} is supported."
        )
    k = k / k.sum()
    cy, cx = ndimage.center_of_mass(k)
    # Place the kernel on a canvas whose centre is the centre of mass (rounded), then shift the
    # sub-pixel remainder with a bilinear shift so the mass sits exactly on the centre pixel.
    half = int(math.ceil(max(cy, k.shape[0] - 1 - cy, cx, k.shape[1] - 1 - cx))) + 1
    size = 2 * half + 1
    canvas = np.zeros((size, size))
    oy, ox = half - int(round(cy)), half - int(round(cx))
    canvas[oy : oy + k.shape[0], ox : ox + k.shape[1]] = k
    fy, fx = round(cy) - cy, round(cx) - cx
    if abs(fy) > 1e-6 or abs(fx) > 1e-6:
        canvas = ndimage.shift(canvas, (fy, fx), order=1, mode="constant")
    canvas = np.clip(canvas, 0.0, None)
    # Trim symmetric empty borders again so kernels stay compact.
    while (
        canvas.shape[0] > 1
        and not canvas[0].any()
        and not canvas[-1].any()
        and not canvas[:, 0].any()
        and not canvas[:, -1].any()
    ):
        canvas = canvas[1:-1, 1:-1]
    canvas /= canvas.sum()
    return canvas.astype(np.float32)


def identity_kernel() -> np.ndarray:
    """The 1x1 kernel that leaves an image unchanged."""
    return np.ones((1, 1), np.float32)


def gaussian_kernel(sigma: float, sigma_y: float | None = None, angle_deg: float = 0.0) -> np.ndarray:
    """Isotropic or anisotropic Gaussian blur, as from a slightly out-of-focus or soft lens.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels along the (rotated) x axis, > 0.
    sigma_y : float, optional
        Standard deviation along the rotated y axis; defaults to ``sigma`` (isotropic).
    angle_deg : float
        Rotation of the x axis in degrees, counter-clockwise.
    """
    sigma_y = sigma if sigma_y is None else sigma_y
    if not (sigma > 0 and sigma_y > 0):
        raise ValueError("Gaussian sigma must be greater than 0 pixels.")
    if max(sigma, sigma_y) > 15:
        raise ValueError("Gaussian sigma must be at most 15 pixels.")
    half = int(math.ceil(3.5 * max(sigma, sigma_y)))
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    t = math.radians(angle_deg)
    # Rows grow downwards, so counter-clockwise on screen is (cos t, -sin t) in (x, row) terms,
    # the same convention as motion_kernel.
    xr = x * math.cos(t) - y * math.sin(t)
    yr = x * math.sin(t) + y * math.cos(t)
    k = np.exp(-0.5 * ((xr / sigma) ** 2 + (yr / sigma_y) ** 2))
    return normalize_kernel(k)


def motion_kernel(length: float, angle_deg: float = 0.0) -> np.ndarray:
    """Linear motion blur: the camera moved ``length`` pixels in a straight line.

    The line is drawn with sub-pixel sampling so that it is anti-aliased at any angle.

    Parameters
    ----------
    length : float
        Length of the motion in pixels, >= 1.
    angle_deg : float
        Direction in degrees, counter-clockwise from the x axis.
    """
    if not length >= 1:
        raise ValueError("Motion length must be at least 1 pixel.")
    if length > MAX_KERNEL_SIZE - 2:
        raise ValueError(f"Motion length must be at most {MAX_KERNEL_SIZE - 2} pixels.")
    half = int(math.ceil(length / 2)) + 1
    size = 2 * half + 1
    k = np.zeros((size, size))
    t = math.radians(angle_deg)
    n = max(64, int(length * 16))
    s = np.linspace(-(length - 1) / 2, (length - 1) / 2, n)
    xs = half + s * math.cos(t)
    ys = half - s * math.sin(t)
    # Bilinear splatting of each sample point.
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            np.add.at(k, (y0 + dy, x0 + dx), wy * wx)
    return normalize_kernel(k)


def defocus_kernel(radius: float) -> np.ndarray:
    """Defocus (out-of-focus) blur: a uniform disk of ``radius`` pixels with anti-aliased rim."""
    if not radius > 0:
        raise ValueError("Defocus radius must be greater than 0 pixels.")
    if radius > MAX_KERNEL_SIZE // 2 - 1:
        raise ValueError(f"Defocus radius must be at most {MAX_KERNEL_SIZE // 2 - 1} pixels.")
    half = int(math.ceil(radius)) + 1
    ss = 8  # supersampling factor for the rim
    coords = (np.arange((2 * half + 1) * ss) + 0.5) / ss - (half + 0.5)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    inside = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    k = inside.reshape(2 * half + 1, ss, 2 * half + 1, ss).mean(axis=(1, 3))
    return normalize_kernel(k)


def shake_kernel(size: int = 21, rng: np.random.Generator | None = None, intensity: float = 0.6) -> np.ndarray:
    """Random camera-shake blur: a jittery trajectory of a hand-held camera.

    The path is a random walk with inertia (after Boracchi and Foi's model), drawn with sub-pixel
    accuracy and scaled to fit inside ``size`` x ``size`` pixels.

    Parameters
    ----------
    size : int
        Largest side of the kernel in pixels (odd, 5..MAX_KERNEL_SIZE).
    rng : numpy.random.Generator
        The source of randomness; the same seed gives the same kernel.
    intensity : float
        0..1, how erratic the path is.
    """
    if not 5 <= size <= MAX_KERNEL_SIZE:
        raise ValueError(f"Camera-shake kernel size must be between 5 and {MAX_KERNEL_SIZE} pixels.")
    rng = np.random.default_rng() if rng is None else rng
    steps = 96
    v = rng.normal(size=2)
    v /= np.linalg.norm(v) + 1e-9
    pos = np.zeros(2)
    path = [pos.copy()]
    for _ in range(steps):
        # Inertia plus a random kick, and now and then a sudden jerk.
        kick = rng.normal(size=2) * intensity
        if rng.random() < 0.1 * intensity:
            kick *= 3
        v = 0.85 * v + kick * 0.35 - 0.02 * pos
        pos = pos + v
        path.append(pos.copy())
    path = np.array(path)
    path -= path.mean(axis=0)
    extent = np.abs(path).max()
    half = (size - 1) / 2 - 1
    path *= half / max(extent, 1e-6)
    # Densify the path so consecutive points are under half a pixel apart.
    dense = []
    for a, b in zip(path[:-1], path[1:], strict=True):
        n = max(2, int(np.linalg.norm(b - a) * 3))
        dense.append(np.linspace(a, b, n, endpoint=False))
    pts = np.concatenate(dense) + (size - 1) / 2
    return normalize_kernel(_splat(pts, size))


def _splat(pts: np.ndarray, size: int, weights: np.ndarray | float = 1.0) -> np.ndarray:
    """A size x size canvas with each (x, y) point of ``pts`` added by bilinear interpolation (sub-pixel accurate),
    each with its weight."""
    canvas = np.zeros((size, size))
    x0, y0 = np.floor(pts[:, 0]).astype(int), np.floor(pts[:, 1]).astype(int)
    fx, fy = pts[:, 0] - x0, pts[:, 1] - y0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yy, xx = np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)
            np.add.at(canvas, (yy, xx), weights * wy * wx)
    return canvas


def trace_kernel(size: int = 21, rng: np.random.Generator | None = None) -> np.ndarray:
    """Random camera-shake blur as a thin, smooth trace: the path of a hand-held camera during a short exposure.

    Recorded camera shake (Levin et al. 2009; Koehler et al. 2012) is mostly one open, gently curving stroke, a
    pixel wide, brighter where the camera slowed down, unlike the tangled walk of :func:`shake_kernel`. Here the
    direction turns smoothly (a random turning rate that itself drifts), the speed varies smoothly with now and
    then a near stop, half of them fold back once, and the path is drawn with sub-pixel accuracy around its centre
    of mass, scaled so it reaches 60 to 100 % of the way to the border of ``size``.

    Parameters
    ----------
    size : int
        Largest side of the kernel in pixels (odd, 5..MAX_KERNEL_SIZE).
    rng : numpy.random.Generator
        The source of randomness; the same seed gives the same kernel.

    References
    ----------
    1. Levin, Weiss, Durand and Freeman, "Understanding and evaluating blind deconvolution algorithms", CVPR 2009.
    2. Koehler, Hirsch, Mohler, Schoelkopf and Harmeling, "Recording and playback of camera shake", ECCV 2012.
    """
    if not 5 <= size <= MAX_KERNEL_SIZE:
        raise ValueError(f"Camera-shake kernel size must be between 5 and {MAX_KERNEL_SIZE} pixels.")
    rng = np.random.default_rng() if rng is None else rng
    n = 400
    t = np.linspace(0.0, 1.0, n)

    def smooth(amplitude: float, waves: int) -> np.ndarray:
        # A few random low-frequency waves: a smooth random function of time.
        out = np.zeros(n)
        for k in range(1, waves + 1):
            out += rng.normal() / k * np.sin(np.pi * k * t + rng.uniform(0, 2 * np.pi))
        return amplitude * out

    turning = rng.uniform(-1, 1) * rng.uniform(0, 2.5) + smooth(rng.uniform(0, 4), 5)
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(turning) / n
    if rng.random() < 0.5:  # the hand reverses: a sharp fold back at some moment
        heading += rng.choice([-1, 1]) * rng.uniform(2.0, 3.0) * (t > rng.uniform(0.2, 0.8))
    speed = np.exp(smooth(rng.uniform(0.2, 1.2), 4))
    if rng.random() < 0.5:  # a near stop somewhere along the way: a bright spot
        centre, width = rng.uniform(0.1, 0.9), rng.uniform(0.03, 0.1)
        speed *= 1 - 0.9 * np.exp(-(((t - centre) / width) ** 2))
    path = np.cumsum(speed[:, None] * np.stack([np.cos(heading), np.sin(heading)], axis=1), axis=0)
    path -= path.mean(axis=0)  # each time sample is an equal share of the exposure: this is the centre of mass
    extent = float(np.abs(path).max())
    half = (size - 1) / 2 * rng.uniform(0.6, 1.0)
    path *= max(half - 0.5, 0.5) / max(extent, 1e-6)
    pts = path + (size - 1) / 2
    # Densify so consecutive points are under a third of a pixel apart; each point carries the time it stands for.
    step = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    dense = [
        np.linspace(a, b, max(2, int(d * 3) + 1), endpoint=False)
        for a, b, d in zip(pts[:-1], pts[1:], step, strict=True)
    ]
    weights = np.concatenate([np.full(len(d), 1.0 / len(d)) for d in dense])
    return normalize_kernel(_splat(np.concatenate(dense), size, weights))


def kernel_from_array(array: np.ndarray) -> np.ndarray:
    """A user-supplied kernel (any non-negative 2-D array), normalised and centred."""
    return normalize_kernel(array)


def load_kernel(source: str | Path | bytes, name: str = "") -> np.ndarray:
    """Load a user kernel from a ``.npy`` file or a greyscale image (path or bytes).

    Bright pixels are where light falls. The result is normalised and centred.
    """
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    name = name or (str(source) if isinstance(source, (str, Path)) else "kernel")
    if data[:6] == b"\x93NUMPY":
        try:
            arr = np.load(io.BytesIO(data), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - any numpy parse failure is the same user error
            raise ValueError(f"{name}: not a readable .npy kernel ({exc}).") from None
        return kernel_from_array(arr)
    from deblur_core.io import load_image  # local import: io is heavier than kernels

    img = load_image(data, name=name, min_side=1)
    return kernel_from_array(img.rgb.mean(axis=2))


def parse_kernel_spec(spec: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """Build a kernel from its compact text form or a file path.

    Forms: ``gaussian:sigma=2`` (also ``sigma_y=``, ``angle=``), ``motion:length=15,angle=30``,
    ``defocus:radius=4``, ``shake:size=21,seed=3``, ``trace:size=21,seed=3`` (a thin camera-shake stroke),
    ``none``, or a path to a ``.npy`` or image file.

    Raises
    ------
    ValueError
        With a sentence that shows the accepted forms.
    """
    spec = spec.strip()
    help_text = (
        "Use gaussian:sigma=2, motion:length=15,angle=30, defocus:radius=4, shake:size=21,seed=3, "
        "trace:size=21,seed=3, none, or a path to a .npy or image kernel."
    )
    if spec.lower() in ("none", "identity"):
        return identity_kernel()
    kind, _, args = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in ("gaussian", "motion", "defocus", "shake", "trace"):
        path = Path(spec)
        if path.is_file():
            return load_kernel(path)
        raise ValueError(f"Unknown kernel '{spec}'. {help_text}")
    params: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in args.split(","))):
        key, eq, value = part.partition("=")
        try:
            if not eq:
                raise ValueError
            params[key.strip().lower()] = float(value)
        except ValueError:
            raise ValueError(f"Cannot read '{part}' in kernel '{spec}'. {help_text}") from None

    def take(allowed: dict[str, float | None]) -> dict[str, float]:
        unknown = set(params) - set(allowed)
        if unknown:
            raise ValueError(f"Kernel '{spec}' has unknown option(s) {sorted(unknown)}. {help_text}")
        out = {}
        for key, default in allowed.items():
            if key in params:
                out[key] = params[key]
            elif default is None:
                raise ValueError(f"Kernel '{spec}' needs {key}=... . {help_text}")
            else:
                out[key] = default
        return out

    if kind == "gaussian":
        p = take({"sigma": None, "sigma_y": 0.0, "angle": 0.0})
        return gaussian_kernel(p["sigma"], p["sigma_y"] or None, p["angle"])
    if kind == "motion":
        p = take({"length": None, "angle": 0.0})
        return motion_kernel(p["length"], p["angle"])
    if kind == "defocus":
        p = take({"radius": None})
        return defocus_kernel(p["radius"])
    p = take({"size": 21.0, "seed": -1.0} | ({"intensity": 0.6} if kind == "shake" else {}))
    seed = int(p["seed"])
    gen = np.random.default_rng(seed) if seed >= 0 else (rng or np.random.default_rng())
    if kind == "trace":
        return trace_kernel(_odd(p["size"]), gen)
    return shake_kernel(_odd(p["size"]), gen, p["intensity"])


def random_kernel(
    rng: np.random.Generator, families: tuple[str, ...] = ("gaussian", "defocus", "motion", "shake")
) -> tuple[str, np.ndarray]:
    """Draw one kernel from the training mixture; returns ``(family, kernel)``.

    Ranges: Gaussian sigma 0.5-4 (a third anisotropic), defocus radius 1-8, linear motion 3-25 px
    at any angle, camera shake 9-31 px (``"shake"``, a tangled walk; ``"trace"``, a thin smooth stroke, only
    when asked for).
    """
    family = families[rng.integers(len(families))]
    if family == "gaussian":
        s = rng.uniform(0.5, 4.0)
        if rng.random() < 0.33:
            return family, gaussian_kernel(s, rng.uniform(0.5, 4.0), rng.uniform(0, 180))
        return family, gaussian_kernel(s)
    if family == "defocus":
        return family, defocus_kernel(rng.uniform(1.0, 8.0))
    if family == "motion":
        return family, motion_kernel(rng.uniform(3.0, 25.0), rng.uniform(0, 180))
    if family == "shake":
        return family, shake_kernel(_odd(rng.uniform(9, 31)), rng, rng.uniform(0.3, 1.0))
    if family == "trace":
        return family, trace_kernel(_odd(rng.uniform(9, 31)), rng)
    raise ValueError(f"Unknown kernel family '{family}'.")


PICTURE_MIN_SIDE = 5
"""The smallest canvas, in kernel pixels, :func:`kernel_picture` draws a kernel on."""


def kernel_picture(kernel: np.ndarray, size: int = 168) -> np.ndarray:
    """The blur kernel as a picture for people: light where it spreads light, each kernel pixel a square.

    Parameters
    ----------
    kernel : ndarray
        A 2-D array of non-negative weights.
    size : int
        About the longest side of the picture in pixels: the kernel is enlarged with nearest-neighbour
        by the largest whole factor that keeps it within ``size`` (at least 1).

    Returns
    -------
    ndarray
        uint8, ``(h * factor, w * factor, 3)``: black where the kernel is 0, white at its peak, with
        a gamma of 0.6 between so that faint tails stay visible. A kernel under ``PICTURE_MIN_SIDE``
        pixels a side is drawn centred on a black square of that side first, so that the identity ("no
        blur") reads as one point of light instead of a white square.

    Raises
    ------
    ValueError
        If the kernel is not a non-empty 2-D array.

    Examples
    --------
    >>> kernel_picture(gaussian_kernel(1.0), size=63).shape
    (63, 63, 3)
    """
    k = np.asarray(kernel, np.float32)
    if k.ndim != 2 or k.size == 0:
        raise ValueError(f"A kernel picture needs a 2-D kernel; got an array of shape {k.shape}.")
    extras = [max(0, PICTURE_MIN_SIDE - n) for n in k.shape]
    k = np.pad(k, [(extra // 2, extra - extra // 2) for extra in extras])
    peak = float(k.max()) or 1.0
    grey = np.round(np.clip(k / peak, 0.0, 1.0) ** 0.6 * 255).astype(np.uint8)
    factor = max(1, int(size) // max(k.shape))
    grey = np.repeat(np.repeat(grey, factor, axis=0), factor, axis=1)
    return np.repeat(grey[..., None], 3, axis=2)
