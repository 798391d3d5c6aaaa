"""Behaviour of the classical deconvolution baselines: they must restore, never harm, and keep borders clean."""

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage import data, draw

from deblur_core import classical
from deblur_core.classical.tiles import tile_grid
from deblur_core.degrade import add_noise, blur, degrade, quantize
from deblur_core.kernels import defocus_kernel, gaussian_kernel, identity_kernel, motion_kernel, parse_kernel_spec
from deblur_core.metrics import psnr
from deblur_core.progress import Cancelled

# The three deconvolutions by their catalogue names; each is called as method(image, kernel, **options).
CLASSICAL_METHODS = {
    "wiener": classical.wiener,
    "richardson-lucy": classical.richardson_lucy,
    "unsupervised-wiener": classical.unsupervised_wiener,
}
METHODS = tuple(CLASSICAL_METHODS)
FRAME = 16

# Stated margins: the least PSNR gain (dB) each method must bring on both test images.
MARGINS = {
    ("wiener", "gaussian"): 1.0,
    ("richardson-lucy", "gaussian"): 0.5,
    ("unsupervised-wiener", "gaussian"): 1.0,
    ("wiener", "motion"): 3.0,
    ("richardson-lucy", "motion"): 1.5,
    ("unsupervised-wiener", "motion"): 3.0,
}
KERNELS = {"gaussian": gaussian_kernel(2.0), "motion": motion_kernel(15, 30)}


def textured_image(size: int = 128, seed: int = 0) -> np.ndarray:
    """A synthetic test card: a colour ramp, random rectangles and discs, a checkerboard and stripes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = 0.3 + 0.2 * np.stack([xx, yy, 1 - xx], -1)
    for _ in range(25):
        start = tuple(rng.integers(0, size, 2))
        extent = tuple(rng.integers(6, size // 3, 2))
        rr, cc = draw.rectangle(start, extent=extent, shape=(size, size))
        img[rr, cc] = rng.uniform(0, 1, 3)
    for _ in range(12):
        rr, cc = draw.disk(tuple(rng.integers(0, size, 2)), rng.integers(4, size // 6), shape=(size, size))
        img[rr, cc] = rng.uniform(0, 1, 3)
    top, left = size // 8, size // 2
    img[top : top + 24, left : left + 40] = ((np.indices((24, 40)).sum(0) // 3) % 2)[..., None] * 0.8 + 0.1
    stripes = 0.5 + 0.4 * np.sin(2 * np.pi * xx * size / 7 + 3 * yy)
    region = (yy > 0.65) & (xx < 0.45)
    img[region] = stripes[region][:, None] * np.array([0.9, 0.7, 0.5])
    return np.clip(img, 0, 1).astype(np.float32)


def photo_crop() -> np.ndarray:
    return data.astronaut()[40:200, 150:310].astype(np.float32) / 255.0


IMAGES = {"textured": textured_image(), "astronaut": photo_crop()}


def blurred(image: np.ndarray, kernel: np.ndarray, noise: float = 0.005, seed: int = 0) -> np.ndarray:
    """Blur, add seeded noise and round to 8 bits, as a saved photo would be."""
    return quantize(add_noise(blur(image, kernel), noise, np.random.default_rng(seed)))


def frame_psnr(reference: np.ndarray, test: np.ndarray, width: int = FRAME) -> float:
    """PSNR over the outer frame of ``width`` pixels only."""
    mask = np.ones(reference.shape[:2], bool)
    mask[width:-width, width:-width] = False
    return float(10 * np.log10(1.0 / np.mean((reference[mask] - test[mask]) ** 2)))


@pytest.fixture(scope="module")
def restored() -> dict:
    """Every method on every test image and kernel, computed once: (sharp, blurred, result)."""
    out = {}
    for image_name, sharp in IMAGES.items():
        for kernel_name, kernel in KERNELS.items():
            b = blurred(sharp, kernel)
            for method, fn in CLASSICAL_METHODS.items():
                out[method, image_name, kernel_name] = (sharp, b, fn(b, kernel))
    return out


@pytest.mark.parametrize("kernel_name", list(KERNELS))
@pytest.mark.parametrize("image_name", list(IMAGES))
@pytest.mark.parametrize("method", METHODS)
def test_each_method_raises_psnr_by_its_stated_margin(restored, method, image_name, kernel_name):
    sharp, b, x = restored[method, image_name, kernel_name]
    gain = psnr(sharp, x) - psnr(sharp, b)
    assert gain >= MARGINS[method, kernel_name], f"{method} on {image_name}/{kernel_name}: {gain:+.2f} dB"


@pytest.mark.parametrize("kernel_name", list(KERNELS))
@pytest.mark.parametrize("image_name", list(IMAGES))
@pytest.mark.parametrize("method", METHODS)
def test_borders_do_not_ring(restored, method, image_name, kernel_name):
    sharp, b, x = restored[method, image_name, kernel_name]
    before, after = frame_psnr(sharp, b), frame_psnr(sharp, x)
    assert after >= before, f"outer {FRAME}-px frame: {before:.2f} dB blurred, {after:.2f} dB restored"


@pytest.mark.parametrize("method", METHODS)
def test_output_keeps_shape_dtype_and_range(method):
    rng = np.random.default_rng(5)
    for shape, kernel in (((37, 53, 3), motion_kernel(9, 60)), ((6, 5, 3), defocus_kernel(7))):
        image = rng.uniform(0, 1, shape).astype(np.float32)
        out = CLASSICAL_METHODS[method](image, kernel)
        assert out.shape == shape and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("method", METHODS)
def test_missing_kernel_says_how_to_give_one(method):
    with pytest.raises(ValueError, match="--kernel") as info:
        CLASSICAL_METHODS[method](IMAGES["astronaut"], None)
    assert "gaussian:sigma=2" in str(info.value) and "app" in str(info.value)


@pytest.mark.parametrize("method", METHODS)
def test_invalid_kernels_and_images_are_refused(method):
    fn = CLASSICAL_METHODS[method]
    image = IMAGES["textured"][:32, :32]
    for bad in (-np.ones((3, 3)) / 9, np.ones((3, 3, 3)) / 27, np.ones((3, 3)) / 4.5, np.full((3, 3), np.nan)):
        with pytest.raises(ValueError):
            fn(image, bad)
    with pytest.raises(ValueError):
        fn((image * 255).astype(np.uint8), gaussian_kernel(1.0))
    with pytest.raises(ValueError):
        fn(image[..., 0], gaussian_kernel(1.0))


def test_bad_options_are_refused():
    image, kernel = IMAGES["textured"][:32, :32], gaussian_kernel(1.0)
    for nsr in (0, -1e-3, float("nan"), "fast", True):
        with pytest.raises(ValueError):
            classical.wiener(image, kernel, nsr)
    with pytest.raises(ValueError):
        classical.wiener(image, kernel, boundary="wrap")
    for iterations in (0, 2.5, True):
        with pytest.raises(ValueError):
            classical.richardson_lucy(image, kernel, iterations)


@pytest.mark.parametrize("method", METHODS)
def test_progress_callback_does_not_change_the_result(method):
    sharp = IMAGES["astronaut"][:64, :80]
    kernel = motion_kernel(9, 20)
    b = blurred(sharp, kernel)
    calls = []
    plain = CLASSICAL_METHODS[method](b, kernel)
    reported = CLASSICAL_METHODS[method](
        b, kernel, on_progress=lambda done, total, info: calls.append((done, total, info))
    )
    np.testing.assert_array_equal(plain, reported)
    assert calls, "no progress was reported"
    dones = [c[0] for c in calls]
    assert dones == sorted(dones) and dones[-1] == calls[-1][1]
    assert all(isinstance(c[2], dict) and c[2]["message"] for c in calls)


@pytest.mark.parametrize("method", METHODS)
def test_cancel_stops_the_work(method):
    b = blurred(IMAGES["textured"][:48, :48], gaussian_kernel(1.5))
    with pytest.raises(Cancelled):
        CLASSICAL_METHODS[method](b, gaussian_kernel(1.5), cancel=lambda: True)


def test_richardson_lucy_cancel_is_checked_every_iteration():
    b = blurred(IMAGES["textured"][:48, :48], gaussian_kernel(1.5))
    done = []
    with pytest.raises(Cancelled):
        classical.richardson_lucy(
            b, gaussian_kernel(1.5), 30, on_progress=lambda d, t, i: done.append(d), cancel=lambda: len(done) >= 3
        )
    assert done == [1, 2, 3]


@pytest.mark.parametrize("method", METHODS)
def test_identity_kernel_returns_the_input(method):
    sharp = IMAGES["astronaut"]
    out = CLASSICAL_METHODS[method](sharp, identity_kernel())
    assert psnr(sharp, out) >= 40.0


def test_unsupervised_wiener_is_reproducible_and_seeded():
    b = blurred(IMAGES["textured"][:48, :64], gaussian_kernel(1.5))
    k = gaussian_kernel(1.5)
    first = classical.unsupervised_wiener(b, k)
    np.testing.assert_array_equal(first, classical.unsupervised_wiener(b, k, rng=np.random.default_rng(0)))
    np.testing.assert_array_equal(first, classical.unsupervised_wiener(b, k, rng=0))
    assert not np.array_equal(first, classical.unsupervised_wiener(b, k, rng=1))


def test_psf2otf_places_the_kernel_without_shifting_the_image():
    rng = np.random.default_rng(2)
    image = rng.uniform(0, 1, (24, 30))
    kernel = np.zeros((5, 5))
    kernel[0, 4], kernel[2, 2], kernel[4, 1] = 0.5, 0.3, 0.2  # deliberately lopsided
    otf = classical.psf2otf(kernel, image.shape)
    circular = np.fft.irfft2(np.fft.rfft2(image) * otf, s=image.shape)
    np.testing.assert_allclose(circular, ndimage.convolve(image, kernel, mode="wrap"), atol=1e-12)


def test_noise_estimate_follows_the_noise():
    sharp = IMAGES["textured"]
    b = blur(sharp, gaussian_kernel(1.5))
    assert classical.estimate_noise_sigma(b) == pytest.approx(classical.QUANTIZATION_SIGMA)
    for sigma in (0.005, 0.01, 0.02):
        noisy = add_noise(b, sigma, np.random.default_rng(4))
        assert classical.estimate_noise_sigma(noisy) == pytest.approx(sigma, rel=0.15)


def test_noise_estimate_does_not_call_texture_noise():
    """A photo that is all gravel has fine detail everywhere; the estimate still reads its noise, not its texture."""
    gravel = np.repeat(data.gravel()[..., None], 3, axis=2).astype(np.float32) / 255.0
    clean = classical.estimate_noise_sigma(gravel)
    assert clean < 0.01  # a block-wise wavelet median read 0.019 here
    noisy = np.clip(gravel + np.random.default_rng(3).normal(0, 0.01, gravel.shape), 0, 1).astype(np.float32)
    assert np.hypot(clean, 0.01) * 0.9 < classical.estimate_noise_sigma(noisy) < 0.016  # block-wise: 0.022


@pytest.mark.parametrize("kernel_name", ["gaussian:sigma=1", "gaussian:sigma=3", "motion:length=9,angle=45"])
def test_auto_nsr_is_close_to_the_best_fixed_ratio(kernel_name):
    """'auto' must be within 1 dB of the best of a wide grid of ratios, for noise from 0 to 0.02."""
    sharp = IMAGES["astronaut"]
    kernel = parse_kernel_spec(kernel_name)
    grid = np.logspace(-5, -1, 9)
    ratios = []
    for noise in (0.0, 0.005, 0.01, 0.02):
        b = blurred(sharp, kernel, noise)
        auto = psnr(sharp, classical.wiener(b, kernel))
        best = max(psnr(sharp, classical.wiener(b, kernel, nsr)) for nsr in grid)
        assert auto > psnr(sharp, b) + 1.0
        assert auto >= best - 1.0, f"noise {noise}: auto {auto:.2f} dB, best fixed ratio {best:.2f} dB"
        ratios.append(classical.auto_nsr(b, kernel))
    assert ratios == sorted(ratios), ratios


def test_unknown_boundaries_beat_mirroring_for_an_oblique_kernel():
    sharp = IMAGES["astronaut"]
    kernel = motion_kernel(15, 30)
    b = blurred(sharp, kernel)
    unknown = classical.wiener(b, kernel)
    mirrored = classical.wiener(b, kernel, boundary="reflect")
    assert psnr(sharp, unknown) > psnr(sharp, mirrored) + 1.0
    assert frame_psnr(sharp, unknown) > frame_psnr(sharp, mirrored)


def test_richardson_lucy_is_fast():
    """A 512 x 512 RGB image, a 21 x 21 kernel, 30 iterations: well under 2 s of one core."""
    image = data.astronaut().astype(np.float32) / 255.0
    kernel = defocus_kernel(10)
    assert kernel.shape == (21, 21)
    b = blur(image, kernel)
    start = time.process_time()
    classical.richardson_lucy(b, kernel, 30)
    assert time.process_time() - start < 2.0


# -- the acceptance criterion on the Set5 benchmark images -------------------------------------------


def _read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), np.float32) / 255.0


@pytest.fixture(scope="module")
def set5_blurred(shared_data) -> list:
    """Set5, each image blurred with gaussian:sigma=2, noise 0.005 (seeded) and 8-bit rounding."""
    folder = shared_data / "val" / "Set5"
    paths = sorted(folder.glob("*.png"))
    if len(paths) != 5:
        pytest.fail(f"expected the 5 images of Set5 in {folder}; found {len(paths)}")
    kernel = parse_kernel_spec("gaussian:sigma=2")
    out = []
    for i, path in enumerate(paths):
        sharp = _read_rgb(path)
        b = degrade(sharp, kernel, noise=0.005, rng=np.random.default_rng(i), round8=True)
        out.append((path.stem, sharp, b, kernel))
    return out


@pytest.mark.parametrize("method", METHODS)
def test_set5_gaussian_blur_is_restored(set5_blurred, method):
    rows = []
    for name, sharp, b, kernel in set5_blurred:
        before = psnr(sharp, b)
        after = psnr(sharp, CLASSICAL_METHODS[method](b, kernel))
        rows.append((name, before, after))
    report = ", ".join(f"{n} {b:.2f}->{a:.2f} dB" for n, b, a in rows)
    gains = [a - b for _, b, a in rows]
    assert np.mean(gains) >= 0.5, f"{method}: mean gain {np.mean(gains):.2f} dB ({report})"
    assert min(gains) > 0, f"{method} made an image worse ({report})"


def test_a_large_photo_solved_in_tiles_matches_the_whole_solve(monkeypatch):
    from deblur_core.classical import deconvolution
    from deblur_core.kernels import motion_kernel

    sharp = IMAGES["astronaut"]
    photo = np.concatenate([np.concatenate([sharp, sharp[:, ::-1]], axis=1)] * 2, axis=0)  # 320 x 320
    kernel = motion_kernel(9, 30)
    b = blurred(photo, kernel, 0.01)
    whole = deconvolution.wiener(b, kernel, nsr=0.01)
    monkeypatch.setattr(deconvolution, "TILED_PIXELS", 1000)
    monkeypatch.setattr(deconvolution, "TILE_SIDE", 150)
    assert len(tile_grid(320, 320, kernel, deconvolution.TILE_SIDE)) == 4
    steps = []
    tiled = deconvolution.wiener(b, kernel, nsr=0.01, on_progress=lambda d, t, _i: steps.append((d, t)))
    assert psnr(whole, tiled) > 45, "the tiles' seams must not show"
    assert abs(psnr(photo, tiled) - psnr(photo, whole)) < 0.05
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(Cancelled):
        deconvolution.wiener(b, kernel, nsr=0.01, cancel=lambda: True)


def test_wiener_writes_into_a_given_array_the_same_result(monkeypatch):
    from deblur_core.classical import deconvolution

    kernel = motion_kernel(9, 30)
    b = blurred(IMAGES["astronaut"], kernel, 0.01)
    stack = np.full(b.shape[:2] + (7,), -1.0, np.float32)
    for tiled in (False, True):
        if tiled:  # the same through the tiled solve
            monkeypatch.setattr(deconvolution, "TILED_PIXELS", 1000)
            monkeypatch.setattr(deconvolution, "TILE_SIDE", 80)
        expected = deconvolution.wiener(b, kernel, nsr=0.01)
        got = deconvolution.wiener(b, kernel, nsr=0.01, out=stack[..., 3:6])
        assert np.shares_memory(got, stack)
        np.testing.assert_array_equal(stack[..., 3:6], expected)
        assert (stack[..., :3] == -1).all() and (stack[..., 6] == -1).all(), "only the view is written"
    with pytest.raises(ValueError, match="out must be"):
        deconvolution.wiener(b, kernel, nsr=0.01, out=np.zeros(b.shape, np.float64))


def test_the_gradient_energy_in_bands_matches_one_pass_in_float64():
    from deblur_core.classical.noise import _gradient_energy

    rng = np.random.default_rng(3)
    for shape in [(600, 37, 3), (256, 9, 3), (257, 5), (513, 300, 3), (2, 2, 3)]:
        img = rng.random(shape).astype(np.float32)
        x = img.astype(np.float64)
        expected = np.mean(np.diff(x, axis=0) ** 2) + np.mean(np.diff(x, axis=1) ** 2)
        assert _gradient_energy(img) == pytest.approx(expected, rel=1e-6)


def test_the_tile_blend_weights_add_up_to_one_everywhere():
    from deblur_core.classical.tiles import blend_weight
    from deblur_core.kernels import motion_kernel

    # About one tile's worth: two halves, for two threads; a 12-MP photo: 3 x 4 tiles with corners.
    for (height, width), count in [((700, 1000), 2), ((3000, 4000), 12)]:
        total = np.zeros((height, width), np.float32)
        tiles = tile_grid(height, width, motion_kernel(15, 30), 1024)
        assert len(tiles) == count
        for tile in tiles:
            wy = blend_weight(tile.span[0], tile.core[0], height)
            wx = blend_weight(tile.span[1], tile.core[1], width)
            total[tile.span] += np.outer(wy, wx)
        np.testing.assert_allclose(total, 1.0, atol=1e-5)
    assert tile_grid(100, 100, motion_kernel(15, 30), 1024) == []  # too small to split


def test_a_mirror_symmetric_kernel_needs_no_boundary_refinement():
    from deblur_core.classical.deconvolution import _mirror_symmetric
    from deblur_core.kernels import defocus_kernel, gaussian_kernel, motion_kernel

    assert _mirror_symmetric(gaussian_kernel(2.0)) and _mirror_symmetric(defocus_kernel(4))
    assert _mirror_symmetric(motion_kernel(11, 0)) and _mirror_symmetric(motion_kernel(11, 90))
    assert not _mirror_symmetric(motion_kernel(11, 45))


def test_noise_estimate_is_not_fooled_by_fine_texture():
    """Texture over half the photo (fur, foliage) must not read as noise: the flat half tells the truth."""
    rng = np.random.default_rng(5)
    texture = ndimage.gaussian_filter(rng.random((192, 96)), 0.6)
    texture = 0.5 + 0.35 * (texture - texture.mean()) / texture.std()
    grey = np.concatenate([np.clip(texture, 0, 1), np.full((192, 96), 0.4)], axis=1)
    noisy = add_noise(np.repeat(grey[..., None], 3, axis=2).astype(np.float32), 0.01, rng)
    assert classical.estimate_noise_sigma(noisy) == pytest.approx(0.01, rel=0.2)
