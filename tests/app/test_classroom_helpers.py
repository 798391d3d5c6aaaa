"""The Classroom's helpers without a page: the lesson picture, the pictures of spectra, the quiz, the charts."""

from __future__ import annotations

import numpy as np
import pytest

from deblur_core import kernels
from studio import classroom
from studio.tasks import KernelSettings


def test_the_lesson_picture_is_at_most_512_px_and_never_enlarged():
    big = np.random.default_rng(0).random((900, 1200, 3)).astype(np.float32)
    small = classroom.lesson_picture(big)
    assert small.shape == (384, 512, 3) and small.dtype == np.float32
    assert small.min() >= 0 and small.max() <= 1
    modest = big[:200, :300]
    assert classroom.lesson_picture(modest).shape == modest.shape
    with pytest.raises(ValueError, match="at least 64 px on each side"):
        classroom.lesson_picture(big[:40])


def test_wiped_out_frequencies_are_marked_white_and_the_maps_use_viridis():
    transfer = np.array([[1.0, 0.5], [0.005, 0.0]], np.float32)
    picture = classroom.transfer_picture(transfer, mark=True)
    assert (picture[1] == 255).all() and not (picture[0] == 255).all(axis=-1).any()
    unmarked = classroom.transfer_picture(transfer, mark=False)
    assert tuple(unmarked[0, 0]) == tuple(classroom.VIRIDIS[255])  # |K| = 1: the top of the scale
    gain = classroom.gain_picture(transfer)
    assert tuple(gain[0, 0]) == tuple(classroom.VIRIDIS[0])  # multiplied 1x: the bottom


def test_the_quiz_draws_the_same_secret_for_the_same_seed_and_varies_with_it():
    secrets = [classroom.puzzle(seed) for seed in range(12)]
    assert classroom.puzzle(3) == secrets[3]
    assert len({s.kind for s in secrets}) == 3
    for secret in secrets:
        kernel = secret.kernel()
        assert kernel.sum() == pytest.approx(1.0, abs=1e-5) and max(kernel.shape) <= 41


def test_kernels_side_by_side_share_one_scale():
    small, large = kernels.gaussian_kernel(1.0), kernels.motion_kernel(21, 0)
    a, b = classroom.same_scale(small, large)
    assert a.shape == b.shape == (max(large.shape),) * 2
    assert a.sum() == pytest.approx(1.0, abs=1e-5)
    assert a[a.shape[0] // 2, a.shape[1] // 2] == small.max()  # still centred


def test_the_charts_mark_the_current_setting_and_the_best():
    xs = np.array([1, 2, 3, 4])
    figure = classroom.curve_chart(xs, np.array([20.0, 25.0, 23.0, 21.0]), 3, "iterations", 300)
    now = figure.data[1]
    assert list(now.x) == [3] and list(now.y) == [23.0]
    assert figure.layout.annotations[0].x == 2
    on_log = classroom.curve_chart(np.array([1e-4, 1e-3, 1e-2]), np.array([20.0, 26.0, 24.0]), 1e-2, "NSR", 300, True)
    assert on_log.layout.annotations[0].x == pytest.approx(-3.0)  # log10 of the best ratio, as Plotly wants it
    gain = classroom.gain_chart(KernelSettings("motion", length=15, angle=30), 1e-2, 300)
    assert [trace.name for trace in gain.data] == ["blur keeps |K|", "inverse 1/|K|", "Wiener"]
