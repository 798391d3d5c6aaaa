"""Training data that needs no download: the photographs bundled with scikit-image."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["SAMPLE_IMAGES", "write_sample_images"]

SAMPLE_IMAGES = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "moon.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "page.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
)


def write_sample_images(dest: str | Path) -> int:
    """Copy the photographs bundled with scikit-image into ``dest``; returns how many.

    They need no download, so the app can train something even without any images of the user's.
    """
    import skimage.data

    source = Path(skimage.data.__file__).parent
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    count = 0
    for name in SAMPLE_IMAGES:
        if (source / name).is_file():
            shutil.copyfile(source / name, dest / name)
            count += 1
    if count < 2:
        raise ValueError("scikit-image's sample images are missing from this installation.")
    return count
