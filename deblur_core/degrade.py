"""Synthetic degradation: blur, noise, JPEG, bicubic down/up-scaling and zoom blur.

All functions take and return float32 RGB (H x W x 3) in [0, 1]. Randomness always comes from an
explicit ``numpy.random.Generator`` so that results are reproducible.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from deblur_core.image import check_image
from deblur_core.kernels import parse_kernel_spec, random_kernel


def blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve each channel with ``kernel`` using reflect boundaries (no dark frame at the edges)."""
    img = check_image(image)
    k = np.asarray(kernel, np.float32)
    if k.shape == (1, 1):
        return img.copy()
    # filter2D correlates, so flip the kernel to convolve.
    out = cv2.filter2D(img, -1, np.ascontiguousarray(k[::-1, ::-1]), borderType=cv2.BORDER_REFLECT)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def add_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add white Gaussian noise of standard deviation ``sigma`` (in [0, 1] units) and clip."""
    if not 0 <= sigma <= 1:
        raise ValueError("Noise sigma must be between 0 and 1 (for example 0.01 = 2.55 grey levels).")
    img = check_image(image)
    if sigma == 0:
        return img.copy()
    return np.clip(img + rng.normal(0.0, sigma, img.shape).astype(np.float32), 0.0, 1.0)


def quantize(image: np.ndarray) -> np.ndarray:
    """Round to 8-bit levels, as saving to PNG would."""
    return (np.round(check_image(image) * 255.0) / 255.0).astype(np.float32)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Compress with JPEG at ``quality`` (1-100) and decode again."""
    if not 1 <= quality <= 100:
        raise ValueError("JPEG quality must be between 1 and 100.")
    img = check_image(image)
    buf = io.BytesIO()
    Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as decoded:
        return np.asarray(decoded.convert("RGB"), np.float32) / 255.0


def _bicubic(arr: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bicubic resampling (Pillow's, as MATLAB's imresize-like antialiasing)."""
    chans = [
        np.asarray(Image.fromarray(arr[..., c], mode="F").resize((width, height), Image.Resampling.BICUBIC))
        for c in range(arr.shape[2])
    ]
    return np.clip(np.stack(chans, axis=2), 0.0, 1.0).astype(np.float32)


def bicubic_downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Shrink by an integer ``scale`` with bicubic resampling (sides rounded down)."""
    img = check_image(image)
    if scale < 1:
        raise ValueError("The scale factor must be a whole number of at least 1.")
    h, w = img.shape[:2]
    return _bicubic(img, max(1, w // scale), max(1, h // scale))


def bicubic_upscale(image: np.ndarray, scale: int | None = None, size: tuple[int, int] | None = None) -> np.ndarray:
    """Enlarge with bicubic resampling by ``scale`` or to ``size`` = (height, width)."""
    img = check_image(image)
    if size is None:
        if not scale or scale < 1:
            raise ValueError("Give a scale factor of at least 1 or a target size.")
        size = (img.shape[0] * scale, img.shape[1] * scale)
    return _bicubic(img, size[1], size[0])


def bicubic_down_up(image: np.ndarray, scale: int = 3) -> np.ndarray:
    """The DBSRCNN protocol: shrink by ``scale``, then enlarge back to the original size."""
    img = check_image(image)
    small = bicubic_downscale(img, scale)
    return bicubic_upscale(small, size=img.shape[:2])


def zoom_blur(
    image: np.ndarray, strength: float = 0.05, center: tuple[float, float] | None = None, steps: int = 16
) -> np.ndarray:
    """Radial (zoom) blur, as when zooming during the exposure.

    Parameters
    ----------
    strength : float
        Relative zoom during the exposure, 0..0.5 (0.05 = 5 %).
    center : (float, float), optional
        Zoom centre as fractions (y, x) of the image size; default the middle.
    """
    if not 0 <= strength <= 0.5:
        raise ValueError("Zoom-blur strength must be between 0 and 0.5.")
    img = check_image(image)
    h, w = img.shape[:2]
    cy, cx = (0.5, 0.5) if center is None else center
    cy, cx = cy * (h - 1), cx * (w - 1)
    acc = np.zeros_like(img)
    for s in np.linspace(0.0, strength, steps):
        z = 1.0 + s
        m = np.array([[z, 0, cx * (1 - z)], [0, z, cy * (1 - z)]], np.float32)
        acc += cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return np.clip(acc / steps, 0.0, 1.0)


def degrade(
    image: np.ndarray,
    kernel: np.ndarray | str | None = None,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
    jpeg_quality: int | None = None,
    round8: bool = False,
) -> np.ndarray:
    """Blur with ``kernel`` (array or text spec), add noise, optionally JPEG and 8-bit rounding."""
    rng = np.random.default_rng(0) if rng is None else rng
    out = check_image(image)
    if kernel is not None:
        k = parse_kernel_spec(kernel, rng) if isinstance(kernel, str) else kernel
        out = blur(out, k)
    if noise:
        out = add_noise(out, noise, rng)
    if jpeg_quality:
        out = jpeg(out, jpeg_quality)
    if round8:
        out = quantize(out)
    return out


@dataclass
class DegradationMix:
    """The random degradation mixture used for training.

    ``families`` weights the blur types; ``p_clean`` is the share of samples left unblurred (so the
    model learns to leave sharp images alone); noise sigma is uniform in ``noise_range``; a share
    ``p_jpeg`` is JPEG-compressed at quality 50-95.
    """

    families: dict[str, float] = field(
        default_factory=lambda: {"gaussian": 1.0, "defocus": 1.0, "motion": 1.0, "shake": 1.0}
    )
    p_clean: float = 0.08
    noise_range: tuple[float, float] = (0.0, 0.02)
    p_jpeg: float = 0.0
    round8: bool = True

    def to_dict(self) -> dict:
        return {
            "families": self.families,
            "p_clean": self.p_clean,
            "noise_range": list(self.noise_range),
            "p_jpeg": self.p_jpeg,
            "round8": self.round8,
        }

    @classmethod
    def from_dict(cls, data: dict) -> DegradationMix:
        known = {k: v for k, v in data.items() if k in ("families", "p_clean", "noise_range", "p_jpeg", "round8")}
        if "noise_range" in known:
            known["noise_range"] = tuple(known["noise_range"])
        mix = cls(**known)
        bad = set(mix.families) - {"gaussian", "defocus", "motion", "shake"}
        if bad or not mix.families or sum(mix.families.values()) <= 0:
            raise ValueError(
                f"Degradation families must be some of gaussian, defocus, motion, shake; got {sorted(mix.families)}."
            )
        return mix

    def sample_kernel(self, rng: np.random.Generator) -> tuple[str, np.ndarray | None]:
        """Draw a blur family and kernel (``("clean", None)`` for an unblurred sample)."""
        if rng.random() < self.p_clean:
            return "clean", None
        names = list(self.families)
        weights = np.array([self.families[n] for n in names], float)
        family = names[rng.choice(len(names), p=weights / weights.sum())]
        return random_kernel(rng, (family,))

    def apply(self, image: np.ndarray, rng: np.random.Generator, kernel: np.ndarray | None = None) -> np.ndarray:
        """Degrade ``image`` with a given kernel (or none) plus random noise and JPEG."""
        noise = rng.uniform(*self.noise_range) if self.noise_range[1] > 0 else 0.0
        quality = int(rng.integers(50, 96)) if rng.random() < self.p_jpeg else None
        return degrade(image, kernel, noise, rng, quality, self.round8)
