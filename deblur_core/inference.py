"""Running a restoration method: padding, tiled prediction and the single ``restore`` entry point.

:func:`restore` is what the command line, the app, the benchmark and the video code call for every
method, learned or classical. Learned models run through :func:`tiled_apply`, which processes a
large photo in overlapping tiles blended with smooth weights, so a 12-megapixel photo needs only a
few hundred megabytes and shows no seams.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from deblur_core.degrade import bicubic_upscale
from deblur_core.image import check_image, rgb_to_ycbcr, ycbcr_to_rgb
from deblur_core.progress import CancelFn, ProgressFn, check_cancel
from deblur_core.registry import CLASSICAL_NAMES, ModelEntry, Registry


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
        H x W x C float32.
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
    padded, _ = pad_to_multiple(
        image, multiple, (min(tile, -(-h // multiple) * multiple), min(tile, -(-w // multiple) * multiple))
    )
    ph, pw = padded.shape[:2]
    th, tw = min(tile, ph), min(tile, pw)
    ys, xs = _tile_starts(ph, th, overlap), _tile_starts(pw, tw, overlap)
    total = len(ys) * len(xs)
    if total == 1:
        out = np.asarray(predict(padded[None]))[0]
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
            piece = np.asarray(predict(padded[None, y : y + th, x : x + tw]))[0]
            if acc is None:
                acc = np.zeros((ph, pw, out_channels or piece.shape[-1]), np.float32)
            acc[y : y + th, x : x + tw] += piece * weights
            cover[y : y + th, x : x + tw] += weights
            done += 1
            if on_progress:
                on_progress(done, total, {})
    return crop_to(acc / cover, (h, w))


class ModelRunner:
    """A loaded model plus its card: runs it on images of any size, safely from several threads."""

    def __init__(self, model, card: dict, tile: int | None = None, overlap: int = 32):
        self.model = model
        self.card = card
        self.spec = card["input"]
        fixed = self.spec.get("fixed_size")
        self.multiple = int(self.spec.get("multiple", 1))
        self.tile = int(fixed[0]) if fixed else (tile or 768)
        self.overlap = min(overlap, self.tile // 4)
        self.fixed = bool(fixed)
        self._first_call = threading.Lock()
        self._warm = False

    @property
    def frames(self) -> int:
        return int(self.spec.get("frames", 1))

    @property
    def scale(self) -> int:
        return int(self.spec.get("scale", 1))

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        if self.fixed and batch.shape[1:3] != (self.tile, self.tile):
            # Fixed-input models get a full tile: pad the piece and crop the answer.
            h, w = batch.shape[1:3]
            padded, _ = pad_to_multiple(batch[0], 1, (self.tile, self.tile))
            return self._predict(padded[None])[:, :h, :w]
        if not self._warm:
            with self._first_call:  # Keras builds its predict function on the first call; do it once
                out = self.model.predict_on_batch(batch.astype(np.float32))
                self._warm = True
                return np.asarray(out)
        return np.asarray(self.model.predict_on_batch(batch.astype(np.float32)))

    def __call__(
        self,
        image: np.ndarray,
        upscale: bool = False,
        on_progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
    ) -> np.ndarray:
        """Restore ``image`` (H x W x 3, or H x W x 3*frames for video models); returns H x W x 3.

        With ``upscale=True`` a model whose card has ``scale`` > 1 first enlarges the image by
        that factor with bicubic interpolation (the DBSRCNN protocol), so the output is larger.
        """
        expected = 3 * self.frames
        if image.ndim != 3 or image.shape[2] != expected:
            raise ValueError(
                f"This model takes {self.frames} frame(s) of RGB ({expected} channels); got shape {image.shape}."
            )
        if upscale and self.scale > 1:
            image = np.concatenate(
                [bicubic_upscale(image[..., i : i + 3], self.scale) for i in range(0, expected, 3)], axis=2
            )
        if self.spec.get("color") == "y":
            ycc = rgb_to_ycbcr(image)
            y = tiled_apply(ycc[..., :1], self._predict, self.tile, self.overlap, self.multiple, 1, on_progress, cancel)
            return ycbcr_to_rgb(np.concatenate([y, ycc[..., 1:]], axis=2))
        out = tiled_apply(image, self._predict, self.tile, self.overlap, self.multiple, 3, on_progress, cancel)
        return np.clip(out, 0.0, 1.0).astype(np.float32)


_DEFAULT_REGISTRY: Registry | None = None
_RUNNERS: dict[tuple[str, float], ModelRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def default_registry() -> Registry:
    """The process-wide registry (shipped models plus the user model folder)."""
    global _DEFAULT_REGISTRY
    if _DEFAULT_REGISTRY is None:
        _DEFAULT_REGISTRY = Registry()
    return _DEFAULT_REGISTRY


def resolve_model(method: str, registry: Registry | None = None) -> ModelEntry:
    """A model entry from a registry name (``default`` included) or a ``.keras`` path."""
    registry = registry or default_registry()
    if method.endswith((".keras", ".weights.h5")) or "/" in method or "\\" in method:
        return registry.entry_from_path(Path(method))
    return registry.get(method)


def get_runner(entry: ModelEntry, registry: Registry | None = None) -> ModelRunner:
    """The cached :class:`ModelRunner` for ``entry`` (loaded once per process)."""
    registry = registry or default_registry()
    key = (str(entry.path), entry.path.stat().st_mtime)
    with _RUNNERS_LOCK:
        if key not in _RUNNERS:
            _RUNNERS[key] = ModelRunner(registry.load(entry), entry.card)
        return _RUNNERS[key]


def method_needs_kernel(method: str) -> bool:
    """Whether ``method`` is a classical deconvolution that needs the blur kernel."""
    return method in CLASSICAL_NAMES


def restore(
    image: np.ndarray,
    method: str = "default",
    *,
    kernel: np.ndarray | None = None,
    registry: Registry | None = None,
    upscale: bool = False,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    **options,
) -> np.ndarray:
    """Restore ``image`` with ``method``: one entry point for every method.

    Parameters
    ----------
    image : ndarray
        float32 RGB H x W x 3 in [0, 1] (H x W x 3*frames for a video model).
    method : str
        ``default``, a model name from the registry, a ``.keras`` path with its card beside it, or
        one of ``wiener``, ``richardson-lucy``, ``unsupervised-wiener`` (these need ``kernel``).
    kernel : ndarray, optional
        The blur kernel, for the classical methods (learned models are blind and ignore it).
    registry : Registry, optional
        Where model names are looked up; the default registry if omitted.
    upscale : bool
        For a model with an output scale (DBSRCNN), enlarge as well as deblur.
    on_progress, cancel : callable, optional
        Progress reports and a stop request; neither changes the result.
    **options
        Passed to the classical method (``nsr=``, ``iterations=``).

    Returns
    -------
    ndarray
        float32 RGB in [0, 1]; the input's size, or ``scale`` times it when upscaling.

    Raises
    ------
    ValueError
        For an unknown method, a missing kernel, or an image the model cannot take.
    """
    if method in CLASSICAL_NAMES:
        from deblur_core import classical

        check_image(image)
        fn = classical.CLASSICAL_METHODS[method]
        kwargs = dict(options)
        if on_progress is not None:
            kwargs["on_progress"] = on_progress
        if cancel is not None and method == "richardson-lucy":
            kwargs["cancel"] = cancel
        return fn(image, kernel, **kwargs)
    if options:
        raise ValueError(f"Learned models take no options; got {sorted(options)}.")
    entry = resolve_model(method, registry)
    runner = get_runner(entry, registry)
    if runner.frames == 1:
        check_image(image)
    return runner(np.asarray(image, np.float32), upscale=upscale, on_progress=on_progress, cancel=cancel)
