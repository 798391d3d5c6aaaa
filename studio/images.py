"""Pictures for the browser: scaled previews, zoomed crops, difference maps, kernel views, PNG bytes.

Everything here takes the library's float32 RGB images in [0, 1] and returns uint8 arrays or
encoded bytes ready to show. Nothing here changes what is computed or downloaded: previews only
decide how many pixels travel to the browser, and every caller says when a preview is scaled.
This module never imports streamlit.
"""

from __future__ import annotations

import base64
import collections
import threading
import weakref
from dataclasses import dataclass

import numpy as np
from PIL import Image

from deblur_core.image import to_uint8
from deblur_core.io import encode_image
from deblur_core.io.png import encode_png
from deblur_core.kernels import kernel_picture as kernel_picture  # the library's, for the pages

PREVIEW_MAX_SIDE = 1200
"""Longest side, in pixels, of the pictures sent to the browser; downloads are always full size."""

SLIDER_MAX_SIDE = 800
"""Longest side of the two pictures inside the before/after slider (they travel inline)."""

MAX_PREVIEW_ASPECT = 6
"""A preview is at most this many times longer than it is high (or wide): a longer strip shows its middle."""

MIN_PREVIEW_SIDE = 96
"""Shortest side of a preview in pixels: thinner pictures are enlarged (nearest-neighbour) to it."""

# Viridis (perceptually uniform, readable with every common colour-vision deficiency), sampled at
# nine evenly spaced points; the colour map is the piecewise-linear curve through them.
_VIRIDIS_ANCHORS = np.array(
    [
        [0.267004, 0.004874, 0.329415],
        [0.282623, 0.140926, 0.457517],
        [0.253935, 0.265254, 0.529983],
        [0.206756, 0.371758, 0.553117],
        [0.163625, 0.471133, 0.558148],
        [0.127568, 0.566949, 0.550556],
        [0.134692, 0.658636, 0.517649],
        [0.266941, 0.748751, 0.440573],
        [0.993248, 0.906157, 0.143936],
    ],
    np.float32,
)


def _lookup_table(anchors: np.ndarray, size: int = 256) -> np.ndarray:
    positions = np.linspace(0.0, 1.0, len(anchors))
    grid = np.linspace(0.0, 1.0, size)
    table = np.stack([np.interp(grid, positions, anchors[:, c]) for c in range(3)], axis=1)
    return np.round(table * 255).astype(np.uint8)


VIRIDIS = _lookup_table(_VIRIDIS_ANCHORS)
"""256 x 3 uint8 lookup table of the viridis colour map."""


@dataclass(frozen=True)
class Preview:
    """A picture for the browser and how it relates to the full image."""

    pixels: np.ndarray  # uint8 H x W x 3
    full_size: tuple[int, int]  # (height, width) of the image it shows
    shown: tuple[int, int] | None = None  # (height, width) of the middle part shown, when a long strip is cut

    @property
    def scaled(self) -> bool:
        return self.pixels.shape[:2] != self.full_size

    def note(self) -> str:
        """One sentence saying whether the preview is scaled or shows only the middle; empty when neither."""
        if not self.scaled:
            return ""
        h, w = self.pixels.shape[:2]
        fh, fw = self.full_size
        if self.shown is not None:
            sh, sw = self.shown
            shape = "wide" if fw > fh else "tall"
            size = "" if (sh, sw) == (h, w) else f", {'enlarged' if h > sh else 'scaled'} to {w} × {h} px"
            return (
                f"This picture is very {shape} ({fw} × {fh} px), so the preview shows its middle {sw} × {sh} px"
                f"{size}; the download is the whole picture."
            )
        return f"Preview scaled to {w} × {h} px; the download is full size ({fw} × {fh} px)."


def middle_crop(height: int, width: int, max_aspect: int = MAX_PREVIEW_ASPECT) -> tuple[slice, slice]:
    """The rows and columns of the middle of a picture, cut so its long side is at most ``max_aspect`` times its short."""
    if width > height * max_aspect:
        keep = height * max_aspect
        left = (width - keep) // 2
        return slice(0, height), slice(left, left + keep)
    if height > width * max_aspect:
        keep = width * max_aspect
        top = (height - keep) // 2
        return slice(top, top + keep), slice(0, width)
    return slice(0, height), slice(0, width)


def _thin_factor(height: int, width: int, max_side: int) -> int:
    """The whole-number enlargement that brings the short side up to MIN_PREVIEW_SIDE, within ``max_side``."""
    short, long = min(height, width), max(height, width)
    if short >= MIN_PREVIEW_SIDE:
        return 1
    return max(1, min(-(-MIN_PREVIEW_SIDE // short), max_side // long))


def fit_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """(height, width) scaled down so the longest side is at most ``max_side`` (never up)."""
    longest = max(height, width)
    if longest <= max_side:
        return height, width
    factor = max_side / longest
    return max(1, round(height * factor)), max(1, round(width * factor))


_PREVIEWS: collections.OrderedDict[tuple[int, int], tuple[weakref.ref, Preview]] = collections.OrderedDict()
_PREVIEWS_LOCK = threading.Lock()
_PREVIEWS_KEPT = 48


def preview(rgb: np.ndarray, max_side: int = PREVIEW_MAX_SIDE) -> Preview:
    """A uint8 copy of ``rgb`` whose longest side is at most ``max_side`` (area-averaged when shrunk).

    A strip longer than :data:`MAX_PREVIEW_ASPECT` times its width (a 20000 x 20 panorama) shows its middle
    part, enlarged with whole pixels when it is thinner than :data:`MIN_PREVIEW_SIDE`, so a preview is never
    a line one pixel high; :meth:`Preview.note` says so.

    Pages redraw on every widget change while the pictures stay the same arrays, so the last few
    previews are remembered per array (by identity, for as long as the array lives).
    """
    key = (id(rgb), int(max_side))
    with _PREVIEWS_LOCK:
        hit = _PREVIEWS.get(key)
        if hit is not None and hit[0]() is rgb:
            _PREVIEWS.move_to_end(key)
            return hit[1]
    h, w = rgb.shape[:2]
    rows, cols = middle_crop(h, w)
    pixels = to_uint8(rgb[rows, cols])
    ch, cw = pixels.shape[:2]
    th, tw = fit_size(ch, cw, max_side)
    if (th, tw) != (ch, cw):
        pixels = np.asarray(Image.fromarray(pixels).resize((tw, th), Image.Resampling.BOX))
    factor = _thin_factor(th, tw, max_side) if (ch, cw) != (h, w) else 1
    if factor > 1:
        pixels = enlarge_nearest(pixels, factor)
    pixels.setflags(write=False)
    result = Preview(pixels, (h, w), (ch, cw) if (ch, cw) != (h, w) else None)
    try:
        ref = weakref.ref(rgb)
    except TypeError:  # an object without weak references: just do not remember it
        return result
    with _PREVIEWS_LOCK:
        _PREVIEWS[key] = (ref, result)
        while len(_PREVIEWS) > _PREVIEWS_KEPT:
            _PREVIEWS.popitem(last=False)
    return result


def png_bytes(pixels: np.ndarray) -> bytes:
    """Lossless PNG of a uint8 or float [0, 1] RGB array."""
    if pixels.dtype == np.uint8:
        return encode_png(pixels)  # previews are made on every change: compressed on every core
    return encode_image(np.asarray(pixels, np.float32))


def data_uri(pixels: np.ndarray) -> str:
    """A ``data:image/png;base64,...`` URI (no file, no network)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels)).decode("ascii")


def enlarge_nearest(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Enlarge by an integer factor with nearest-neighbour, so single pixels stay visible as squares."""
    factor = max(1, int(factor))
    if factor == 1:
        return pixels
    return np.repeat(np.repeat(pixels, factor, axis=0), factor, axis=1)


def crop_box(height: int, width: int, cx: float, cy: float, side: int) -> tuple[int, int, int, int]:
    """A ``side`` x ``side`` window centred at fractions (``cx``, ``cy``) of the image, kept inside it.

    Returns ``(top, left, bottom, right)``; the window shrinks to the image where it is smaller.
    """
    sh, sw = min(side, height), min(side, width)
    top = int(round(cy * height - sh / 2))
    left = int(round(cx * width - sw / 2))
    top = min(max(top, 0), height - sh)
    left = min(max(left, 0), width - sw)
    return top, left, top + sh, left + sw


def zoom_crop(rgb: np.ndarray, cx: float, cy: float, zoom: int, view: int = 320) -> np.ndarray:
    """The region around (``cx``, ``cy``) enlarged ``zoom`` times with nearest-neighbour, about ``view`` px wide.

    ``cx`` and ``cy`` are fractions of the width and height, so the same call on images of different
    sizes (an enlarged result beside its input) shows the same part of the scene.
    """
    zoom = max(1, int(zoom))
    side = max(8, view // zoom)
    top, left, bottom, right = crop_box(rgb.shape[0], rgb.shape[1], cx, cy, side)
    return enlarge_nearest(to_uint8(rgb[top:bottom, left:right]), zoom)


def difference_map(output: np.ndarray, truth: np.ndarray, full_scale: float = 0.25) -> np.ndarray:
    """|output - truth| averaged over the colour channels, coloured with viridis.

    Dark purple is no difference; yellow is a difference of ``full_scale`` (in [0, 1] units) or more.
    """
    if output.shape != truth.shape:
        raise ValueError(
            f"The result ({output.shape[1]} x {output.shape[0]}) and the ground truth "
            f"({truth.shape[1]} x {truth.shape[0]}) differ in size, so there is no difference map."
        )
    diff = np.abs(output.astype(np.float32) - truth.astype(np.float32)).mean(axis=2)
    index = np.clip(diff / full_scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return VIRIDIS[index]


def colour_bar(width: int = 256, height: int = 14) -> np.ndarray:
    """A horizontal viridis legend, from no difference (left) to the full scale (right)."""
    row = VIRIDIS[np.linspace(0, 255, width).astype(np.uint8)]
    return np.repeat(row[None], height, axis=0)


def region_thumbnail(
    rgb: np.ndarray, boxes: list[tuple[tuple[int, int, int, int], tuple[int, int, int]]], max_side: int = 240
):
    """A small copy of the photo with each ``(x, y, width, height)`` box outlined in its colour (uint8 RGB).

    The boxes are in the photo's pixels; the outline is 2 px wide on the thumbnail, drawn inside the box,
    so a box as big as the photo stays visible.
    """
    h, w = rgb.shape[:2]
    small = preview(rgb, max_side)  # remembered per photo, so redrawing the boxes is cheap
    if small.shown is None:
        pixels = np.array(small.pixels)  # a writable copy
    else:  # a long strip, which the preview cuts: the whole of it, however thin
        th, tw = fit_size(h, w, max_side)
        pixels = np.array(Image.fromarray(to_uint8(rgb)).resize((tw, th), Image.Resampling.BOX))
    th, tw = pixels.shape[:2]
    sy, sx = th / h, tw / w
    for (x, y, bw, bh), colour in boxes:
        left, top = int(round(x * sx)), int(round(y * sy))
        right, bottom = max(left + 1, int(round((x + bw) * sx))), max(top + 1, int(round((y + bh) * sy)))
        right, bottom = min(right, tw), min(bottom, th)
        line = min(2, right - left, bottom - top)
        for rows, cols in (
            (slice(top, top + line), slice(left, right)),
            (slice(bottom - line, bottom), slice(left, right)),
            (slice(top, bottom), slice(left, left + line)),
            (slice(top, bottom), slice(right - line, right)),
        ):
            pixels[rows, cols] = colour
    return pixels


def app_icon(size: int = 64) -> np.ndarray:
    """The app's icon, drawn here so no icon is fetched from the internet: a motion-blur streak on blue."""
    from scipy import ndimage

    from deblur_core.kernels import motion_kernel

    streak = motion_kernel(size * 0.6, 35.0)
    streak = ndimage.grey_dilation(streak / streak.max(), size=(max(3, size // 10),) * 2)
    icon = np.empty((size, size, 3), np.float32)
    icon[:] = np.array([37, 99, 235], np.float32) / 255.0  # the theme's primary blue
    h, w = streak.shape
    top, left = (size - h) // 2, (size - w) // 2
    region = icon[top : top + h, left : left + w]
    icon[top : top + h, left : left + w] = region + (1.0 - region) * np.clip(streak * 1.6, 0, 1)[..., None]
    return to_uint8(icon)
