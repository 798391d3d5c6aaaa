"""``restore()``: the one entry point for every restoration method, learned or classical.

It is what the command line, the app, the benchmark and the video code call. It looks the method up
in the catalogue (any other name is a trained model of the registry), checks the image, the kernel
and the options against the method's record, runs it with a :class:`MethodCall`, and returns a
:class:`~deblur_core.restoration.result.Restoration`: the image, the kernel used and where it came
from, and the stages with their seconds. :func:`restore_image` returns the image alone.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from deblur_core.image import check_image
from deblur_core.learned.registry import Registry, default_registry
from deblur_core.learned.runner import ModelRunner
from deblur_core.progress import CancelFn, ProgressFn
from deblur_core.restoration.catalogue import CATALOGUE, Method, get_method, kernel_needed, method_for_model
from deblur_core.restoration.result import Restoration, Stage

if TYPE_CHECKING:
    from deblur_core.classical.estimate import KernelEstimate
    from deblur_core.classical.fit import KernelFit

__all__ = ["DEFAULT_WITH_KERNEL", "MethodCall", "resolve_method", "restore", "restore_image", "restore_with_estimate"]


@dataclass
class MethodCall:
    """Everything a method's ``run`` function receives for one restoration.

    Attributes
    ----------
    method : Method
        The method's record.
    image : ndarray
        The input, float32 RGB H x W x 3 in [0, 1] (H x W x 3*frames for a video model).
    kernel : ndarray or None
        The kernel given by the caller (None for a blind method, or one that estimates it).
    options : dict
        The method's options, checked against its record.
    registry : Registry
        Where model files are found and loaded (once: the registry is the model cache).
    model : str or None
        The model to run: the method's own :attr:`Method.model`, or the trained model asked for.
    upscale : bool
        For a model with an output scale, enlarge as well as deblur.
    kernel_estimated : bool
        The kernel is only approximately right (estimated, or shaped by hand): a method that can leans on it less.
    fitted : KernelFit or None
        Where the caller's kernel was fitted to the photo first (``restore(..., fit_kernel=True)``), what that did;
        :attr:`kernel` is then its result.
    on_progress, cancel : callable, optional
        Pass both on to every long step; neither may change the result.
    stages : list of Stage
        Filled by :meth:`stage`.
    """

    method: Method
    image: np.ndarray
    kernel: np.ndarray | None
    options: dict
    registry: Registry
    model: str | None = None
    upscale: bool = False
    kernel_estimated: bool = False
    fitted: KernelFit | None = None
    on_progress: ProgressFn | None = None
    cancel: CancelFn | None = None
    stages: list[Stage] = field(default_factory=list)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one step of the method: ``with call.stage("Wiener deconvolution"): ...``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages.append(Stage(name, time.perf_counter() - start))

    def runner(self, model: str | None = None) -> ModelRunner:
        """The loaded model ``model`` (default: :attr:`model`), from the registry's cache."""
        name = model or self.model
        if name is None:
            raise ValueError(f"{self.method.title} runs no model file.")
        return self.registry.runner(self.registry.resolve(name))


def _record(method: str) -> tuple[Method, str | None]:
    """The catalogue's record for ``method`` and the model it runs; any other name is a trained model's."""
    from deblur_core.restoration.builtin import TRAINED_MODEL

    record = get_method(method)
    if record is None:
        return TRAINED_MODEL, method
    return record, record.model


DEFAULT_WITH_KERNEL = "deconvolver"
"""What ``default`` means when the caller gives the blur kernel: the learned deconvolver."""


def resolve_method(method: str, has_kernel: bool, registry: Registry | None = None) -> str:
    """The method ``method`` stands for: ``default`` with a kernel is the learned deconvolver, where its
    model is installed (otherwise the default blind model); a model that takes a kernel runs through the
    catalogue method that uses it. Any other name is returned as it is."""
    if method == "default" and has_kernel:
        record = get_method(DEFAULT_WITH_KERNEL)
        registry = registry or default_registry()
        if record is not None and record.available(registry.names()):
            return record.name
        return method
    if get_method(method) is None and not method.endswith((".keras", ".h5")):
        runs_it = method_for_model(method)
        if runs_it is not None:
            return runs_it.name
    return method


def _check_options(record: Method, options: dict) -> None:
    unknown = sorted(set(options) - {o.name for o in record.options})
    if not unknown:
        return
    if not record.options:
        raise ValueError(f"{record.title} takes no options; got {unknown}.")
    raise ValueError(
        f"{record.title} takes the options {', '.join(o.name for o in record.options)}; got {', '.join(unknown)}."
    )


def restore(
    image: np.ndarray,
    method: str = "default",
    *,
    kernel: np.ndarray | None = None,
    registry: Registry | None = None,
    upscale: bool = False,
    kernel_estimated: bool = False,
    fit_kernel: bool = False,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    **options,
) -> Restoration:
    """Restore ``image`` with ``method``: one entry point for every method.

    Parameters
    ----------
    image : ndarray
        float32 RGB H x W x 3 in [0, 1] (H x W x 3*frames for a video model).
    method : str
        A method of the catalogue (``wiener``, ``richardson-lucy``, ``deconvolver``...), ``default``
        (with a kernel: the learned deconvolver, see :func:`resolve_method`), a model name from the
        registry, or a ``.keras`` path with its card beside it.
    kernel : ndarray, optional
        The blur kernel, for the methods that need it (blind methods ignore it).
    registry : Registry, optional
        Where model names are looked up; the default registry if omitted.
    upscale : bool
        For a model with an output scale (DBSRCNN), enlarge as well as deblur.
    kernel_estimated : bool
        The kernel is only approximately right (estimated from the photo, or shaped by hand), not known exactly:
        the learned deconvolver leans on it less (:func:`deblur_core.learned.deconvolver.method_settings`).
    fit_kernel : bool
        The kernel is a guess (shaped by hand): fit it to the photo first (:func:`deblur_core.classical.fit.fit_kernel`,
        under a second: it works on a crop), and use the fitted kernel where it explains the photo better. The result's
        ``kernel_source`` is then ``"fitted"``. Only for a method that takes a kernel.
    on_progress, cancel : callable, optional
        Progress reports (``on_progress(done, total, info)``, ``info`` a dict) and a stop request,
        handed to the method itself; neither changes the result.
    **options
        The method's options (``nsr=``, ``iterations=``), as its catalogue record lists them.

    Returns
    -------
    Restoration
        The image (float32 RGB in [0, 1]; the input's size, or ``scale`` times it when upscaling),
        the kernel used and its source, and the stages with their seconds.

    Raises
    ------
    ValueError
        For an unknown method, a missing kernel, an option the method does not take, an image the
        method cannot take, or ``fit_kernel`` for a method that takes no kernel.
    deblur_core.progress.Cancelled
        If ``cancel`` returned True.

    Examples
    --------
    >>> from deblur_core.kernels import gaussian_kernel
    >>> photo = np.full((32, 32, 3), 0.5, np.float32)
    >>> result = restore(photo, "wiener", kernel=gaussian_kernel(1.0))
    >>> result.image.shape, result.kernel_source
    ((32, 32, 3), 'given')
    """
    registry = registry or default_registry()
    record, model = _record(resolve_method(method, kernel is not None, registry))
    _check_options(record, options)
    if record.name in CATALOGUE:  # a trained model checks its own input: it may take several frames
        check_image(image)
    if record.kernel == "needs" and kernel is None:
        raise ValueError(kernel_needed(record))
    given = np.asarray(kernel, np.float32) if record.kernel == "needs" else None
    fitted = _fitted(record, image, given, cancel) if fit_kernel else None
    flags = dict(upscale=upscale, kernel_estimated=kernel_estimated, on_progress=on_progress, cancel=cancel)
    call = MethodCall(record, image, fitted.kernel if fitted else given, dict(options), registry, model, **flags)
    call.fitted = fitted
    start = time.perf_counter()
    out = record.run(call)
    return _result(call, out, time.perf_counter() - start, method)


def _fitted(record: Method, image: np.ndarray, given: np.ndarray | None, cancel: CancelFn | None) -> KernelFit:
    """The caller's kernel fitted to the photo, for ``restore(..., fit_kernel=True)``."""
    from deblur_core.classical.fit import fit_kernel

    if given is None:
        raise ValueError(f"{record.title} takes no blur kernel, so there is no kernel to fit to the photo.")
    return fit_kernel(image, given, cancel=cancel)


def restore_with_estimate(
    image: np.ndarray,
    method: str,
    estimate: KernelEstimate,
    *,
    registry: Registry | None = None,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Restoration:
    """What ``restore(image, method)`` gives for a method that estimates the kernel, from an estimate made beforehand.

    The estimate (:func:`deblur_core.classical.estimate.estimate_kernel`, perhaps with another largest
    size or a region of the caller's choice, perhaps shown to a person first) takes the place of the
    method's own: the method it names in :attr:`Method.with_kernel` runs with the estimated kernel, and
    where the estimate found no convincing blur the photo comes back as it is, as the method itself
    does. With the estimate the method would make itself (the default settings) the result is the
    method's own.

    Parameters
    ----------
    image : ndarray
        The photo the estimate was made from, float32 RGB H x W x 3 in [0, 1].
    method : str
        A method of the catalogue that estimates the kernel (``estimated-deconvolver``).
    estimate : KernelEstimate
        The estimate to use.
    registry : Registry, optional
        Where the model files are found; the default registry if omitted.
    on_progress, cancel : callable, optional
        As for :func:`restore`.

    Returns
    -------
    Restoration
        With ``kernel_source`` ``"estimated"``; its first stage is the estimate, with its seconds.

    Raises
    ------
    ValueError
        If ``method`` is not a method that estimates the kernel and hands it on, or the image is not
        H x W x 3 in [0, 1].

    Examples
    --------
    >>> from deblur_core.classical.estimate import estimate_kernel
    >>> found = estimate_kernel(photo, max_size=15)  # doctest: +SKIP
    >>> restore_with_estimate(photo, "estimated-deconvolver", found).kernel_source  # doctest: +SKIP
    'estimated'
    """
    record = get_method(method)
    if record is None or record.kernel != "estimates" or record.with_kernel is None:
        takers = [m.name for m in CATALOGUE.values() if m.kernel == "estimates" and m.with_kernel]
        raise ValueError(
            f"'{method}' does not take an estimate made beforehand; the methods that do are: "
            f"{', '.join(takers) or 'none'}."
        )
    picture = check_image(image)
    stages = [Stage("Estimating the blur kernel", float(estimate.seconds))]
    if estimate.fallback:
        out = picture
    else:
        done = restore(
            picture,
            record.with_kernel,
            kernel=estimate.kernel,
            kernel_estimated=True,
            registry=registry,
            on_progress=on_progress,
            cancel=cancel,
        )
        out = done.image
        stages += done.stages
    return Restoration(np.asarray(out), np.asarray(estimate.kernel, np.float32), "estimated", tuple(stages), method)


def _result(call: MethodCall, out, seconds: float, method: str) -> Restoration:
    """The :class:`Restoration` of a finished run: the kernel it used and where from, its stages."""
    used, source = (call.kernel, "given") if call.kernel is not None else (None, "none")
    if call.fitted is not None and call.fitted.fitted:
        source = "fitted"
    if call.method.kernel == "estimates":
        out, estimated = out
        used, source = np.asarray(estimated, np.float32), "estimated"
    stages = tuple(call.stages) or (Stage(call.method.title, seconds),)
    if call.fitted is not None:
        stages = (Stage("Fitting the kernel to the photo", call.fitted.seconds), *stages)
    return Restoration(np.asarray(out), used, source, stages, method)


def restore_image(image: np.ndarray, method: str = "default", **kwargs) -> np.ndarray:
    """:func:`restore` returning only the restored image (for callers that need nothing else)."""
    return restore(image, method, **kwargs).image
