"""Large photos solved in overlapping tiles on parallel threads, blended without seams.

A deconvolution is global in principle, but its answer at a pixel depends on the photo within a few
kernel sizes of it. So a large photo can be cut into tiles of about a megapixel, each solved with a
margin of four kernel sizes (at least 64 px) as a photo of its own, and the overlapping margins
blended linearly. Smaller transforms stay in the processor's caches, and the tiles run on parallel
threads (NumPy and SciPy's FFTs release Python's lock; each tile's FFTs use one worker).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from deblur_core.classical.fourier import one_fft_worker
from deblur_core.progress import ProgressFn

__all__ = ["TILE_THREADS", "Tile", "blend_weight", "solve_in_tiles", "tile_grid"]

TILE_THREADS = max(1, min(4, os.cpu_count() or 1))
MIN_MARGIN = 64
KERNELS_PER_MARGIN = 4


@dataclass(frozen=True)
class Tile:
    """One tile of a photo: its own part ``core`` and, around it, the ``span`` it is solved on (row, column slices)."""

    core: tuple[slice, slice]
    span: tuple[slice, slice]


def tile_grid(height: int, width: int, kernel: np.ndarray, side: int) -> list[Tile]:
    """Tiles of about ``side`` px covering the photo (at least two), each with a margin of four kernel sizes.

    A photo of about one tile is cut in two halves, for two threads. Returns an empty list when the
    photo is too small for tiles at least twice their margin.
    """
    margin = max(MIN_MARGIN, KERNELS_PER_MARGIN * max(kernel.shape))
    rows, cols = max(1, round(height / side)), max(1, round(width / side))
    if rows * cols == 1:
        rows, cols = (2, 1) if height >= width else (1, 2)
    if min(height / rows, width / cols) < 2 * margin:
        return []

    def cuts(n: int, parts: int) -> list[tuple[int, int]]:
        edges = [round(i * n / parts) for i in range(parts + 1)]
        return list(zip(edges[:-1], edges[1:], strict=True))

    tiles = []
    for y0, y1 in cuts(height, rows):
        for x0, x1 in cuts(width, cols):
            span = (
                slice(max(0, y0 - margin), min(height, y1 + margin)),
                slice(max(0, x0 - margin), min(width, x1 + margin)),
            )
            tiles.append(Tile((slice(y0, y1), slice(x0, x1)), span))
    return tiles


def blend_weight(span: slice, core: slice, n: int) -> np.ndarray:
    """1-D weight over a tile's span: 1 on its core, falling linearly to 0 across each overlap with a neighbour.

    The ramp runs over the whole overlap (both margins), centred on the core's edge, so the two
    neighbours' weights add up to 1 there; in 2-D the outer product of the row and column weights
    adds up to 1 at every pixel, corners included.
    """
    length = span.stop - span.start
    weight = np.ones(length, np.float32)
    before, after = core.start - span.start, span.stop - core.stop
    if span.start > 0:
        ramp = (np.arange(2 * before, dtype=np.float32) + 0.5) / (2 * before)
        weight[: 2 * before] = np.minimum(weight[: 2 * before], ramp)
    if span.stop < n:
        ramp = (np.arange(2 * after, dtype=np.float32) + 0.5) / (2 * after)
        weight[length - 2 * after :] = np.minimum(weight[length - 2 * after :], ramp[::-1])
    return weight


def solve_in_tiles(
    image: np.ndarray,
    tiles: list[Tile],
    solve: Callable[[np.ndarray], np.ndarray],
    on_progress: ProgressFn | None = None,
    what: str = "Deconvolution",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``solve`` each tile's span of ``image`` (H x W x C) on TILE_THREADS threads; the blend, clipped to [0, 1].

    ``solve`` takes and returns an h x w x C float32 array; an exception in it (``Cancelled``, say)
    stops the rest and is raised here. ``on_progress(done, total, info)`` follows the tiles. ``out``, an
    H x W x C float32 array (a view into a larger one will do), receives the blend instead of a new array.
    """
    h, w = image.shape[:2]
    # The blend adds each tile's weighted part to zeros; the weights add up to 1 at every pixel.
    if out is None:
        out = np.zeros_like(image, dtype=np.float32)
    else:
        out[...] = 0.0

    def run(tile: Tile) -> np.ndarray:
        with one_fft_worker():
            return solve(image[tile.span])

    with ThreadPoolExecutor(max_workers=min(TILE_THREADS, len(tiles)), thread_name_prefix="tile") as pool:
        for done, (tile, part) in enumerate(zip(tiles, pool.map(run, tiles), strict=True), start=1):
            weight = np.outer(blend_weight(tile.span[0], tile.core[0], h), blend_weight(tile.span[1], tile.core[1], w))
            part = part * weight[..., None]
            out[tile.span] += part
            del part
            if on_progress is not None:
                on_progress(done, len(tiles), {"message": f"{what}: part {done} of {len(tiles)}"})
    return np.clip(out, 0.0, 1.0, out=out)
