"""Drawn training scenes: text, stripes, line art and flat shapes, the content photos collections lack.

Natural-photo collections (T91, BSD) hold few pages of text, screenshots, slides, striped fabric or
animal coats, yet people deblur exactly those, and they are where a deconvolution's sharp, high-contrast
edges look most like the artefacts of a wrong kernel. A network that has never seen a sharp letter
learns to distrust one and falls back on the blurred photo. :func:`drawn_scene` draws such pictures at
random (no file is read, so nothing is downloaded and every scene is new); the deconvolver's training
mixes a share of them with the photos.
"""

from __future__ import annotations

import string

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["SCENE_KINDS", "drawn_scene"]

SCENE_KINDS = ("text", "stripes", "shapes", "lines")
_CHARACTERS = string.ascii_letters + string.digits + "     .,;:!?-()%&"


def _colour(rng: np.random.Generator, dark: bool | None = None) -> tuple[int, int, int]:
    """A random colour; ``dark`` True/False picks a dark or a light one."""
    if dark is None:
        return tuple(int(v) for v in rng.integers(0, 256, 3))
    low, high = (0, 110) if dark else (150, 256)
    return tuple(int(v) for v in rng.integers(low, high, 3))


def _background(size: int, rng: np.random.Generator) -> Image.Image:
    """A flat or gently graded background."""
    base = np.array(_colour(rng, dark=bool(rng.random() < 0.3)), np.float32)
    ramp = np.linspace(-1, 1, size, dtype=np.float32)
    grade = rng.uniform(-30, 30, 3).astype(np.float32)
    field = base[None, None, :] + ramp[None, :, None] * grade[None, None, :] * (rng.random() < 0.5)
    field = np.broadcast_to(field, (size, size, 3))
    return Image.fromarray(np.clip(field, 0, 255).astype(np.uint8))


def _text(image: Image.Image, rng: np.random.Generator) -> None:
    draw = ImageDraw.Draw(image)
    size = image.size[0]
    y = int(rng.integers(0, 12))
    while y < size:
        height = int(rng.integers(8, 40))
        font = ImageFont.load_default(size=height)
        line = "".join(rng.choice(list(_CHARACTERS), int(rng.integers(10, 60))))
        dark_ink = bool(np.mean(image.getpixel((0, min(y, size - 1)))) > 128)
        draw.text((int(rng.integers(-20, 20)), y), line, fill=_colour(rng, dark=dark_ink), font=font)
        y += int(height * rng.uniform(1.1, 1.8))


def _stripes(image: Image.Image, rng: np.random.Generator) -> None:
    size = image.size[0]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(3, 30)
    # A slow bend makes the stripes of a coat or a fabric rather than a test chart.
    bend = rng.uniform(0, 12) * np.sin(yy / rng.uniform(40, 200) + rng.uniform(0, 6))
    phase = (xx * np.cos(angle) + yy * np.sin(angle) + bend) * 2 * np.pi / period
    wave = np.sin(phase)
    square = rng.random() < 0.6
    level = (wave > rng.uniform(-0.4, 0.4)).astype(np.float32) if square else 0.5 + 0.5 * wave
    a, b = np.array(_colour(rng, True), np.float32), np.array(_colour(rng, False), np.float32)
    out = a[None, None] + level[..., None] * (b - a)[None, None]
    image.paste(Image.fromarray(np.clip(out, 0, 255).astype(np.uint8)))


def _shapes(image: Image.Image, rng: np.random.Generator) -> None:
    draw = ImageDraw.Draw(image)
    size = image.size[0]
    for _ in range(int(rng.integers(6, 30))):
        x0, y0 = (int(v) for v in rng.integers(-size // 4, size, 2))
        w, h = (int(v) for v in rng.integers(6, size // 2, 2))
        box = (x0, y0, x0 + w, y0 + h)
        fill = _colour(rng)
        kind = int(rng.integers(3))
        if kind == 0:
            draw.rectangle(box, fill=fill, outline=_colour(rng) if rng.random() < 0.4 else None)
        elif kind == 1:
            draw.ellipse(box, fill=fill)
        else:
            points = [tuple(int(v) for v in rng.integers(-size // 4, size + size // 4, 2)) for _ in range(3)]
            draw.polygon(points, fill=fill)


def _lines(image: Image.Image, rng: np.random.Generator) -> None:
    draw = ImageDraw.Draw(image)
    size = image.size[0]
    # Line art: mostly ink that stands out from the paper, some of any colour.
    dark_ink = bool(np.mean(image.getpixel((size // 2, size // 2))) > 128)
    for _ in range(int(rng.integers(10, 60))):
        a = tuple(int(v) for v in rng.integers(-size // 4, size + size // 4, 2))
        b = tuple(int(v) for v in rng.integers(-size // 4, size + size // 4, 2))
        ink = _colour(rng, dark=dark_ink) if rng.random() < 0.7 else _colour(rng)
        draw.line([a, b], fill=ink, width=int(rng.integers(1, 6)))


_PAINTERS = {"text": _text, "stripes": _stripes, "shapes": _shapes, "lines": _lines}


def drawn_scene(rng: np.random.Generator, size: int = 384, kind: str | None = None) -> np.ndarray:
    """A random drawn picture: float32 RGB in [0, 1], ``size`` x ``size``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness; the same seed gives the same scene.
    size : int
        Side in pixels (at least 64).
    kind : str, optional
        One of :data:`SCENE_KINDS`; random when None. Half the scenes of any kind get a second layer
        (text over shapes, lines over stripes) so that edges cross.

    Raises
    ------
    ValueError
        If ``size`` is below 64 or ``kind`` is unknown.
    """
    if size < 64:
        raise ValueError(f"A drawn scene needs at least 64 pixels a side, not {size}.")
    if kind is None:
        kind = SCENE_KINDS[int(rng.integers(len(SCENE_KINDS)))]
    if kind not in _PAINTERS:
        raise ValueError(f"Unknown scene kind '{kind}'; choose one of {', '.join(SCENE_KINDS)}.")
    image = _background(size, rng)
    _PAINTERS[kind](image, rng)
    if rng.random() < 0.5:
        _PAINTERS[SCENE_KINDS[int(rng.integers(len(SCENE_KINDS)))]](image, rng)
    # Drawn edges are perfectly sharp; a camera's are not quite: a touch of smoothing, now and then.
    out = np.asarray(image, np.float32) / 255.0
    if rng.random() < 0.5:
        import cv2

        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 0.7))
    return np.ascontiguousarray(out, np.float32)
