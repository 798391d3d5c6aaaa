"""Behaviour of the image quality metrics."""

import math

import numpy as np
import pytest
from skimage import data
from skimage import metrics as skm

from deblur_core import metrics
from deblur_core.degrade import blur
from deblur_core.image import rgb_to_y
from deblur_core.kernels import gaussian_kernel


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return data.astronaut()[40:200, 150:310].astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def textured() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.uniform(0.1, 0.9, (64, 80, 3)).astype(np.float32)


def test_identical_images_give_infinite_psnr_unit_ssim_zero_mse(photo):
    copy = photo.copy()
    assert metrics.psnr(photo, copy) == float("inf")
    assert metrics.ssim(photo, copy) == 1.0
    assert metrics.mse(photo, copy) == 0.0
    assert metrics.compare(photo, copy) == {"psnr": float("inf"), "ssim": 1.0, "mse": 0.0}
    assert metrics.psnr_y(photo, copy) == float("inf")
    assert metrics.ssim_y(photo, copy) == 1.0


def test_known_mse_gives_known_psnr(textured):
    # A uniform offset of 0.1 is an MSE of exactly 0.01, that is 20 dB for a peak of 1.
    shifted = textured + np.float32(0.1)
    assert metrics.mse(textured, shifted) == pytest.approx(0.01, rel=1e-5)
    assert metrics.psnr(textured, shifted) == pytest.approx(20.0, abs=1e-4)
    # An offset of 0.01 is 40 dB.
    assert metrics.psnr(textured, textured + np.float32(0.01)) == pytest.approx(40.0, abs=1e-3)


def test_psnr_is_ten_log10_of_inverse_mse(textured):
    rng = np.random.default_rng(1)
    noisy = np.clip(textured + rng.normal(0, 0.03, textured.shape), 0, 1).astype(np.float32)
    mse = metrics.mse(textured, noisy)
    assert metrics.psnr(textured, noisy) == pytest.approx(10 * math.log10(1 / mse), abs=1e-9)
    assert metrics.compare(textured, noisy)["mse"] == mse


def test_ssim_uses_the_settings_of_wang_et_al(photo):
    other = blur(photo, gaussian_kernel(1.5))
    expected = skm.structural_similarity(
        photo, other, data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert metrics.ssim(photo, other) == pytest.approx(expected, abs=1e-6)
    assert 0 < metrics.ssim(photo, other) < 1


@pytest.mark.parametrize(
    "fn", [metrics.mse, metrics.psnr, metrics.ssim, metrics.compare, metrics.psnr_y, metrics.ssim_y]
)
def test_shape_mismatch_raises_with_both_shapes(fn):
    a = np.zeros((32, 40, 3), np.float32)
    b = np.zeros((32, 41, 3), np.float32)
    with pytest.raises(ValueError, match=r"\(32, 40, 3\).*\(32, 41, 3\)"):
        fn(a, b)


def test_bad_dtype_or_range_raises_a_sentence():
    img = np.zeros((16, 16, 3), np.float32)
    with pytest.raises(ValueError, match="255"):
        metrics.psnr(img.astype(np.uint8), img.astype(np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.psnr(img + 200.0, img)
    with pytest.raises(ValueError, match="NaN"):
        metrics.mse(img, np.full_like(img, np.nan))
    with pytest.raises(ValueError, match="11 x 11"):
        metrics.ssim(np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 3), np.float32))


def test_rgb_to_y_follows_bt601_studio_range():
    white = np.ones((2, 3, 3), np.float32)
    black = np.zeros((2, 3, 3), np.float32)
    y_white, y_black = rgb_to_y(white), rgb_to_y(black)
    assert y_white.shape == (2, 3) and y_white.dtype == np.float32
    np.testing.assert_allclose(y_white, 235 / 255, atol=1e-6)
    np.testing.assert_allclose(y_black, 16 / 255, atol=1e-6)
    red = np.zeros((1, 1, 3), np.float32)
    red[..., 0] = 1
    assert rgb_to_y(red)[0, 0] == pytest.approx((16 + 65.481) / 255, abs=1e-6)
    with pytest.raises(ValueError):
        rgb_to_y(np.zeros((4, 4), np.float32))


def test_shave_ignores_the_border(textured):
    changed = textured.copy()
    changed[:4] = 1 - changed[:4]
    changed[:, -4:] = 0.0
    assert metrics.psnr_y(textured, changed) < 20
    assert metrics.psnr_y(textured, changed, shave=4) == float("inf")
    assert metrics.ssim_y(textured, changed, shave=4) == 1.0
    assert metrics.psnr_y(textured, changed, shave=3) < float("inf")
    with pytest.raises(ValueError):
        metrics.psnr_y(textured, changed, shave=-1)
    with pytest.raises(ValueError):
        metrics.psnr_y(textured, changed, shave=32)


def test_y_metrics_compare_luma_only(photo):
    # Swapping red and blue changes the colours and the luma, but a grey image has no colour to swap.
    grey = np.repeat(photo.mean(axis=2, keepdims=True), 3, axis=2)
    assert metrics.psnr_y(grey, grey[..., ::-1].copy()) == float("inf")
    assert metrics.psnr_y(photo, photo[..., ::-1].copy()) < 40


def test_sharpness_falls_monotonically_as_blur_grows(photo, textured):
    for image in (photo, textured):
        scores = [metrics.sharpness(image)]
        for sigma in (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0):
            scores.append(metrics.sharpness(blur(image, gaussian_kernel(sigma))))
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert all(a > b for a, b in zip(scores, scores[1:], strict=False)), scores
    # The documented scale: a sharp photo scores above 0.5, a sigma-2 blur of it below 0.45.
    assert metrics.sharpness(photo) > 0.5
    assert metrics.sharpness(blur(photo, gaussian_kernel(2.0))) < 0.45


def test_sharpness_of_a_flat_image_is_zero_and_grey_images_work():
    assert metrics.sharpness(np.full((20, 20, 3), 0.5, np.float32)) == 0.0
    rng = np.random.default_rng(3)
    grey = rng.uniform(0, 1, (20, 20)).astype(np.float32)
    assert 0.0 < metrics.sharpness(grey) <= 1.0


def test_formatting_has_units_and_fixed_decimals():
    assert metrics.format_psnr(31.4159) == "31.42 dB"
    assert metrics.format_psnr(float("inf")) == "∞ dB"
    assert metrics.format_psnr(np.float64(7)) == "7.00 dB"
    assert metrics.format_ssim(0.91234) == "0.912"
    assert metrics.format_ssim(1.0) == "1.000"
    assert metrics.format_psnr(float("nan")) == "n/a"


def test_ssd_aligned_finds_a_shift_of_whole_and_quarter_pixels(photo):
    from scipy import ndimage

    image = photo[:96, :96]
    border = metrics.ALIGN_BORDER
    inner = (slice(border, -border), slice(border, -border))
    for dy, dx in ((2, -3), (-4, 5)):
        moved = np.roll(image, (dy, dx), axis=(0, 1))
        assert metrics.ssd_aligned(image, moved) == pytest.approx(0.0, abs=1e-9)
        assert float(((moved - image)[inner] ** 2).sum()) > 1.0  # unaligned, the same pixels differ
    # A shift of half a pixel more than whole ones: bilinear resampling twice leaves a residue, but the search
    # in quarter pixels comes closer than the best whole-pixel shift, and far below the unaligned error.
    moved = ndimage.shift(image, (1.5, -2.0, 0), order=1, mode="reflect").astype(np.float32).clip(0, 1)
    unaligned = float(((moved - image)[inner] ** 2).sum())
    aligned = metrics.ssd_aligned(image, moved)
    assert aligned < 0.5 * metrics.ssd_aligned(image, moved, step=1.0)
    assert aligned < 0.05 * unaligned
    # Beyond the search (6 px), no shift lines them up.
    far = np.roll(image, (6, 0), axis=(0, 1))
    assert metrics.ssd_aligned(image, far) > 0.1 * float(((far - image)[inner] ** 2).sum())


def test_ssd_aligned_of_noise_is_the_plain_sum_without_the_border(textured):
    rng = np.random.default_rng(3)
    image = textured[:80, :80].astype(np.float32)
    noisy = (image + rng.normal(0, 0.02, image.shape)).clip(0, 1).astype(np.float32)
    border = metrics.ALIGN_BORDER
    plain = float(((noisy - image)[border:-border, border:-border].astype(np.float64) ** 2).sum())
    assert metrics.ssd_aligned(image, noisy) == pytest.approx(plain, rel=1e-6)  # a shift only adds error here
    with pytest.raises(ValueError, match="px a side"):
        metrics.ssd_aligned(image[:30, :30], noisy[:30, :30])
    with pytest.raises(ValueError):
        metrics.ssd_aligned(image, noisy[:40])
