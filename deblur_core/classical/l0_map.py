"""One coarse-to-fine L0 MAP estimate of a blur kernel from a crop: the core of :mod:`deblur_core.classical.estimate`.

On a pyramid of the crop, from a 3-pixel kernel up to the size asked for, two steps alternate:

- the *latent* (sharp) picture, with an L0 prior on its gradients (most pixels have no gradient, a few
  a strong one), solved by half-quadratic splitting (:func:`latent`): each split step keeps the gradients
  above a threshold that falls as the penalty ``beta`` grows, then solves a least-squares problem with one
  FFT pair; it keeps only the salient edges, which is what the kernel step needs;
- the *kernel* (:func:`kernel_step`), the least-squares fit in the gradient domain of those edges blurred by
  it to the photo's gradients, at the photo's broad edges only, with a small L2 penalty; weak weights cut
  and stray fragments dropped.

:func:`map_energy` scores a kernel on a crop by the same objective. Which estimates to make, and which
to believe, is :mod:`deblur_core.classical.estimate`'s business.

References: Pan, Hu, Su and Yang, CVPR 2014; Xu, Zheng and Jia, CVPR 2013; Xu and Jia, ECCV 2010.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from deblur_core.classical.fourier import psf2otf
from deblur_core.classical.kernel_solve import positive_kernel
from deblur_core.progress import CancelFn, check_cancel

__all__ = [
    "ITERATIONS",
    "LAMBDA_FLOOR",
    "Settings",
    "Spectra",
    "coarse_to_fine",
    "kernel_step",
    "latent",
    "map_energy",
    "odd",
    "on_canvas",
    "otf",
    "pyramid_sizes",
    "rounds",
]

# Latent-step L0 weight: start, floor, the splitting's penalty growth (2x, not 3x: on 60 training crops of thin
# traces, 21 and 23 of 30 within Levin's error ratio 3 instead of 18 and 19); the kernel step's cut; iterations.
LAMBDA_START = 4e-3
LAMBDA_FLOOR = 2e-3
BETA_MAX = 1e5
BETA_GROWTH = 2.0
KERNEL_CUT = 0.1
ITERATIONS = 6
# The kernel step uses the latent's gradients only where the photo's, summed over an EDGE_WINDOW-px square, keep
# EDGE_RATIO of their summed magnitude (plus EDGE_FLOOR): Xu and Jia's r-map (BENCHMARKS.md, *Only broad edges*).
EDGE_RATIO = 0.2
EDGE_WINDOW = 5
EDGE_FLOOR = 4 / 255


@dataclass(frozen=True)
class Settings:
    """How one estimate is made: the L0 weight's division per iteration, the kernel step's L2 weight (relative to the
    mean gradient energy), whether the crop is denoised first, the kernel step's non-negative solve steps (0: the
    clipped unconstrained fit) and the share of the peak below which its weights are cut."""

    decay: float
    kernel_l2: float
    denoise: bool
    solve_steps: int = 0
    cut: float = KERNEL_CUT


def odd(n: float) -> int:
    """``n`` rounded to a whole number, made odd (upwards)."""
    n = int(round(n))
    return n if n % 2 else n + 1


def _periodic(grey: np.ndarray, pad: int) -> np.ndarray:
    """Mirror-pad by ``pad`` (and on the bottom and right up to a size the FFT factors quickly), then blend the
    margin into a blur of itself, so the FFT's wrap-around adds no edge."""
    extras = [sfft.next_fast_len(n + 2 * pad, real=True) - n - 2 * pad for n in grey.shape]
    out = np.pad(grey, [(pad, pad + extra) for extra in extras], mode="reflect")
    ramps = []
    for n, extra in zip(out.shape, extras, strict=True):
        i = np.arange(n, dtype=np.float32)
        ramps.append(np.clip(np.minimum(i, n - 1 - extra - i) / pad, 0, 1))  # 0 at the canvas edge, 1 on the photo
    weight = np.outer(*ramps)
    return weight * out + (1 - weight) * ndimage.gaussian_filter(out, pad / 2, mode="wrap")


class Spectra:
    """The FFTs one pyramid level reuses (in single precision): the photo's and the two difference
    operators'; ``inside`` is where the photo lies on the padded canvas."""

    def __init__(self, grey: np.ndarray, pad: int):
        self.padded = _periodic(grey.astype(np.float32), pad)
        self.shape = self.padded.shape
        self.inside = (slice(pad, pad + grey.shape[0]), slice(pad, pad + grey.shape[1]))
        self.photo = sfft.rfft2(self.padded)
        self.dx = otf(np.array([[0.0, -1.0, 1.0]]), self.shape)
        self.dy = otf(np.array([[0.0], [-1.0], [1.0]]), self.shape)
        self.dd = np.abs(self.dx) ** 2 + np.abs(self.dy) ** 2

    @functools.cached_property
    def edges(self) -> np.ndarray:
        """1 where the photo has a broad edge (its r-map at least EDGE_RATIO), else 0, on the padded canvas."""
        y = self.padded
        gx = np.diff(y, axis=1, append=y[:, :1])
        gy = np.diff(y, axis=0, append=y[:1, :])
        net = np.hypot(*(ndimage.uniform_filter(g, EDGE_WINDOW, mode="wrap") for g in (gx, gy)))
        total = ndimage.uniform_filter(np.hypot(gx, gy), EDGE_WINDOW, mode="wrap") + EDGE_FLOOR
        return (net >= EDGE_RATIO * total).astype(np.float32)


def otf(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """psf2otf in single precision."""
    return psf2otf(kernel, shape).astype(np.complex64)


def _gradients(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The picture's differences along x and y with wrap-around: the operators whose spectra are ``Spectra.dx``
    and ``.dy`` (``x[j - 1] - x[j]``), in the pixel domain, where they cost a subtraction instead of an FFT pair."""
    return np.roll(xs, 1, axis=1) - xs, np.roll(xs, 1, axis=0) - xs


def _divergence(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """The adjoint of :func:`_gradients` applied to ``(gx, gy)``: the picture whose spectrum is
    ``conj(dx) * G_x + conj(dy) * G_y``."""
    return (np.roll(gx, -1, axis=1) - gx) + (np.roll(gy, -1, axis=0) - gy)


def latent(spec: Spectra, kernel: np.ndarray, weight: float) -> np.ndarray:
    """The spectrum of the L0-gradient latent picture, by half-quadratic splitting.

    Each step takes the latent's gradients, keeps those above the L0 threshold and solves for the
    picture nearest to both them and the photo seen through the kernel; the gradients and their adjoint
    are taken in the pixel domain, so a step costs one FFT pair, not two.
    """
    k = otf(kernel, spec.shape)
    kk = k.real**2 + k.imag**2
    ky = np.conj(k) * spec.photo
    x = ky / (kk + 1e-3 * spec.dd + 1e-8)
    beta = 2 * weight
    while beta < BETA_MAX:
        gx, gy = _gradients(sfft.irfft2(x, s=spec.shape))
        keep = (gx**2 + gy**2) >= weight / beta
        gx *= keep
        gy *= keep
        x = (ky + beta * sfft.rfft2(_divergence(gx, gy))) / (kk + beta * spec.dd)
        beta *= BETA_GROWTH
    return x


def kernel_step(spec: Spectra, sharp: np.ndarray, size: int, settings: Settings) -> np.ndarray | None:
    """The kernel fitting the gradients of the latent picture (its spectrum ``sharp``, from :func:`latent`) at the
    photo's broad edges to the photo's; None if nothing positive is left."""
    gx, gy = (sfft.rfft2(g * spec.edges) for g in _gradients(sfft.irfft2(sharp, s=spec.shape)))
    bx, by = spec.photo * spec.dx, spec.photo * spec.dy
    energy = np.abs(gx) ** 2 + np.abs(gy) ** 2
    cross = np.conj(gx) * bx + np.conj(gy) * by
    l2 = settings.kernel_l2 * float(np.mean(energy))
    k = positive_kernel(energy, cross, spec.shape, size, l2, settings.solve_steps)
    if k.max() <= 0:
        return None
    k[k < settings.cut * k.max()] = 0
    labels, count = ndimage.label(k > 0, structure=np.ones((3, 3)))
    if count > 1:
        mass = ndimage.sum(k, labels, range(1, count + 1))
        k[np.isin(labels, 1 + np.flatnonzero(mass < 0.1 * mass.max()))] = 0
    return _centred(k / k.sum())


def _centred(k: np.ndarray) -> np.ndarray:
    """Rolled by whole pixels so its centre of mass is on the centre pixel (no interpolation blur)."""
    size = k.shape[0]
    cy, cx = ndimage.center_of_mass(k)
    return np.roll(k, (int(round(size // 2 - cy)), int(round(size // 2 - cx))), axis=(0, 1))


def pyramid_sizes(max_size: int) -> list[int]:
    """The kernel sizes of the pyramid's levels, coarsest first: each about sqrt(2) times the one before, odd, up
    to ``max_size``."""
    sizes = [max_size]
    while sizes[-1] > 5:
        sizes.append(max(3, odd(sizes[-1] / math.sqrt(2))))
    return sizes[::-1]


def coarse_to_fine(
    grey: np.ndarray,
    max_size: int,
    cancel: CancelFn | None,
    tick,
    settings: Settings,
    finest: Settings | None = None,
) -> np.ndarray:
    """One kernel estimate of at most ``max_size`` pixels from the crop ``grey``; the finest level with the settings
    ``finest`` where given."""
    kernel = None
    for size in pyramid_sizes(max_size):
        check_cancel(cancel, "Kernel estimation stopped on request.")
        scale = size / max_size
        level = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
        if kernel is None:
            kernel = np.zeros((size, size))
            c = size // 2
            kernel[c, c - 1 : c + 2] = 1
            kernel[c - 1 : c + 2, c] = 1
        else:
            kernel = np.clip(cv2.resize(kernel, (size, size), interpolation=cv2.INTER_LINEAR), 0, None)
        kernel = kernel / kernel.sum()
        chosen = finest if finest and size == max_size else settings
        kernel = rounds(Spectra(level, size), kernel, size, chosen, cancel=cancel)
        tick()
    return kernel


def rounds(
    spec: Spectra,
    kernel: np.ndarray,
    size: int,
    settings: Settings,
    count: int = ITERATIONS,
    cancel: CancelFn | None = None,
    weight: float | None = None,
) -> np.ndarray:
    """``count`` rounds of latent and kernel steps at one pyramid level, from ``kernel``; ``cancel`` is checked
    before each. The latent step's L0 weight falls from LAMBDA_START to LAMBDA_FLOOR, or stays at ``weight``."""
    floor = LAMBDA_FLOOR if weight is None else weight
    weight = LAMBDA_START if weight is None else weight
    for _ in range(count):
        check_cancel(cancel, "Kernel estimation stopped on request.")
        new = kernel_step(spec, latent(spec, kernel, weight), size, settings)
        if new is not None:
            kernel = new
        weight = max(weight / settings.decay, floor)
    return kernel


def on_canvas(kernel: np.ndarray, size: int) -> np.ndarray:
    """``kernel`` centred on a ``size`` x ``size`` canvas (cut or padded around its centre), scaled to sum 1."""
    padded = np.pad(kernel, [(max(0, (size - n) // 2),) * 2 for n in kernel.shape]).astype(np.float32)
    y, x = ((n - size) // 2 for n in padded.shape)
    out = padded[y : y + size, x : x + size]
    return out / out.sum()


def map_energy(grey: np.ndarray, kernel: np.ndarray) -> float:
    """The estimation's own objective for ``kernel`` on a crop: lower means the kernel explains it better.

    ``|k * x - y|^2 + lambda * #{gradients of x that are not zero}`` with ``x`` the L0 latent picture
    for that kernel, counted inside the padding. A blurred photo needs many small gradients to be
    explained without its blur (every ramp is a run of them) and few with it (a ramp is one blurred
    step); a sharp photo needs the fewest with no kernel at all, so the identity wins on it.
    """
    spec = Spectra(grey, max(kernel.shape[0], 8))
    sharp = latent(spec, kernel, LAMBDA_FLOOR)
    x = sfft.irfft2(sharp, s=spec.shape)
    fit = sfft.irfft2(sharp * otf(kernel, spec.shape), s=spec.shape)
    data_term = float(((fit - spec.padded)[spec.inside] ** 2).sum(dtype=np.float64))
    ys, xs = spec.inside
    grads = (slice(ys.start, ys.stop - 1), slice(xs.start, xs.stop - 1))
    gx = np.diff(x, axis=1)[grads]
    gy = np.diff(x, axis=0)[grads]
    return data_term + LAMBDA_FLOOR * float(((gx**2 + gy**2) > 1e-4).sum())
