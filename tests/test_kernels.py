"""Tests for deblur_core.kernels: every kernel is float32, odd, non-negative, sums to 1 and is centred."""

from __future__ import annotations

import io
import math
import os

import numpy as np
import pytest
from scipy import ndimage

from deblur_core.io import save_image
from deblur_core.kernels import (
    MAX_KERNEL_SIZE,
    defocus_kernel,
    gaussian_kernel,
    identity_kernel,
    load_kernel,
    motion_kernel,
    normalize_kernel,
    parse_kernel_spec,
    random_kernel,
    shake_kernel,
    trace_kernel,
)
from deblur_core.settings import data_dir

LEVIN_KERNELS = data_dir() / "levin09" / "kernels"


def centre_offset(kernel: np.ndarray) -> np.ndarray:
    """(dy, dx) from the centre pixel to the centre of mass, in pixels."""
    centre = (np.array(kernel.shape) - 1) / 2
    return np.array(ndimage.center_of_mass(kernel.astype(np.float64))) - centre


def assert_valid_kernel(kernel: np.ndarray) -> None:
    assert kernel.dtype == np.float32
    assert kernel.ndim == 2
    assert kernel.shape[0] % 2 == 1 and kernel.shape[1] % 2 == 1, kernel.shape
    assert kernel.min() >= 0.0
    assert abs(float(kernel.sum(dtype=np.float64)) - 1.0) < 1e-5
    offset = centre_offset(kernel)
    assert np.all(np.abs(offset) <= 0.05), f"centre of mass is {offset} px off the centre pixel"


def spread(kernel: np.ndarray) -> float:
    """Second moment of the kernel about its centre of mass, in square pixels."""
    k = kernel.astype(np.float64) / kernel.sum()
    rows, cols = np.indices(k.shape)
    cy, cx = ndimage.center_of_mass(k)
    return float(np.sum(k * ((rows - cy) ** 2 + (cols - cx) ** 2)))


def angle_difference(a: float, b: float) -> float:
    """Smallest difference between two axis directions, in degrees (0 and 180 are the same axis)."""
    d = (a - b) % 180
    return min(d, 180 - d)


def principal_angle(kernel: np.ndarray) -> float:
    """Direction of the kernel's long axis in degrees, counter-clockwise from +x with y pointing up."""
    rows, cols = np.indices(kernel.shape)
    cy, cx = ndimage.center_of_mass(kernel)
    x, y = cols - cx, -(rows - cy)
    w = kernel / kernel.sum()
    cov = np.array([[np.sum(w * x * x), np.sum(w * x * y)], [np.sum(w * x * y), np.sum(w * y * y)]])
    values, vectors = np.linalg.eigh(cov)
    vx, vy = vectors[:, np.argmax(values)]
    return math.degrees(math.atan2(vy, vx)) % 180


KERNELS = {
    "gaussian 0.5": lambda: gaussian_kernel(0.5),
    "gaussian 2": lambda: gaussian_kernel(2.0),
    "gaussian 6.3": lambda: gaussian_kernel(6.3),
    "anisotropic gaussian": lambda: gaussian_kernel(3.0, 1.0, 30.0),
    "anisotropic gaussian 115": lambda: gaussian_kernel(0.7, 2.5, 115.0),
    "motion 0": lambda: motion_kernel(15, 0),
    "motion 30": lambda: motion_kernel(15, 30),
    "motion 90": lambda: motion_kernel(15, 90),
    "motion 137": lambda: motion_kernel(15, 137),
    "motion 1 px": lambda: motion_kernel(1, 45),
    "motion 8.5 px": lambda: motion_kernel(8.5, 200),
    "defocus 0.5": lambda: defocus_kernel(0.5),
    "defocus 1": lambda: defocus_kernel(1.0),
    "defocus 4": lambda: defocus_kernel(4.0),
    "defocus 7.5": lambda: defocus_kernel(7.5),
    **{f"shake seed {s}": (lambda s=s: shake_kernel(21, np.random.default_rng(s))) for s in range(5)},
    "shake small erratic": lambda: shake_kernel(9, np.random.default_rng(11), intensity=1.0),
    "shake large": lambda: shake_kernel(41, np.random.default_rng(12), intensity=0.2),
    **{f"trace seed {s}": (lambda s=s: trace_kernel(25, np.random.default_rng(s))) for s in range(5)},
    "trace small": lambda: trace_kernel(5, np.random.default_rng(13)),
    "identity": identity_kernel,
}


@pytest.mark.parametrize("name", list(KERNELS))
def test_every_kernel_is_float32_odd_nonnegative_unit_sum_and_centred(name):
    assert_valid_kernel(KERNELS[name]())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_training_kernels_are_valid(seed):
    rng = np.random.default_rng(seed)
    for _ in range(8):
        family, kernel = random_kernel(rng)
        assert family in ("gaussian", "defocus", "motion", "shake")
        assert_valid_kernel(kernel)


def test_levin_kernels_are_centred_after_normalising():
    if not LEVIN_KERNELS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the shared data folder {LEVIN_KERNELS} is absent (CI must provide it)")
        pytest.skip(f"the shared data folder {LEVIN_KERNELS} is absent")
    raw6 = np.load(LEVIN_KERNELS / "kernel_6.npy")
    assert np.max(np.abs(centre_offset(raw6))) > 2.0, "kernel 6 is known to be about 3 px off-centre"
    for path in sorted(LEVIN_KERNELS.glob("kernel_*.npy")):
        raw = np.load(path)
        kernel = normalize_kernel(raw)
        assert_valid_kernel(kernel)
        # Centring moves the kernel without reshaping it: the spread about the centre of mass grows by
        # at most the half pixel that a bilinear sub-pixel shift can add per axis.
        assert spread(raw) <= spread(kernel) <= spread(raw) + 0.5


def test_gaussian_width_follows_sigma():
    narrow, wide = gaussian_kernel(1.0), gaussian_kernel(3.0)
    assert wide.shape[0] > narrow.shape[0]
    rows = np.arange(wide.shape[0]) - wide.shape[0] // 2
    variance = float(np.sum(wide.sum(axis=1) * rows**2))
    assert variance == pytest.approx(9.0, rel=0.02)
    # Isotropic: symmetric under transposition.
    np.testing.assert_allclose(wide, wide.T, atol=1e-7)


def test_anisotropic_gaussian_points_along_its_angle():
    kernel = gaussian_kernel(4.0, 1.0, 30.0)
    assert angle_difference(principal_angle(kernel), 30.0) < 2.0


@pytest.mark.parametrize("angle", [0, 30, 90, 137])
def test_motion_kernel_points_along_its_angle_with_its_length(angle):
    kernel = motion_kernel(15, angle)
    assert angle_difference(principal_angle(kernel), angle) < 2.0
    # Light spread evenly along the line: the variance along it lies between that of a uniform
    # segment 14 px long (the displacement between the first and last pixel) and 15 px long.
    rows, cols = np.indices(kernel.shape)
    cy, cx = ndimage.center_of_mass(kernel)
    t = math.radians(angle)
    along = (cols - cx) * math.cos(t) - (rows - cy) * math.sin(t)
    variance = float(np.sum(kernel * along**2))
    assert 14**2 / 12 - 0.1 <= variance <= 15**2 / 12 + 0.1


def test_defocus_kernel_is_a_flat_round_disk():
    kernel = defocus_kernel(5.0)
    centre = kernel.shape[0] // 2
    inner = kernel[centre - 3 : centre + 4, centre - 3 : centre + 4]
    assert np.ptp(inner) < 1e-6, "flat inside the disk"
    np.testing.assert_allclose(kernel, kernel.T, atol=1e-7)
    np.testing.assert_allclose(kernel, kernel[::-1], atol=1e-7)
    area = float(kernel.sum() / kernel.max())  # the number of fully lit pixels it is worth
    assert area == pytest.approx(math.pi * 25, rel=0.02)


def test_traces_are_thin_strokes_within_their_size_and_deterministic_by_seed():
    """A trace is a stroke about a pixel wide: the pixels it lights are few for its length, far fewer than a
    tangled walk of the same size lights, and it fits its square around its centre of mass."""
    lit, walk_lit = [], []
    for seed in range(12):
        trace = trace_kernel(25, np.random.default_rng(seed))
        assert max(trace.shape) <= 25
        lit.append(int((trace > 0.05 * trace.max()).sum()))
        walk = shake_kernel(25, np.random.default_rng(seed))
        walk_lit.append(int((walk > 0.05 * walk.max()).sum()))
    assert np.median(lit) < 0.6 * np.median(walk_lit)
    np.testing.assert_array_equal(
        trace_kernel(21, np.random.default_rng(3)), trace_kernel(21, np.random.default_rng(3))
    )
    np.testing.assert_array_equal(parse_kernel_spec("trace:size=21,seed=3"), trace_kernel(21, np.random.default_rng(3)))
    with pytest.raises(ValueError, match="unknown option"):
        parse_kernel_spec("trace:size=21,intensity=0.5")
    family, kernel = random_kernel(np.random.default_rng(0), ("trace",))
    assert family == "trace"
    assert_valid_kernel(kernel)


def test_shake_is_deterministic_by_seed():
    a = shake_kernel(21, np.random.default_rng(3))
    b = shake_kernel(21, np.random.default_rng(3))
    c = shake_kernel(21, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    assert max(a.shape) <= 21 + 2
    np.testing.assert_array_equal(parse_kernel_spec("shake:size=21,seed=3"), a)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gaussian_kernel(0), "greater than 0"),
        (lambda: gaussian_kernel(2, -1), "greater than 0"),
        (lambda: gaussian_kernel(40), "at most 15"),
        (lambda: motion_kernel(0.5), "at least 1"),
        (lambda: motion_kernel(MAX_KERNEL_SIZE + 5), "at most"),
        (lambda: defocus_kernel(0), "greater than 0"),
        (lambda: defocus_kernel(80), "at most"),
        (lambda: shake_kernel(3), "between 5"),
    ],
)
def test_out_of_range_parameters_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_normalize_kernel_clips_negatives_trims_and_refuses_nonsense():
    raw = np.zeros((6, 8))
    raw[2, 3], raw[2, 4], raw[0, 0] = 2.0, 2.0, -1.0
    kernel = normalize_kernel(raw)
    assert_valid_kernel(kernel)
    # Trimmed to the light, made odd and square, centred between the two pixels.
    assert kernel.shape == (3, 3)
    np.testing.assert_allclose(kernel[1], [0.25, 0.5, 0.25], atol=1e-6)
    assert kernel[0].sum() == 0 and kernel[2].sum() == 0
    # A colour image of a kernel is averaged to grey.
    assert_valid_kernel(normalize_kernel(np.ones((5, 5, 3))))
    with pytest.raises(ValueError, match="2-D"):
        normalize_kernel(np.ones((3, 3, 3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        normalize_kernel(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="no positive weight"):
        normalize_kernel(-np.ones((3, 3)))
    with pytest.raises(ValueError, match="at most"):
        normalize_kernel(np.ones((3, MAX_KERNEL_SIZE + 10)))


# --------------------------------------------------------------------------------------------------
# parse_kernel_spec and load_kernel
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("gaussian:sigma=2", lambda: gaussian_kernel(2.0)),
        (" Gaussian : sigma = 2 ", lambda: gaussian_kernel(2.0)),
        ("gaussian:sigma=3,sigma_y=1,angle=30", lambda: gaussian_kernel(3.0, 1.0, 30.0)),
        ("motion:length=15,angle=30", lambda: motion_kernel(15, 30)),
        ("motion:length=9", lambda: motion_kernel(9, 0)),
        ("defocus:radius=4", lambda: defocus_kernel(4)),
        ("shake:size=20,seed=3", lambda: shake_kernel(21, np.random.default_rng(3))),
        ("none", identity_kernel),
        ("identity", identity_kernel),
    ],
)
def test_parse_kernel_spec_forms(spec, expected):
    np.testing.assert_array_equal(parse_kernel_spec(spec), expected())


def test_shake_without_seed_uses_the_given_rng():
    a = parse_kernel_spec("shake:size=15", np.random.default_rng(5))
    b = parse_kernel_spec("shake:size=15", np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert_valid_kernel(a)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("blob:size=3", "Unknown kernel 'blob:size=3'"),
        ("gaussian", "needs sigma"),
        ("gaussian:sigma=abc", "Cannot read 'sigma=abc'"),
        ("gaussian:2", "Cannot read '2'"),
        ("motion:length=15,speed=3", "unknown option"),
        ("defocus:radius=0", "greater than 0"),
        ("no/such/kernel.npy", "Unknown kernel"),
    ],
)
def test_parse_kernel_spec_errors_are_clear(spec, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_kernel_spec(spec)
    if "Unknown" in message or "Cannot" in message or "needs" in message or "unknown" in message:
        assert "gaussian:sigma=2" in str(info.value), "the message shows the accepted forms"


def test_kernel_files_npy_and_image(tmp_path):
    line = np.zeros((7, 7), np.float64)
    line[3, 1:6] = 1.0
    npy = tmp_path / "line.npy"
    np.save(npy, line)
    from_npy = parse_kernel_spec(str(npy))
    assert_valid_kernel(from_npy)
    np.testing.assert_allclose(from_npy, normalize_kernel(line))

    picture = np.zeros((9, 9, 3), np.float32)
    picture[4, 2:7] = 1.0
    png = tmp_path / "line.png"
    save_image(picture, png)
    from_png = load_kernel(png)
    np.testing.assert_allclose(from_png, from_npy, atol=1e-6)

    buffer = io.BytesIO()
    np.save(buffer, line)
    np.testing.assert_allclose(load_kernel(buffer.getvalue()), from_npy)
    with pytest.raises(ValueError, match="not a readable .npy kernel"):
        load_kernel(b"\x93NUMPY garbage")
