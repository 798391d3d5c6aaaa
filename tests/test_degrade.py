"""Tests for deblur_core.degrade: blur with reflect boundaries, seeded noise, JPEG, rescaling, zoom blur."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from deblur_core.degrade import (
    DegradationMix,
    add_noise,
    bicubic_down_up,
    bicubic_downscale,
    bicubic_upscale,
    blur,
    degrade,
    jpeg,
    quantize,
    zoom_blur,
)
from deblur_core.image import check_image
from deblur_core.kernels import defocus_kernel, gaussian_kernel, identity_kernel, motion_kernel, shake_kernel
from deblur_core.metrics import psnr


def texture(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """Seeded smooth-plus-edges RGB test picture, float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 1, (height // 4 + 1, width // 4 + 1, 3))
    image = ndimage.zoom(small, (4, 4, 1), order=1)[:height, :width]
    image[height // 3 : height // 2] = rng.uniform(0, 1, 3)
    return np.clip(image, 0, 1).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# blur
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kernel",
    [gaussian_kernel(2.0), motion_kernel(11, 30), defocus_kernel(3.0), shake_kernel(15, np.random.default_rng(1))],
    ids=["gaussian", "motion", "defocus", "shake"],
)
def test_blur_has_no_dark_border_and_keeps_the_mean(kernel):
    flat = np.full((30, 41, 3), 0.8, np.float32)
    out = blur(flat, kernel)
    assert out.dtype == np.float32 and out.shape == flat.shape
    np.testing.assert_allclose(out, 0.8, atol=1e-5)  # a zero-padded blur would darken every edge

    image = texture()
    blurred = blur(image, kernel)
    assert abs(float(blurred.mean()) - float(image.mean())) < 0.01
    assert psnr(image, blurred) < 40, "the kernel really blurs"


def test_blur_is_a_convolution_with_mirrored_edges():
    # An asymmetric kernel tells convolution from correlation.
    kernel = np.zeros((5, 5), np.float32)
    kernel[2, 2], kernel[2, 4], kernel[0, 3] = 0.5, 0.3, 0.2
    image = texture(23, 31, seed=4)
    expected = np.stack(
        [ndimage.convolve(image[..., c].astype(np.float64), kernel, mode="reflect") for c in range(3)], axis=2
    )
    np.testing.assert_allclose(blur(image, kernel), expected, atol=1e-5)


def test_identity_blur_returns_a_copy():
    image = texture()
    original = image.copy()
    out = blur(image, identity_kernel())
    np.testing.assert_array_equal(out, image)
    out[:] = 0.123
    np.testing.assert_array_equal(image, original)


# --------------------------------------------------------------------------------------------------
# noise and quantisation
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.005, 0.02, 0.05])
def test_noise_has_the_requested_sigma(sigma):
    grey = np.full((200, 200, 3), 0.5, np.float32)
    noisy = add_noise(grey, sigma, np.random.default_rng(0))
    assert noisy.dtype == np.float32
    measured = float(np.std(noisy - grey))
    assert measured == pytest.approx(sigma, rel=0.03)
    assert abs(float(np.mean(noisy - grey))) < sigma / 20


def test_noise_is_reproducible_by_seed_and_clipped():
    image = texture()
    a = add_noise(image, 0.1, np.random.default_rng(42))
    b = add_noise(image, 0.1, np.random.default_rng(42))
    c = add_noise(image, 0.1, np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0.0 and a.max() <= 1.0
    np.testing.assert_array_equal(add_noise(image, 0.0, np.random.default_rng(0)), image)
    with pytest.raises(ValueError, match="between 0 and 1"):
        add_noise(image, -0.1, np.random.default_rng(0))


def test_quantize_rounds_to_8_bit_levels():
    image = texture()
    out = quantize(image)
    levels = out * 255
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)
    assert np.max(np.abs(out - image)) <= 0.5 / 255 + 1e-6


# --------------------------------------------------------------------------------------------------
# JPEG and rescaling
# --------------------------------------------------------------------------------------------------


def test_jpeg_keeps_the_shape_and_loses_more_at_low_quality():
    image = texture(40, 56)
    high, low = jpeg(image, 95), jpeg(image, 10)
    for out in (high, low):
        assert out.shape == image.shape and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0
    assert psnr(image, high) > psnr(image, low) + 3
    for quality in (0, 101):
        with pytest.raises(ValueError, match="between 1 and 100"):
            jpeg(image, quality)


@pytest.mark.parametrize(("height", "width"), [(37, 53), (48, 48), (10, 31)])
def test_bicubic_down_up_keeps_the_size_and_loses_detail(height, width):
    image = texture(height, width, seed=2)
    out = bicubic_down_up(image, 3)
    assert out.shape == image.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert psnr(image, out) < 45
    assert bicubic_downscale(image, 3).shape == (height // 3, width // 3, 3)


def test_bicubic_upscale_by_scale_or_size():
    image = texture(12, 17)
    assert bicubic_upscale(image, 3).shape == (36, 51, 3)
    assert bicubic_upscale(image, size=(20, 25)).shape == (20, 25, 3)
    flat = np.full((9, 9, 3), 0.3, np.float32)
    np.testing.assert_allclose(bicubic_upscale(flat, 2), 0.3, atol=1e-5)
    with pytest.raises(ValueError):
        bicubic_upscale(image)
    with pytest.raises(ValueError):
        bicubic_downscale(image, 0)


# --------------------------------------------------------------------------------------------------
# zoom blur
# --------------------------------------------------------------------------------------------------


def test_zoom_blur_grows_from_the_centre():
    rng = np.random.default_rng(5)
    image = rng.uniform(0, 1, (61, 61, 3)).astype(np.float32)
    out = zoom_blur(image, strength=0.1)
    assert out.shape == image.shape and out.dtype == np.float32
    change = np.abs(out - image).mean(axis=2)
    assert change[28:33, 28:33].mean() < 0.5 * change[:8, :8].mean()
    np.testing.assert_allclose(zoom_blur(image, strength=0.0), image, atol=1e-5)
    with pytest.raises(ValueError, match="between 0 and 0.5"):
        zoom_blur(image, strength=0.8)


def test_zoom_blur_centre_can_move():
    rng = np.random.default_rng(6)
    image = rng.uniform(0, 1, (41, 61, 3)).astype(np.float32)
    out = zoom_blur(image, strength=0.1, center=(0.0, 0.0))
    change = np.abs(out - image).mean(axis=2)
    assert change[:4, :4].mean() < 0.5 * change[-8:, -8:].mean()


# --------------------------------------------------------------------------------------------------
# validation and the training mixture
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((8, 8), np.float32), "H x W x 3"),
        (np.zeros((8, 8, 4), np.float32), "H x W x 3"),
        (np.zeros((8, 8, 3), np.uint8), "float in \\[0, 1\\]"),
        (np.full((8, 8, 3), 2.0, np.float32), "values in \\[0, 1\\]"),
        (np.full((8, 8, 3), -0.5, np.float32), "values in \\[0, 1\\]"),
        (np.full((8, 8, 3), np.nan, np.float32), "NaN or infinite"),
        (np.array([[[0.5, 0.5, np.inf]]], np.float32), "NaN or infinite"),
    ],
)
def test_check_image_refuses_other_conventions(array, message):
    with pytest.raises(ValueError, match=message):
        check_image(array)


def test_check_image_accepts_float64_as_float32():
    out = check_image(np.full((4, 4, 3), 0.5))
    assert out.dtype == np.float32


def test_degrade_is_reproducible_and_takes_a_spec():
    image = texture()
    a = degrade(image, "motion:length=9,angle=20", 0.01, np.random.default_rng(3), jpeg_quality=80, round8=True)
    b = degrade(image, "motion:length=9,angle=20", 0.01, np.random.default_rng(3), jpeg_quality=80, round8=True)
    np.testing.assert_array_equal(a, b)
    levels = a * 255
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)
    np.testing.assert_allclose(
        degrade(image, "gaussian:sigma=1.5", rng=np.random.default_rng(0)), blur(image, gaussian_kernel(1.5))
    )
    np.testing.assert_array_equal(degrade(image), image)


def test_degradation_mix_round_trip_and_sampling():
    mix = DegradationMix(families={"motion": 2.0, "defocus": 1.0}, p_clean=0.0, noise_range=(0.0, 0.01))
    again = DegradationMix.from_dict(mix.to_dict())
    assert again == mix
    rng = np.random.default_rng(0)
    families = {mix.sample_kernel(rng)[0] for _ in range(40)}
    assert families == {"motion", "defocus"}
    out = mix.apply(texture(), np.random.default_rng(1), motion_kernel(7, 0))
    assert out.shape == (48, 64, 3) and out.dtype == np.float32
    with pytest.raises(ValueError, match="wobble"):
        DegradationMix.from_dict({"families": {"wobble": 1.0}})
    clean = DegradationMix(p_clean=1.0)
    assert clean.sample_kernel(np.random.default_rng(0)) == ("clean", None)
