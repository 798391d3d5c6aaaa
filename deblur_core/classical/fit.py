"""Fitting a kernel that is only roughly right to the photo: :func:`fit_kernel`.

A kernel shaped by hand (the app's sliders, ``--kernel gaussian:2``) has the right family and about the right
size, rarely the photo's blur exactly: a Gaussian 10 % too wide, a motion blur a few degrees off. Starting from
it, two rounds of the blind estimate's own steps at full resolution (:mod:`deblur_core.classical.l0_map`: the
L0 latent picture, then the non-negative kernel step, as the estimate's last refinement makes them) move it
towards the kernel the photo's edges say. The rounds run with a low L0 weight (``FIT_WEIGHT``): the latent picture
keeps more of the photo's detail, and the kernel drifts less from a good start. Then the kernel that explains a
second crop of the photo better by the estimation's objective (:func:`deblur_core.classical.l0_map.map_energy`,
the crop denoised as the estimate's held-out crop is) is kept: the fitted one, or the one given.

Measured on 60 held-out whole training photos (never an evaluation set) with the learned deconvolver, a kernel
marked approximate (BENCHMARKS.md, *Fitting a hand-shaped kernel to the photo*): the benchmark's wrong kernel (10 %
too large, noise near its support) +1.05 dB, the training's wrong kernels (drawn from seven kinds of error)
+0.32 dB, the true kernel itself -0.23 dB. It is for kernels that are guesses, not for a kernel known exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from deblur_core.classical.estimate import LARGE_SETTINGS, SMALL_SETTINGS, prepared_crop, refined_settings
from deblur_core.classical.l0_map import Spectra, map_energy, odd, on_canvas, rounds
from deblur_core.classical.noise import estimate_noise_sigma
from deblur_core.classical.regions import MIN_REGION, crop, regions
from deblur_core.image import check_image, rgb_to_luma
from deblur_core.kernels import MAX_KERNEL_SIZE, normalize_kernel
from deblur_core.progress import CancelFn, check_callbacks, check_cancel

__all__ = ["FIT_ROUNDS", "FIT_WEIGHT", "KernelFit", "fit_kernel"]

# Two rounds at the L0 weight FIT_WEIGHT (the blind estimate's floor is 2e-3): started from the true kernel on 30
# held-out training photos, two rounds moved it by -1.33 dB (the deconvolver's result) at the estimate's weights,
# -0.71 dB at 5e-4, -0.42 dB at 2e-4, -0.46 dB at 1e-4; more rounds drift further (-0.90 dB for four at 2e-4).
FIT_WEIGHT = 2e-4
FIT_ROUNDS = 2
# Room to grow: the fitted kernel may reach GROWTH times the given one's side (at least 2 px more).
GROWTH = 1.2
FIT_SETTINGS = refined_settings(SMALL_SETTINGS)


@dataclass(frozen=True)
class KernelFit:
    """What :func:`fit_kernel` did.

    Attributes
    ----------
    kernel : ndarray
        The kernel to use: the fitted one where it explains the photo better, else the one given (normalised).
    fitted : bool
        True when ``kernel`` is the fitted one.
    given_energy, fitted_energy : float
        The estimation's objective on the second crop for the given and the fitted kernel (lower is better);
        NaN where nothing was fitted (a 1 x 1 kernel, or a photo too small).
    region : tuple of int
        ``(x, y, width, height)`` of the part of the photo the kernel was fitted on.
    seconds : float
        Wall time.
    """

    kernel: np.ndarray
    fitted: bool
    given_energy: float
    fitted_energy: float
    region: tuple[int, int, int, int]
    seconds: float

    def summary(self) -> str:
        """One line for people: what became of the kernel."""
        if self.fitted:
            return (
                f"fitted to the photo ({self.kernel.shape[1]} x {self.kernel.shape[0]} px; it explains the photo "
                f"{100 * (1 - self.fitted_energy / self.given_energy):.1f} % better than the kernel given)"
            )
        if np.isnan(self.fitted_energy):
            return "used as given (nothing to fit)"
        return "used as given (fitting it to the photo explained the photo no better)"


def fit_kernel(image: np.ndarray, kernel: np.ndarray, *, cancel: CancelFn | None = None) -> KernelFit:
    """Fit a roughly right blur kernel to the photo it blurred; see the module notes.

    Parameters
    ----------
    image : ndarray
        The blurred photo, float32 RGB H x W x 3 in [0, 1].
    kernel : ndarray
        The kernel as given: 2-D, non-negative, with some positive weight.
    cancel : callable, optional
        Returns True to stop; raises :class:`deblur_core.progress.Cancelled`.

    Returns
    -------
    KernelFit

    Raises
    ------
    ValueError
        If the photo is not H x W x 3 in [0, 1], or the kernel is not a valid kernel.
    Cancelled
        If ``cancel`` returned True.

    Examples
    --------
    >>> from deblur_core.kernels import gaussian_kernel
    >>> done = fit_kernel(blurred_photo, gaussian_kernel(2.2))  # doctest: +SKIP
    >>> done.fitted, done.summary()  # doctest: +SKIP
    """
    start = time.perf_counter()
    img = check_image(image)
    check_callbacks(None, cancel)
    given = normalize_kernel(kernel)
    grey = rgb_to_luma(img).astype(np.float32)
    full = (0, 0, grey.shape[1], grey.shape[0])
    size = min(odd(max(given.shape[0] * GROWTH, given.shape[0] + 2)), MAX_KERNEL_SIZE)
    if given.shape[0] < 3 or min(grey.shape) < max(MIN_REGION, 2 * size):
        return KernelFit(given, False, float("nan"), float("nan"), full, time.perf_counter() - start)
    whole, _, held = regions(grey, None)
    sigma = estimate_noise_sigma(crop(img, whole))
    spec = Spectra(prepared_crop(crop(grey, whole), sigma, FIT_SETTINGS), size)
    check_cancel(cancel, "Fitting the kernel stopped on request.")
    start_from = on_canvas(np.pad(given, size), size)
    fitted = rounds(spec, start_from, size, FIT_SETTINGS, FIT_ROUNDS, cancel, weight=FIT_WEIGHT)
    check_cancel(cancel, "Fitting the kernel stopped on request.")
    fitted = normalize_kernel(fitted)
    test = prepared_crop(crop(grey, held), sigma, LARGE_SETTINGS)
    given_energy, fitted_energy = map_energy(test, given), map_energy(test, fitted)
    better = fitted_energy < given_energy
    return KernelFit(
        fitted if better else given, better, given_energy, fitted_energy, whole, time.perf_counter() - start
    )
