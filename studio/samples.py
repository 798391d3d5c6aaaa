"""Sample pictures: scikit-image's bundled photos, and real blurred photos when present locally.

The scikit-image samples install with scikit-image itself, so the project ships no copies. The
GoPro pairs (real camera-motion blur with the sharp frame, Nah et al., CVPR 2017) are research
images: they are offered only when the shared data folder beside the project holds them, and are
never copied into the project. This module never imports streamlit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deblur_core import settings
from deblur_core.io import read_rgb


@dataclass(frozen=True)
class Sample:
    """A sharp sample picture from scikit-image."""

    key: str
    title: str
    loader: str  # the skimage.data function


SAMPLES: dict[str, Sample] = {
    s.key: s
    for s in (
        Sample("chelsea", "Chelsea the cat (451 × 300)", "chelsea"),
        Sample("astronaut", "Astronaut Eileen Collins (512 × 512)", "astronaut"),
        Sample("coffee", "A cup of coffee (600 × 400)", "coffee"),
        Sample("rocket", "Rocket on the launch pad (640 × 427)", "rocket"),
        Sample("camera", "Cameraman, greyscale (512 × 512)", "camera"),
        Sample("immunohistochemistry", "Stained tissue under a microscope (512 × 512)", "immunohistochemistry"),
    )
}
DEFAULT_SAMPLE = "chelsea"


@functools.lru_cache(maxsize=16)
def _load_sample(key: str) -> np.ndarray:
    from skimage import data

    pixels = np.asarray(getattr(data, SAMPLES[key].loader)())
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    rgb = pixels[..., :3].astype(np.float32) / 255.0
    rgb.setflags(write=False)  # shared by every visitor: nobody may change it in place
    return rgb


def sample_image(key: str) -> np.ndarray:
    """The sample ``key`` as float32 RGB in [0, 1] (read-only, shared)."""
    if key not in SAMPLES:
        raise ValueError(f"There is no sample called '{key}'. Choose one of {', '.join(SAMPLES)}.")
    return _load_sample(key)


# -- real blurred photographs, only when present locally -------------------------------------------


@dataclass(frozen=True)
class RealPair:
    """A real blurred photo with its sharp original."""

    key: str
    title: str
    blurred: Path
    sharp: Path


def real_pairs() -> list[RealPair]:
    """The GoPro blur/sharp pairs found locally (none on a fresh clone)."""
    folder = settings.data_dir() / "real" / "GoPro"
    if not folder.is_dir():
        return []
    pairs = []
    for blurred in sorted(folder.glob("*_blur*.png")):
        sharp = blurred.with_name(blurred.name.replace("_blur", "_sharp"))
        if sharp.is_file():
            scene = blurred.stem.replace("_blur", " ")
            pairs.append(RealPair(blurred.stem, f"GoPro {scene.strip()} (real camera shake)", blurred, sharp))
    return pairs


@functools.lru_cache(maxsize=8)
def load_real_pair(blurred: Path, sharp: Path) -> tuple[np.ndarray, np.ndarray]:
    """(blurred, sharp) float32 RGB of a real pair."""
    return read_rgb(blurred), read_rgb(sharp)
