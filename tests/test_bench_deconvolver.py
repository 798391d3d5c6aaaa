"""The benchmark's kernel-method section: its perturbed kernel and its target checks."""

from __future__ import annotations

import numpy as np

from deblur_core.bench.deconvolver import perturbed_kernel, targets
from deblur_core.kernels import defocus_kernel, identity_kernel, motion_kernel


def test_perturbed_kernel_is_valid_larger_and_the_same_every_time():
    for kernel in (motion_kernel(21, 45), defocus_kernel(5)):
        wrong = perturbed_kernel(kernel)
        assert wrong.min() >= 0 and abs(float(wrong.sum()) - 1) < 1e-5 and wrong.shape[0] % 2 == 1
        assert wrong.shape[0] >= kernel.shape[0]
        np.testing.assert_array_equal(wrong, perturbed_kernel(kernel))
    np.testing.assert_array_equal(perturbed_kernel(identity_kernel()), identity_kernel())


def _summary(deconv: float, wiener: float, auto: float) -> dict:
    rows = {}
    for family in ("gaussian", "defocus", "motion", "levin", "all"):
        rows[("Set14", family, "deconvolver (true kernel)")] = {"psnr": deconv}
        rows[("Set14", family, "wiener (true kernel)")] = {"psnr": wiener}
        rows[("Set14", family, "wiener (true kernel, auto nsr)")] = {"psnr": auto}
    return rows


def test_targets_compare_with_the_better_wiener():
    met = dict((name, ok) for name, _, ok in targets(_summary(28.0, 26.9, 26.5), None, {}, None))
    assert met["Set14, all blurs, true kernel: >= +1.0 dB over the better Wiener (wiener (true kernel))"]
    missed = targets(_summary(28.0, 26.9, 27.2), None, {}, None)
    assert not missed[0][2] and "+0.80" in missed[0][1] and "auto nsr" in missed[0][0]
    assert targets({}, None, {}, None) == []


def test_the_perturbed_line_reads_the_fitted_row_and_shows_the_other_ways():
    rows = _summary(28.0, 26.9, 26.5)
    rows[("Set14", "all", "wiener (perturbed kernel)")] = {"psnr": 23.6}
    rows[("Set14", "all", "deconvolver (perturbed kernel)")] = {"psnr": 24.3}
    rows[("Set14", "all", "deconvolver (perturbed kernel, marked approximate)")] = {"psnr": 24.4}
    rows[("Set14", "all", "deconvolver (perturbed kernel, fitted to the photo)")] = {"psnr": 24.7}
    line = [t for t in targets(rows, None, {}, None) if "perturbed" in t[0]]
    assert line == [
        (
            "Set14, perturbed kernel, fitted to the photo and marked approximate: >= +1.0 dB over Wiener with the "
            "same kernel",
            "+1.10 dB (marked approximate only: +0.80; run as an exact kernel: +0.70)",
            True,
        )
    ]
    del rows[("Set14", "all", "deconvolver (perturbed kernel, fitted to the photo)")]
    line = [t for t in targets(rows, None, {}, None) if "perturbed" in t[0]]
    assert line == [
        (
            "Set14, perturbed kernel, marked approximate: >= +1.0 dB over Wiener with the same kernel",
            "+0.80 dB (run as an exact kernel: +0.70)",
            False,
        )
    ]
    del rows[("Set14", "all", "deconvolver (perturbed kernel, marked approximate)")]
    line = [t for t in targets(rows, None, {}, None) if "perturbed" in t[0]]
    assert line == [("Set14, perturbed kernel: >= +1.0 dB over Wiener with the same kernel", "+0.70 dB", False)]
