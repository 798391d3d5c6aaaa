"""The kernel step with no negative weight: it solves the constrained least squares, both ways of multiplying agree,
and bad arguments are refused."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import fft as sfft
from scipy.optimize import nnls

from deblur_core.classical import kernel_solve
from deblur_core.classical.kernel_solve import positive_kernel


def _shifted(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The kernel on a canvas with its centre at offset 0 (wrapping around)."""
    canvas = np.zeros(shape)
    canvas[: kernel.shape[0], : kernel.shape[1]] = kernel
    return np.roll(canvas, (-(kernel.shape[0] // 2), -(kernel.shape[1] // 2)), axis=(0, 1))


def _problem(size: int = 7, noise: float = 0.05, shape: tuple[int, int] = (40, 44)):
    """Random gradients g, a thin kernel with a faint arm, b = g (*) k + noise; their spectra and the kernel."""
    rng = np.random.default_rng(3)
    g = rng.standard_normal(shape)
    kernel = np.zeros((size, size))
    kernel[size // 2, 1 : size - 1] = 1.0
    kernel[size // 2 - 1, size - 2] = 0.1  # a faint arm a clipped unconstrained fit loses in its ripples
    kernel /= kernel.sum()
    b = sfft.irfft2(sfft.rfft2(g) * sfft.rfft2(_shifted(kernel, shape)), s=shape) + noise * rng.standard_normal(shape)
    spectrum_g, spectrum_b = sfft.rfft2(g), sfft.rfft2(b)
    return g, b, np.abs(spectrum_g) ** 2, np.conj(spectrum_g) * spectrum_b, kernel


def _reference(g: np.ndarray, b: np.ndarray, size: int, gamma: float) -> np.ndarray:
    """The same problem with its matrix written out column by column, solved by SciPy's exact NNLS."""
    shape = g.shape
    columns = []
    for i in range(size):
        for j in range(size):
            unit = np.zeros((size, size))
            unit[i, j] = 1
            columns.append(sfft.irfft2(sfft.rfft2(g) * sfft.rfft2(_shifted(unit, shape)), s=shape).ravel())
    matrix = np.vstack([np.array(columns).T, np.sqrt(gamma) * np.eye(size * size)])
    return nnls(matrix, np.concatenate([b.ravel(), np.zeros(size * size)]))[0].reshape(size, size)


def test_it_solves_the_non_negative_least_squares_problem():
    g, b, energy, cross, _ = _problem()
    found = positive_kernel(energy, cross, g.shape, 7, gamma=5.0, iterations=1000)
    reference = _reference(g, b, 7, 5.0)
    assert found.dtype == np.float32 and found.shape == (7, 7) and found.min() >= 0
    assert np.abs(found - reference).max() < 1e-4 * reference.max()


def test_a_hundred_and_fifty_steps_come_close_and_zero_steps_give_the_clipped_unconstrained_fit():
    g, b, energy, cross, kernel = _problem(noise=0.01)
    reference = _reference(g, b, 7, 1.0)
    found = positive_kernel(energy, cross, g.shape, 7, gamma=1.0, iterations=150)
    assert np.abs(found - reference).max() < 1e-3 * reference.max()
    assert np.abs(found - kernel).max() < 0.02  # and the fit is the kernel that made b
    clipped = positive_kernel(energy, cross, g.shape, 7, gamma=1.0, iterations=0)
    unconstrained = np.roll(sfft.irfft2(cross / (energy + 1.0), s=g.shape), (3, 3), axis=(0, 1))[:7, :7]
    np.testing.assert_allclose(clipped, np.clip(unconstrained, 0, None), atol=1e-6)


def test_the_constrained_fit_puts_far_less_weight_where_the_kernel_has_none_and_keeps_the_faint_arm():
    g, _, energy, cross, kernel = _problem(size=9, noise=0.3)
    arm = (3, 7)
    solved = positive_kernel(energy, cross, g.shape, 9, gamma=1.0, iterations=150)
    clipped = positive_kernel(energy, cross, g.shape, 9, gamma=1.0, iterations=0)
    off = kernel == 0
    # The clipped fit's ripples stand higher than the faint arm, so no cut can keep one and drop the others.
    assert clipped[off].max() > clipped[arm]
    assert solved[off].sum() < 0.5 * clipped[off].sum()
    assert solved[arm] > 0.5 * kernel[arm]


def test_the_dense_and_the_fft_products_agree(monkeypatch):
    g, _, energy, cross, _ = _problem(size=9)
    dense = positive_kernel(energy, cross, g.shape, 9, gamma=2.0, iterations=60)
    monkeypatch.setattr(kernel_solve, "DENSE_MAX", 1)
    by_fft = positive_kernel(energy, cross, g.shape, 9, gamma=2.0, iterations=60)
    np.testing.assert_allclose(dense, by_fft, atol=1e-5 * float(dense.max()))


@pytest.mark.parametrize(
    ("size", "shape", "gamma", "iterations", "message"),
    [
        (8, (40, 40), 1.0, 10, "odd and positive"),
        (0, (40, 40), 1.0, 10, "odd and positive"),
        (21, (40, 40), 1.0, 10, "too small"),
        (7, (40, 40), -1.0, 10, "cannot be negative"),
        (7, (40, 40), 1.0, -1, "cannot be negative"),
    ],
)
def test_bad_arguments_are_refused_with_a_sentence(size, shape, gamma, iterations, message):
    energy = np.ones((shape[0], shape[1] // 2 + 1))
    with pytest.raises(ValueError, match=message):
        positive_kernel(energy, energy.astype(complex), shape, size, gamma, iterations)
