"""The textbook functions behind the Classroom page: periodic blur, spectra, the inverse and Wiener filters, curves."""

from __future__ import annotations

import numpy as np
import pytest

from deblur_core import kernels, metrics
from deblur_core.classical import teaching


def _natural(height=160, width=192) -> np.ndarray:
    from skimage import data

    return (data.astronaut()[60 : 60 + height, 150 : 150 + width] / 255.0).astype(np.float32)


def _noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0.0, sigma, image.shape).astype(np.float32), 0.0, 1.0)


def test_circular_blur_wraps_around_and_keeps_the_brightness():
    picture = np.zeros((32, 40, 3), np.float32)
    picture[0, 0] = 1.0  # a dot in the corner: its blur must reappear at the three other corners
    kernel = kernels.gaussian_kernel(1.5)
    blurred = teaching.circular_blur(picture, kernel)
    assert blurred[-1, -1, 0] > 0.01 and blurred[0, -1, 0] > 0.01 and blurred[-1, 0, 0] > 0.01
    assert blurred.sum() == pytest.approx(picture.sum(), rel=1e-4)
    # Away from the borders it is the ordinary convolution.
    from deblur_core import degrade

    sharp = _natural(64, 64)
    inner = (slice(12, -12), slice(12, -12))
    np.testing.assert_allclose(
        teaching.circular_blur(sharp, kernel)[inner], degrade.blur(sharp, kernel)[inner], atol=1e-5
    )


def test_a_dot_grid_blurred_shows_the_kernel_at_every_dot():
    kernel = kernels.motion_kernel(9, 30)
    grid = teaching.dot_grid(64, 64, spacing=32)
    assert grid.sum() == 3 * 4  # four dots, three channels
    blurred = teaching.circular_blur(grid, kernel)
    h, w = kernel.shape
    top, left = 16 - h // 2, 16 - w // 2
    np.testing.assert_allclose(blurred[top : top + h, left : left + w, 0], kernel, atol=1e-6)
    with pytest.raises(ValueError, match="at least 2 pixels apart"):
        teaching.dot_grid(10, 10, spacing=1)


def test_the_inverse_filter_undoes_a_periodic_blur_without_noise():
    sharp = _natural()
    for kernel in (kernels.gaussian_kernel(1.5), kernels.motion_kernel(15, 30), kernels.defocus_kernel(4)):
        blurred = teaching.circular_blur(sharp, kernel)
        assert metrics.psnr(sharp, blurred) < 30
        assert metrics.psnr(sharp, teaching.inverse_filter(blurred, kernel)) > 40


def test_with_noise_the_inverse_filter_is_worse_than_wiener():
    sharp = _natural()
    kernel = kernels.motion_kernel(15, 0)
    noisy = _noisy(teaching.circular_blur(sharp, kernel), 0.01)
    inverse = metrics.psnr(sharp, teaching.inverse_filter(noisy, kernel))
    wiener = metrics.psnr(sharp, teaching.wiener_filter(noisy, kernel, 1e-2))
    assert wiener > inverse + 10, (inverse, wiener)
    assert inverse < metrics.psnr(sharp, noisy)  # worse than doing nothing at all


def test_wiener_psnr_against_nsr_has_an_interior_maximum_on_a_natural_image():
    sharp = _natural()
    kernel = kernels.gaussian_kernel(2.0)
    noisy = _noisy(teaching.circular_blur(sharp, kernel), 0.01)
    nsrs = np.logspace(-6, 1, 15)
    curve = teaching.psnr_vs_nsr(sharp, noisy, kernel, nsrs)
    best = int(np.argmax(curve))
    assert 0 < best < len(nsrs) - 1, curve
    assert curve[best] > curve[0] + 3 and curve[best] > curve[-1] + 1, curve


def test_a_motion_kernel_wipes_out_the_frequencies_at_multiples_of_one_over_its_length():
    # A horizontal box of 12 pixels: the discrete motion of 12 px. Its zeros sit at m / 12 exactly.
    box = np.full((1, 12), 1 / 12, np.float32)
    length = 12
    at_zeros = teaching.kernel_response(np.pad(box, ((0, 0), (0, 1))), np.arange(1, 6) / length, 0.0)
    assert np.all(at_zeros < 1e-9), at_zeros
    assert teaching.kernel_response(box, [0.0])[0] == pytest.approx(1.0)
    # On the Fourier grid of a picture 96 px wide, the columns 8, 16, ... (frequency m/12) are dark.
    transfer = teaching.transfer_function(np.pad(box, ((0, 0), (0, 1))), (64, 96))
    centre = transfer[32]
    assert centre[48] == pytest.approx(1.0, abs=1e-6)
    assert np.all(centre[48 + np.arange(8, 48, 8)] < 1e-6)
    assert np.all(centre[48 + np.arange(4, 48, 8)] > 0.05)
    # The same transfer function does not vary across the motion (vertical frequencies).
    np.testing.assert_allclose(transfer[:, 48], 1.0, atol=1e-6)


@pytest.mark.parametrize("length, angle", [(15, 0), (21, 30), (11, 90), (17, 135)])
def test_a_drawn_motion_kernel_has_its_zeros_along_its_direction(length, angle):
    # motion_kernel(L) draws a path from the first pixel's centre to the last one's: L - 1 px long.
    kernel = kernels.motion_kernel(length, angle)
    path = length - 1
    f = np.linspace(0.0, 0.5, 4001)
    response = teaching.kernel_response(kernel, f, angle)
    minima = f[1:-1][(response[1:-1] < response[:-2]) & (response[1:-1] < response[2:])]
    for m in (1, 2, 3):
        nearest = minima[np.argmin(np.abs(minima - m / path))]
        assert nearest == pytest.approx(m / path, rel=0.02), (m, nearest * path)
        assert teaching.kernel_response(kernel, [nearest], angle)[0] < 0.01
        assert teaching.kernel_response(kernel, [(m + 0.5) / path], angle)[0] > 0.04
    # Across the motion nothing is wiped out below the finest frequencies.
    across = teaching.kernel_response(kernel, np.linspace(0, 0.3, 50), angle + 90)
    assert across.min() > 0.3


def test_the_log_spectrum_and_radial_power_show_the_noise_floor():
    flat = np.full((64, 64, 3), 0.5, np.float32)
    spectrum = teaching.log_spectrum(flat)
    assert spectrum.shape == (64, 64)
    assert np.argmax(spectrum) == 32 * 64 + 32  # all the energy at the centre: the zero frequency
    sigma = 0.05
    noise = _noisy(flat, sigma, seed=1)
    freqs, power = teaching.radial_power(noise)
    assert freqs.min() > 0 and freqs.max() <= 0.5
    # White noise is flat, at its floor: sigma^2 per channel, weighted by the luma's mix of the channels.
    assert teaching.noise_floor(sigma) == pytest.approx(sigma**2 * 0.447, rel=0.01)
    assert np.median(power) == pytest.approx(teaching.noise_floor(sigma), rel=0.15)
    assert power.max() < 2 * teaching.noise_floor(sigma)


def test_the_wiener_gain_follows_the_inverse_where_the_blur_keeps_a_frequency_and_falls_where_it_does_not():
    response = np.array([1.0, 0.5, 0.1, 0.01, 0.0])
    gain = teaching.wiener_gain(response, 1e-3)
    assert gain[0] == pytest.approx(1.0, rel=1e-2) and gain[1] == pytest.approx(2.0, rel=1e-2)
    assert gain[3] < 1 / 0.01 and gain[4] == 0.0
    assert np.isinf(teaching.wiener_gain(response, 0.0)[-1])
    with pytest.raises(ValueError, match="noise-to-signal"):
        teaching.wiener_gain(response, -1.0)


def test_richardson_lucy_psnr_rises_then_falls_on_a_noisy_picture():
    sharp = _natural(96, 128)
    kernel = kernels.motion_kernel(11, 0)
    noisy = _noisy(teaching.circular_blur(sharp, kernel), 0.03)
    psnrs, pictures = teaching.psnr_vs_iterations(sharp, noisy, kernel, 60, keep=(1, 60))
    best = int(np.argmax(psnrs))
    assert 0 < best < 59, psnrs
    assert psnrs[best] > psnrs[0] + 0.5 and psnrs[best] > psnrs[-1] + 0.5, psnrs
    assert set(pictures) == {1, 60}
    assert metrics.psnr(sharp, pictures[60]) == pytest.approx(psnrs[-1])
    with pytest.raises(ValueError, match="kept after iterations 1 to 60"):
        teaching.psnr_vs_iterations(sharp, noisy, kernel, 60, keep=(61,))


def test_bad_arguments_raise_sentences():
    sharp = _natural(32, 32)
    with pytest.raises(ValueError, match="floor"):
        teaching.inverse_filter(sharp, kernels.gaussian_kernel(1.0), floor=0.0)
    with pytest.raises(ValueError, match="noise-to-signal"):
        teaching.wiener_filter(sharp, kernels.gaussian_kernel(1.0), 0.0)
    with pytest.raises(ValueError, match="larger than the canvas"):
        teaching.circular_blur(sharp[:8, :8], kernels.motion_kernel(21, 0))
