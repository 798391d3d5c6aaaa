"""``restore()``: the one entry point for every restoration method, learned or classical.

It is what the command line, the app, the benchmark and the video code call.
"""

from __future__ import annotations

import numpy as np

from deblur_core.image import check_image
from deblur_core.learned.registry import CLASSICAL_NAMES, Registry, get_runner, resolve_model
from deblur_core.progress import CancelFn, ProgressFn

__all__ = ["restore"]


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
        fn = {"wiener": classical.wiener, "richardson-lucy": classical.richardson_lucy}.get(
            method, classical.unsupervised_wiener
        )
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
