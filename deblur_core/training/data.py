"""Training data: sharp-image folders degraded on the fly, paired folders, and synthetic clips.

Datasets are ``keras.utils.PyDataset`` subclasses, so the same pipeline feeds Keras on TensorFlow,
JAX or PyTorch. Every batch is drawn from a generator seeded by (seed, epoch, batch index), so a
run is reproducible and validation batches are identical every epoch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from deblur_core.degrade import DegradationMix, bicubic_down_up, blur
from deblur_core.image import rgb_to_y
from deblur_core.io.decode import IMAGE_SUFFIXES
from deblur_core.kernels import gaussian_kernel


def find_images(folders: list[str | Path], recursive: bool = True) -> list[Path]:
    """All image files under ``folders``, sorted by path (a stable order for the validation split)."""
    found: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_file():
            found.append(folder)
            continue
        if not folder.is_dir():
            raise ValueError(f"The training folder '{folder}' does not exist.")
        pattern = "**/*" if recursive else "*"
        found += [p for p in folder.glob(pattern) if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    return sorted(set(found))


def split_holdout(items: list, every: int = 10) -> tuple[list, list]:
    """Split into (train, validation): every ``every``-th item is held out (a fixed tenth by default)."""
    if len(items) < 2:
        raise ValueError("At least two training images are needed (one is held out for validation).")
    val = items[every - 1 :: every] or items[-1:]
    val_ids = {id(v) for v in val}
    return [i for i in items if id(i) not in val_ids], val


def load_images(paths: list[Path], min_side: int = 32) -> list[np.ndarray]:
    """Decode images to float32 RGB; images smaller than ``min_side`` are skipped."""
    from deblur_core.io import read_rgb

    images = []
    for p in paths:
        img = read_rgb(p)
        if min(img.shape[:2]) >= min_side:
            images.append(img)
    if not images:
        raise ValueError("None of the training images could be used (all too small or unreadable).")
    return images


# -- paired datasets ---------------------------------------------------------------------------

_KAGGLE_SUFFIX = re.compile(r"_(S|F|M)$", re.IGNORECASE)


def find_pairs(root: str | Path) -> list[tuple[Path, Path]]:
    """Find (blurred, sharp) pairs in a paired folder layout.

    Layouts: ``sharp/`` + ``defocused_blurred/`` + ``motion_blurred/`` with names ending ``_S``,
    ``_F``, ``_M`` (the Kaggle "blur-dataset"), or ``good_frames/`` + ``bad_frames/`` with equal
    names. Raises ValueError when neither layout is found or no pair matches.
    """
    root = Path(root)
    pairs: list[tuple[Path, Path]] = []
    if (root / "sharp").is_dir():
        sharp = {_KAGGLE_SUFFIX.sub("", p.stem).lower(): p for p in find_images([root / "sharp"])}
        for sub in ("defocused_blurred", "motion_blurred"):
            if (root / sub).is_dir():
                for p in find_images([root / sub]):
                    key = _KAGGLE_SUFFIX.sub("", p.stem).lower()
                    if key in sharp:
                        pairs.append((p, sharp[key]))
    elif (root / "good_frames").is_dir() and (root / "bad_frames").is_dir():
        good = {p.stem.lower(): p for p in find_images([root / "good_frames"])}
        pairs = [(p, good[p.stem.lower()]) for p in find_images([root / "bad_frames"]) if p.stem.lower() in good]
    else:
        raise ValueError(
            f"'{root}' has neither sharp/ + defocused_blurred/ + motion_blurred/ nor good_frames/ + bad_frames/."
        )
    if not pairs:
        raise ValueError(f"No blurred image in '{root}' has a sharp partner with a matching name.")
    return sorted(pairs)


def split_pairs(pairs: list, train_fraction: float = 0.8) -> tuple[list, list]:
    """Deterministic 80/20 split of pairs (every fifth pair to validation)."""
    every = max(2, round(1 / (1 - train_fraction)))
    return split_holdout(pairs, every)


# -- datasets ----------------------------------------------------------------------------------


@dataclass
class PatchSettings:
    """How samples are cut and what the model sees."""

    patch_size: int = 128
    batch_size: int = 8
    steps: int = 200
    frames: int = 1  # 3 = synthetic clips (previous, current, next)
    mode: str = "rgb"  # "rgb" or "y" (luminance, DBSRCNN)
    sr_scale: int = 0  # DBSRCNN protocol: bicubic down and up by this factor after the blur
    augment: bool = True
    clips: bool = False  # synthetic 3-frame clips (a 1-frame model then sees only the middle frame)


class _SeededDataset(keras.utils.PyDataset):
    def __init__(self, settings: PatchSettings, seed: int, fixed: bool, **kwargs):
        super().__init__(**kwargs)
        self.settings = settings
        self.seed = seed
        self.fixed = fixed  # validation: the same batches every epoch
        self.epoch = 0

    def __len__(self) -> int:
        return self.settings.steps

    def on_epoch_end(self) -> None:
        if not self.fixed:
            self.epoch += 1

    def rng_for(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])

    def __getitem__(self, index: int):
        rng = self.rng_for(index)
        xs, ys = zip(*(self.sample(rng) for _ in range(self.settings.batch_size)), strict=True)
        return np.stack(xs), np.stack(ys)

    def finish(self, blurred: np.ndarray, sharp: np.ndarray, rng: np.random.Generator):
        """Augment jointly (flips, 90-degree turns) and convert to the model's colour space."""
        if self.settings.augment and not self.fixed:
            k = int(rng.integers(4))
            flip = rng.random() < 0.5
            blurred, sharp = np.rot90(blurred, k), np.rot90(sharp, k)
            if flip:
                blurred, sharp = blurred[:, ::-1], sharp[:, ::-1]
        if self.settings.mode == "y":
            if self.settings.frames != 1:
                raise ValueError("Luminance mode works on single frames.")
            blurred, sharp = rgb_to_y(blurred)[..., None], rgb_to_y(sharp)[..., None]
        return np.ascontiguousarray(blurred, np.float32), np.ascontiguousarray(sharp, np.float32)


def _random_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    if h < size or w < size:
        pad = ((0, max(0, size - h)), (0, max(0, size - w)), (0, 0))
        image = np.pad(image, pad, mode="reflect")
        h, w = image.shape[:2]
    y, x = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
    return image[y : y + size, x : x + size]


class BlurDataset(_SeededDataset):
    """Sharp images, degraded on the fly with a :class:`DegradationMix` (or the DBSRCNN protocol)."""

    def __init__(
        self,
        images: list[np.ndarray],
        settings: PatchSettings,
        mix: DegradationMix,
        seed: int = 0,
        fixed: bool = False,
        **kwargs,
    ):
        super().__init__(settings, seed, fixed, **kwargs)
        if not images:
            raise ValueError("The dataset has no images.")
        self.images = images
        self.mix = mix

    def sample(self, rng: np.random.Generator):
        s = self.settings
        image = self.images[int(rng.integers(len(self.images)))]
        if s.clips or s.frames > 1:
            blurred, sharp = synthetic_clip(image, s.patch_size, max(3, s.frames), rng, self.mix)
            if s.frames == 1:
                blurred = blurred[..., 3:6]
            return self.finish(blurred, sharp, rng)
        if s.sr_scale:
            # DBSRCNN protocol: Gaussian sigma 1-4, then bicubic down and up by the scale.
            kernel = gaussian_kernel(rng.uniform(1.0, 4.0))
            sharp = _random_crop(image, s.patch_size + kernel.shape[0], rng)
            blurred = bicubic_down_up(blur(sharp, kernel), s.sr_scale)
            m = kernel.shape[0] // 2
            sl = (slice(m, m + s.patch_size), slice(m, m + s.patch_size))
            return self.finish(blurred[sl], sharp[sl], rng)
        _, kernel = self.mix.sample_kernel(rng)
        margin = 0 if kernel is None else kernel.shape[0] // 2
        big = _random_crop(image, s.patch_size + 2 * margin, rng)
        blurred = self.mix.apply(big, rng, kernel)
        sl = (slice(margin, margin + s.patch_size), slice(margin, margin + s.patch_size))
        return self.finish(blurred[sl], big[sl], rng)


class PairedDataset(_SeededDataset):
    """Aligned random crops from (blurred, sharp) image pairs."""

    def __init__(
        self,
        pairs: list[tuple[np.ndarray, np.ndarray]],
        settings: PatchSettings,
        seed: int = 0,
        fixed: bool = False,
        **kwargs,
    ):
        super().__init__(settings, seed, fixed, **kwargs)
        for blurred, sharp in pairs:
            if blurred.shape != sharp.shape:
                raise ValueError("Each blurred image must have the same size as its sharp partner.")
        if not pairs:
            raise ValueError("The dataset has no image pairs.")
        self.pairs = pairs

    def sample(self, rng: np.random.Generator):
        blurred, sharp = self.pairs[int(rng.integers(len(self.pairs)))]
        both = _random_crop(np.concatenate([blurred, sharp], axis=2), self.settings.patch_size, rng)
        return self.finish(both[..., :3], both[..., 3:], rng)


def synthetic_clip(
    image: np.ndarray,
    size: int,
    frames: int,
    rng: np.random.Generator,
    mix: DegradationMix | None = None,
    subframes: int = 7,
    max_speed: float = 4.0,
):
    """A moving crop over a still image, each frame the average of sub-frames (real-looking motion blur).

    The camera pans along a straight path with a random velocity of up to ``max_speed`` pixels per
    sub-frame; each output frame averages ``subframes`` consecutive positions, as a real exposure
    integrates light while the camera moves. Returns ``(stacked_blurred, sharp_middle)``: the blurred
    frames stacked on the channel axis (H x W x 3*frames) and the sharp crop at the middle frame's
    central sub-frame. Noise from ``mix`` is added to the blurred frames.
    """
    total = frames * subframes
    speed = rng.uniform(0.3, max_speed)
    angle = rng.uniform(0, 2 * np.pi)
    v = np.array([np.sin(angle), np.cos(angle)]) * speed
    # Some gentle acceleration so that neighbouring frames differ in blur as well as position.
    a = rng.normal(0, 0.03, 2)
    steps = np.arange(total) - (total - 1) / 2
    offsets = steps[:, None] * v + 0.5 * steps[:, None] ** 2 * a
    reach = int(np.ceil(np.abs(offsets).max())) + 2
    big = _random_crop(image, size + 2 * reach, rng)
    import cv2

    stack = []
    sharp = None
    for f in range(frames):
        acc = np.zeros((size, size, 3), np.float32)
        for s in range(subframes):
            dy, dx = offsets[f * subframes + s]
            m = np.array([[1, 0, reach + dx], [0, 1, reach + dy]], np.float32)
            view = cv2.warpAffine(
                big, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
            )
            acc += view
            if f == frames // 2 and s == subframes // 2:
                sharp = view
        stack.append(acc / subframes)
    blurred = np.concatenate(stack, axis=2)
    if mix is not None and mix.noise_range[1] > 0:
        sigma = rng.uniform(*mix.noise_range)
        blurred = np.clip(blurred + rng.normal(0, sigma, blurred.shape).astype(np.float32), 0, 1)
    if mix is not None and mix.round8:
        blurred = np.round(blurred * 255) / 255
    return blurred.astype(np.float32), sharp.astype(np.float32)
