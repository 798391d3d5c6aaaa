"""Running a fully convolutional model on an image of any size: padding to a multiple, overlapping tiles.

:func:`tiled_apply` processes a large photo in overlapping tiles blended with smooth weights (the
Restormer way: sum the weighted tiles, divide by the coverage), so a 12-megapixel photo needs only a
few hundred megabytes and shows no seams. It takes a ``predict`` callable, so a test can pass the
identity and check that the seams vanish. :func:`pad_to_multiple` is the one place that meets a
model's size constraint (NAFNet's pad-then-crop).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deblur_core.progress import CancelFn, ProgressFn, check_cancel

__all__ = ["crop_to", "pad_to_multiple", "tiled_apply"]


def pad_to_multiple(
    image: np.ndarray, multiple: int, min_size: tuple[int, int] = (0, 0)
) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad the bottom and right so both sides are multiples of ``multiple`` (and at least
    ``min_size``); returns the padded array and the original (height, width) for :func:`crop_to`."""
    h, w = image.shape[:2]
    th = max(-(-h // multiple) * multiple, min_size[0])
    tw = max(-(-w // multiple) * multiple, min_size[1])
    if (th, tw) == (h, w):
        return image, (h, w)
    pad = [(0, th - h), (0, tw - w)] + [(0, 0)] * (image.ndim - 2)
    # 'symmetric' works for any pad size, unlike 'reflect' which needs pad < side.
    return np.pad(image, pad, mode="symmetric"), (h, w)


def crop_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Undo :func:`pad_to_multiple`."""
    return image[: size[0], : size[1]]


def _tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def _blend_weights(tile_h: int, tile_w: int, overlap: int) -> np.ndarray:
    """Raised-cosine ramps over the overlap, 1 in the middle; never exactly 0 so corners stay covered."""

    def ramp(n: int) -> np.ndarray:
        w = np.ones(n, np.float32)
        if overlap > 0 and n > 2 * overlap:
            r = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)
            w[:overlap], w[-overlap:] = r, r[::-1]
        return w

    return np.outer(ramp(tile_h), ramp(tile_w))[..., None]


def tiled_apply(
    image: np.ndarray,
    predict: Callable[[np.ndarray], np.ndarray],
    tile: int = 512,
    overlap: int = 32,
    multiple: int = 1,
    out_channels: int | None = None,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> np.ndarray:
    """Apply ``predict`` to ``image`` in overlapping tiles and blend the results.

    Parameters
    ----------
    image : ndarray
        H x W x C float32, or anything with a ``shape`` whose ``image[rows, columns]`` (two slices) gives that part
        as an array: the learned deconvolver's stack (:class:`deblur_core.learned.deconvolver.NetworkStack`) puts
        each tile together only when it is asked for. Tiles that pass the bottom or right border are padded as
        :func:`pad_to_multiple` would pad the whole image.
    predict : callable
        Maps a batch ``(1, h, w, C)`` to ``(1, h, w, C_out)``; called with every tile of the same
        shape (``tile`` x ``tile``, or the whole padded image if it is smaller).
    tile, overlap : int
        Tile side and overlap in pixels (``tile`` is rounded up to ``multiple``).
    multiple : int
        The model's size constraint: each side fed to ``predict`` is a multiple of it.
    on_progress, cancel : callable, optional
        ``on_progress(done_tiles, total_tiles, {})``; ``cancel()`` returning True raises
        :class:`deblur_core.progress.Cancelled`. Neither changes the result.

    Returns
    -------
    ndarray
        H x W x C_out float32, the same height and width as ``image``.
    """
    if overlap * 2 >= tile:
        raise ValueError("The tile overlap must be less than half the tile size.")
    tile = -(-tile // multiple) * multiple
    h, w = image.shape[:2]
    # The picture padded to a multiple of ``multiple``; each tile is cut from the image and padded on its own.
    ph, pw = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    th, tw = min(tile, ph), min(tile, pw)
    ys, xs = _tile_starts(ph, th, overlap), _tile_starts(pw, tw, overlap)
    total = len(ys) * len(xs)

    def piece(y: int, x: int) -> np.ndarray:
        part = np.asarray(image[y : min(y + th, h), x : min(x + tw, w)], np.float32)
        return pad_to_multiple(part, 1, (th, tw))[0][None]

    if total == 1:
        out = np.asarray(predict(piece(0, 0)))[0]
        if on_progress:
            on_progress(1, 1, {})
        return crop_to(out, (h, w)).astype(np.float32)
    weights = _blend_weights(th, tw, overlap)
    acc = None
    cover = np.zeros((ph, pw, 1), np.float32)
    done = 0
    for y in ys:
        for x in xs:
            check_cancel(cancel)
            result = np.asarray(predict(piece(y, x)))[0]
            if acc is None:
                acc = np.zeros((ph, pw, out_channels or result.shape[-1]), np.float32)
            acc[y : y + th, x : x + tw] += result * weights
            cover[y : y + th, x : x + tw] += weights
            done += 1
            if on_progress:
                on_progress(done, total, {})
    return crop_to(np.divide(acc, cover, out=acc), (h, w))  # in place: a 12-MP result is 144 MB a copy
