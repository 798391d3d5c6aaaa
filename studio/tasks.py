"""The computations behind the pages, as plain functions that the work queue runs.

Each takes arrays and settings and returns arrays and numbers; each accepts ``on_progress`` and
``cancel`` callables so it can run in a worker thread that never touches streamlit. This module
never imports streamlit.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np

from deblur_core import degrade, kernels, metrics
from deblur_core.classical.estimate import KernelEstimate, estimate_kernel
from deblur_core.learned.registry import Registry
from deblur_core.restoration import restore, restore_image, restore_with_estimate
from studio.images import crop_box
from studio.methods import MethodChoice

KERNEL_KINDS = ("motion", "gaussian", "defocus", "shake")


def digest(*parts: object) -> str:
    """A short stable hash of bytes, arrays and text, for cache keys."""
    h = hashlib.blake2b(digest_size=12)
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str(part.shape).encode())
            h.update(str(part.dtype).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, (bytes, bytearray, memoryview)):
            h.update(bytes(part))
        else:
            h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(frozen=True)
class KernelSettings:
    """A blur kernel as chosen with the sliders."""

    kind: str = "motion"
    length: float = 15.0
    angle: float = 0.0
    sigma: float = 2.0
    radius: float = 4.0
    size: int = 21
    seed: int = 3

    def spec(self) -> str:
        """The kernel in the command line's text form (``motion:length=15,angle=30``)."""
        if self.kind == "motion":
            return f"motion:length={self.length:g},angle={self.angle:g}"
        if self.kind == "gaussian":
            return f"gaussian:sigma={self.sigma:g}"
        if self.kind == "defocus":
            return f"defocus:radius={self.radius:g}"
        if self.kind == "shake":
            return f"shake:size={int(self.size)},seed={int(self.seed)}"
        raise ValueError(f"Unknown blur type '{self.kind}'; choose one of {', '.join(KERNEL_KINDS)}.")

    def describe(self) -> str:
        """The blur in words, with units."""
        if self.kind == "motion":
            return f"motion blur, {self.length:g} px at {self.angle:g}°"
        if self.kind == "gaussian":
            return f"Gaussian blur, sigma {self.sigma:g} px"
        if self.kind == "defocus":
            return f"defocus blur, radius {self.radius:g} px"
        return f"camera shake, {int(self.size)} px, pattern {int(self.seed)}"

    def kernel(self) -> np.ndarray:
        return kernels.parse_kernel_spec(self.spec())


@dataclass(frozen=True)
class EstimateSettings:
    """How the blur kernel is estimated from a photo: the largest kernel, and the part of the photo to look at."""

    max_size: int = 31  # the largest kernel side in px, odd, 5 to 51
    square: tuple[float, float, int] | None = None  # (centre across, centre down, side px); None: automatic

    def box(self, height: int, width: int) -> tuple[int, int, int, int] | None:
        """The chosen square as ``(x, y, width, height)`` in a photo of this size, kept inside it; None when automatic.

        The centre is a fraction (0 to 1) of the photo's width and height, so one setting suits photos of any size;
        the side shrinks to the photo's shorter side where that is smaller.
        """
        if self.square is None:
            return None
        across, down, side = self.square
        top, left, bottom, right = crop_box(height, width, across, down, min(int(side), height, width))
        return left, top, right - left, bottom - top

    def describe(self) -> str:
        """The settings in words, with units."""
        if self.square is None:
            where = "the most edge-rich part of the photo"
        else:
            across, down, side = self.square
            where = f"a {int(side)} px square centred {across:.0%} across and {down:.0%} down"
        return f"kernels of up to {self.max_size} px, from {where}"


def estimate_blur(image: np.ndarray, settings: EstimateSettings, on_progress=None, cancel=None) -> KernelEstimate:
    """The blur kernel of ``image`` estimated with ``settings`` (see :func:`deblur_core.classical.estimate.estimate_kernel`).

    Raises
    ------
    ValueError
        The photo is under 64 pixels a side, or the settings are out of range.
    """
    region = settings.box(image.shape[0], image.shape[1])
    return estimate_kernel(image, max_size=settings.max_size, region=region, on_progress=on_progress, cancel=cancel)


def blur_picture(sharp: np.ndarray, kernel: np.ndarray, noise_sigma: float, seed: int = 0) -> np.ndarray:
    """Blur on purpose: convolve, add Gaussian noise (``noise_sigma`` in [0, 1] units), round to 8 bits.

    Rounding makes the result what a saved PNG would hold, as the command line's ``blur`` writes it.
    """
    rng = np.random.default_rng(seed)
    return degrade.degrade(sharp, kernel=kernel, noise=noise_sigma, rng=rng, round8=True)


@dataclass
class Restored:
    """A restored picture with its timing and quality numbers (None where not defined)."""

    output: np.ndarray
    seconds: float
    kernel: np.ndarray | None = None  # the kernel the method used (None for a blind method)
    kernel_source: str = "none"  # "given", "fitted", "estimated" or "none", as deblur_core.restoration.Restoration says
    stages: tuple = ()  # the method's steps, (name, seconds) each
    psnr_in: float | None = None
    ssim_in: float | None = None
    psnr_out: float | None = None
    ssim_out: float | None = None
    sharp_in: float | None = None
    sharp_out: float | None = None
    note: str = ""


def restore_picture(
    image: np.ndarray,
    choice: MethodChoice,
    *,
    kernel: np.ndarray | None,
    truth: np.ndarray | None,
    registry: Registry,
    options: dict | None = None,
    estimate: KernelEstimate | None = None,
    kernel_approximate: bool = False,
    on_progress=None,
    cancel=None,
) -> Restored:
    """Run ``choice`` on ``image`` and measure it: PSNR and SSIM against ``truth`` if given, sharpness otherwise.

    For a method that estimates the kernel, ``estimate`` (made beforehand, as the page shows it) takes the
    place of the method's own estimate; the runtime then includes the estimate's seconds.
    ``kernel_approximate``: ``kernel`` is a guess shaped by hand, not the blur known exactly: it is fitted to the photo
    first (``restore``'s ``fit_kernel``), and the learned deconvolver leans less on it (``kernel_estimated``).

    Raises
    ------
    ValueError
        The method cannot take this input (no kernel for a classical method, a model problem...).
    """
    if choice.needs_kernel and kernel is None:
        raise ValueError(f"{choice.label} needs the blur kernel; choose the blur below.")
    start = time.perf_counter()
    if estimate is not None:
        restoration = restore_with_estimate(
            image, choice.method, estimate, registry=registry, on_progress=on_progress, cancel=cancel
        )
        start -= estimate.seconds
    else:
        restoration = restore(
            image,
            choice.method,
            kernel=kernel if choice.needs_kernel else None,
            registry=registry,
            upscale=choice.upscale,
            kernel_estimated=kernel_approximate and choice.needs_kernel,
            fit_kernel=kernel_approximate and choice.needs_kernel,
            on_progress=on_progress,
            cancel=cancel,
            **(options or {}),
        )
    seconds = time.perf_counter() - start
    output = restoration.image
    result = Restored(
        output=output,
        seconds=seconds,
        kernel=restoration.kernel,
        kernel_source=restoration.kernel_source,
        stages=tuple((s.name, s.seconds) for s in restoration.stages),
    )
    if truth is not None:
        result.psnr_in, result.ssim_in = _quality(truth, image)
        if output.shape == truth.shape:
            result.psnr_out, result.ssim_out = _quality(truth, output)
        else:
            result.note = (
                f"The result is {output.shape[1]} × {output.shape[0]} px and the ground truth "
                f"{truth.shape[1]} × {truth.shape[0]} px, so PSNR and SSIM of the result are not defined; "
                "its sharpness is shown instead."
            )
    if truth is None or result.psnr_out is None:
        result.sharp_in = metrics.sharpness(image)
        result.sharp_out = metrics.sharpness(output)
    return result


def _quality(reference: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    return metrics.psnr(reference, test), metrics.ssim(reference, test)


def preview_restore(
    image: np.ndarray, choice: MethodChoice, kernel: np.ndarray, registry: Registry, options: dict | None = None
) -> np.ndarray:
    """The method on a small crop, for the live preview while the kernel is being shaped (a guess, so run as one)."""
    return restore_image(
        image, choice.method, kernel=kernel, registry=registry, kernel_estimated=True, **(options or {})
    )
