"""deblur_core.bench.estimator_dev: the dim-tail measure, the trace draw, the summary, and a two-photo run."""

from __future__ import annotations

import re

import numpy as np
import pytest

from deblur_core.bench import estimator_dev


def test_dim_mass_counts_the_weight_below_a_tenth_of_the_peak():
    kernel = np.zeros((5, 5))
    kernel[2, 2] = 0.7
    kernel[2, 3] = 0.25
    kernel[2, 0:2] = 0.025  # each under a tenth of 0.7: 0.05 of the weight in all
    assert estimator_dev.dim_mass(kernel) == pytest.approx(0.05)
    assert estimator_dev.dim_mass(kernel, share=0.5) == pytest.approx(0.30)
    with pytest.raises(ValueError, match="no positive weight"):
        estimator_dev.dim_mass(np.zeros((3, 3)))


def test_dim_tailed_draws_have_a_faint_trail_and_plain_draws_mostly_do_not():
    rng = np.random.default_rng(5)
    dim = [estimator_dev.draw_trace(rng, dim_tail=True) for _ in range(20)]
    assert all(estimator_dev.dim_mass(k) >= estimator_dev.DIM_TAIL_MASS for k in dim)
    assert all(k.shape[0] <= 31 and k.shape[0] % 2 == 1 for k in dim)
    plain = [estimator_dev.dim_mass(estimator_dev.draw_trace(rng)) for _ in range(60)]
    assert np.median(plain) < estimator_dev.DIM_TAIL_MASS


def test_summary_counts_the_ratios_at_or_below_2_and_3():
    rows = [{"ratio": r, "fallback": f, "size": 9} for r, f in [(1.5, False), (2.0, False), (3.0, True), (7.0, False)]]
    assert estimator_dev.summary(rows) == ("4 cases: ratio <= 2 on 2, <= 3 on 3 (75 %), median 2.50, fallbacks 1")
    for row, gain in zip(rows, (2.0, 1.0, 0.0, -1.0), strict=True):
        row["gain"] = gain
    assert estimator_dev.summary(rows).endswith("fallbacks 1, Wiener's gain +0.50 dB, 1 worse")


def test_a_two_photo_run_reports_its_ratios(shared_data, capsys):
    assert estimator_dev.main(["--photos", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("set a, traces: 2 cases: ratio <= 2 on ") and "Wiener's gain " in out
    assert estimator_dev.main(["--photos", "1", "--compact", "--jitter", "1e-4"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"1 cases: .*; jittered: [01] of 1 decisions flipped, [01] more ratios moved over 1.5 times", out)
    with pytest.raises(SystemExit):
        estimator_dev.main(["--jitter", "0.5"])
    assert "--jitter must be at least 0 and under 0.1" in capsys.readouterr().err


def test_compact_draws_are_gaussian_defocus_or_straight_motion_blurs():
    rng = np.random.default_rng(3)
    kernels = [estimator_dev.draw_compact(rng) for _ in range(30)]
    assert all(k.ndim == 2 and k.shape[0] % 2 == 1 and k.sum() == pytest.approx(1.0) for k in kernels)
    assert all(estimator_dev.dim_mass(k, share=0.01) < 0.05 for k in kernels)  # no faint trail
    with pytest.raises(ValueError, match="two different sets"):
        estimator_dev.dev_cases(1, dim_tail=True, compact=True)


def test_stability_counts_flipped_decisions_and_moved_ratios():
    rows = [{"ratio": r, "fallback": f} for r, f in [(1.2, False), (2.0, False), (5.0, True), (2.5, False)]]
    again = [{"ratio": r, "fallback": f} for r, f in [(1.3, False), (3.5, False), (1.4, False), (2.5, True)]]
    # Case 2 moved 1.75 times with a kernel kept in both; cases 3 and 4 flipped; case 1 moved under 1.5 times.
    assert estimator_dev.stability(rows, again) == (
        "jittered: 2 of 4 decisions flipped, 1 more ratios moved over 1.5 times; within ratio 3 3 as they are, 3 jittered"
    )
    cases = [(np.zeros((4, 4, 3)), np.ones((1, 1)), np.full((4, 4, 3), 0.5, np.float32))]
    ((sharp, kernel, shaken),) = estimator_dev.jittered(cases, 1e-3)
    assert shaken.dtype == np.float32 and 0 < np.abs(shaken - 0.5).max() < 0.01 and shaken is not cases[0][2]


def test_the_photo_sets_share_no_photo():
    # Every STRIDE-th training photo from each offset: distinct offsets below STRIDE never meet.
    offsets = [offset for offset, _ in estimator_dev.OFFSETS.values()]
    assert len(set(offsets)) == len(offsets) and all(0 <= o < estimator_dev.STRIDE for o in offsets)
    picked = [set(range(o, 400, estimator_dev.STRIDE)) for o in offsets]
    assert all(not (a & b) for i, a in enumerate(picked) for b in picked[i + 1 :])
