"""Fitting a hand-shaped kernel to the photo: deblur_core.classical.fit and restore(..., fit_kernel=True)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage import data

from deblur_core.classical.estimate import kernel_axes
from deblur_core.classical.fit import KernelFit, fit_kernel
from deblur_core.degrade import degrade
from deblur_core.kernels import gaussian_kernel, identity_kernel, motion_kernel
from deblur_core.metrics import psnr
from deblur_core.progress import Cancelled
from deblur_core.restoration import restore, restore_image


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 256 x 256 crop of a real photo with edges in every direction."""
    return data.astronaut()[20:276, 120:376].astype(np.float32) / 255.0


def _blurred(photo, kernel):
    return degrade(photo, kernel, 0.005, np.random.default_rng(0), round8=True)


def _spreads(kernel) -> list[float]:
    """The kernel's standard deviations along its two axes, px."""
    return [math.sqrt(max(v, 0.0)) for v in kernel_axes(kernel)[0]]


def _wiener(blurred, kernel, photo) -> float:
    return psnr(restore_image(blurred, "wiener", kernel=kernel, nsr="auto"), photo)


@pytest.mark.parametrize("given_sigma", [2.6, 1.5])
def test_a_gaussian_of_the_wrong_width_moves_towards_the_true_one(photo, given_sigma):
    blurred = _blurred(photo, gaussian_kernel(2.0))
    given = gaussian_kernel(given_sigma)
    done = fit_kernel(blurred, given)
    assert isinstance(done, KernelFit) and done.fitted
    assert done.fitted_energy < done.given_energy
    # Nearer the true 2.0 px than the guess (its mean spread over the two axes), and Wiener with it clearly better.
    spread = float(np.mean(_spreads(done.kernel)))
    assert abs(spread - 2.0) < abs(float(np.mean(_spreads(given))) - 2.0) - 0.05, _spreads(done.kernel)
    assert _wiener(blurred, done.kernel, photo) > _wiener(blurred, given, photo) + 0.3
    assert done.kernel.dtype == np.float32 and abs(float(done.kernel.sum()) - 1) < 1e-5
    assert "fitted to the photo" in done.summary() and "better" in done.summary()


def test_a_motion_blur_a_little_off_gets_a_better_kernel(photo):
    blurred = _blurred(photo, motion_kernel(13, 30))
    given = motion_kernel(15, 40)
    done = fit_kernel(blurred, given)
    assert done.fitted
    assert _wiener(blurred, done.kernel, photo) > _wiener(blurred, given, photo) + 0.3


def test_the_true_kernel_is_kept_as_given(photo):
    kernel = gaussian_kernel(2.0)
    done = fit_kernel(_blurred(photo, kernel), kernel)
    assert not done.fitted and done.fitted_energy >= done.given_energy
    np.testing.assert_allclose(done.kernel, kernel, atol=1e-6)
    assert done.summary() == "used as given (fitting it to the photo explained the photo no better)"


def test_nothing_to_fit_for_the_identity_or_a_tiny_photo(photo):
    done = fit_kernel(photo, identity_kernel())
    assert not done.fitted and math.isnan(done.given_energy) and done.kernel.shape == (1, 1)
    assert done.summary() == "used as given (nothing to fit)"
    tiny = fit_kernel(photo[:40, :40], gaussian_kernel(2.0))
    assert not tiny.fitted and tiny.region == (0, 0, 40, 40)


def test_cancel_and_bad_input(photo):
    with pytest.raises(Cancelled):
        fit_kernel(photo, gaussian_kernel(2.0), cancel=lambda: True)
    with pytest.raises(ValueError, match="kernel"):
        fit_kernel(photo, np.zeros((5, 5)))
    with pytest.raises(ValueError):
        fit_kernel(photo[..., 0], gaussian_kernel(2.0))


def test_restore_fits_the_kernel_when_asked_and_reports_it(photo):
    blurred = _blurred(photo, gaussian_kernel(2.0))
    result = restore(blurred, "wiener", kernel=gaussian_kernel(2.6), fit_kernel=True, nsr="auto")
    assert result.kernel_source == "fitted" and result.kernel_text().startswith("fitted, ")
    assert [s.name for s in result.stages] == ["Fitting the kernel to the photo", "Wiener deconvolution"]
    np.testing.assert_allclose(result.kernel, fit_kernel(blurred, gaussian_kernel(2.6)).kernel)
    plain = restore(blurred, "wiener", kernel=gaussian_kernel(2.6), nsr="auto")
    assert plain.kernel_source == "given" and psnr(result.image, photo) > psnr(plain.image, photo) + 0.3
    kept = restore(blurred, "wiener", kernel=gaussian_kernel(2.0), fit_kernel=True, nsr="auto")
    assert kept.kernel_source == "given" and kept.stages[0].name == "Fitting the kernel to the photo"
    with pytest.raises(ValueError, match="no blur kernel, so there is no kernel to fit"):
        restore(blurred, "default", fit_kernel=True)
