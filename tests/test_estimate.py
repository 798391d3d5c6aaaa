"""Blind kernel estimation: known kernels come back, a sharp photo gets the fallback, and it stops on request."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage import data

from deblur_core.classical.detail import DETAIL_LIMIT, detail_ratio
from deblur_core.classical.estimate import KernelEstimate, choose_region, estimate_kernel, kernel_axes
from deblur_core.classical.kernel_fit import similarity as _similarity
from deblur_core.degrade import degrade
from deblur_core.image import rgb_to_luma
from deblur_core.kernels import defocus_kernel, gaussian_kernel, motion_kernel, normalize_kernel
from deblur_core.progress import Cancelled


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 256 x 256 crop of a real photo with edges in every direction."""
    return data.astronaut()[20:276, 120:376].astype(np.float32) / 255.0


def _moments(k: np.ndarray) -> tuple[float, float, float]:
    """(largest and smallest standard deviation in px, angle of the long axis in degrees, counter-clockwise)."""
    values, angle = kernel_axes(k)
    return math.sqrt(values[1]), math.sqrt(max(values[0], 0)), angle % 180


def _blurred(photo, kernel):
    return degrade(photo, kernel, 0.005, np.random.default_rng(0), round8=True)


def test_a_gaussian_blur_is_found_with_its_width(photo):
    found = estimate_kernel(_blurred(photo, gaussian_kernel(2.0)), max_size=15)
    assert isinstance(found, KernelEstimate) and not found.fallback
    large, small, _ = _moments(found.kernel)
    # The true kernel has 2.0 px along both axes; within 30 %, and round.
    assert 1.4 < small <= large < 2.6, (large, small)


def test_a_disk_blur_is_found_with_its_size(photo):
    found = estimate_kernel(_blurred(photo, defocus_kernel(4.0)), max_size=15)
    true_large, _, _ = _moments(defocus_kernel(4.0))
    large, small, _ = _moments(found.kernel)
    assert not found.fallback
    assert abs(large - true_large) < 0.35 * true_large and small > 0.6 * large


def test_a_motion_blur_is_found_with_its_direction_and_length(photo):
    found = estimate_kernel(_blurred(photo, motion_kernel(11, 30)), max_size=15)
    true_large, _, _ = _moments(motion_kernel(11, 30))
    large, small, angle = _moments(found.kernel)
    assert not found.fallback
    assert abs(angle - 30) < 12, angle
    assert abs(large - true_large) < 0.3 * true_large and small < 0.5 * large


def test_a_sharp_photo_gets_the_fallback(photo):
    sharp = degrade(photo, np.ones((1, 1)), 0.005, np.random.default_rng(0), round8=True)
    found = estimate_kernel(sharp, max_size=15)
    assert found.fallback and found.kernel.shape == (1, 1) and found.confidence == 0
    assert found.source == "no blur found" and found.confidence_words() == "no clear blur found"
    assert found.fallback_reason(past=True) == "no clear blur was found"


def test_the_estimate_reports_progress_and_its_region(photo):
    calls = []
    found = estimate_kernel(
        _blurred(photo, gaussian_kernel(1.5)),
        max_size=9,
        region=(0, 0, 128, 128),
        on_progress=lambda *a: calls.append(a),
    )
    assert found.region == (0, 0, 128, 128) and found.seconds > 0
    assert calls and calls[-1][0] == calls[-1][1] and all(isinstance(c[2]["message"], str) for c in calls)


def test_the_estimate_stops_on_request(photo):
    with pytest.raises(Cancelled):
        estimate_kernel(photo, max_size=9, cancel=lambda: True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_size": 3}, "from 5 to"),
        ({"max_size": 53}, "from 5 to"),
        ({"region": (0, 0, 32, 32)}, "at least 64"),
        ({"region": (200, 200, 128, 128)}, "outside"),
        ({"region": "centre"}, "four whole numbers"),
    ],
)
def test_bad_arguments_are_refused_with_a_sentence(photo, kwargs, message):
    with pytest.raises(ValueError, match=message):
        estimate_kernel(photo, **kwargs)


def test_a_tiny_photo_is_refused(photo):
    with pytest.raises(ValueError, match="at least 64"):
        estimate_kernel(photo[:40, :40])


def test_the_region_is_the_edge_rich_unclipped_part():
    grey = np.full((200, 300), 0.5)
    rng = np.random.default_rng(0)
    grey[20:120, 180:280] = rng.random((100, 100))  # texture on the right
    grey[100:200, 0:100] = np.where(rng.random((100, 100)) > 0.5, 1.0, 0.99)  # clipped highlights
    x, y, w, h = choose_region(grey, 100)
    assert (w, h) == (100, 100) and x >= 150 and y <= 50


def test_the_estimating_method_restores_with_the_kernel_it_found(photo):
    from deblur_core.metrics import psnr
    from deblur_core.restoration import get_method, restore

    assert get_method("estimated-deconvolver").kernel == "estimates"
    blurred = _blurred(photo, gaussian_kernel(2.0))
    result = restore(blurred, "estimated-deconvolver")
    assert result.kernel_source == "estimated" and result.kernel.shape[0] > 1
    assert [s.name for s in result.stages][0] == "Estimating the blur kernel"
    assert psnr(photo, result.image) > psnr(photo, blurred) + 1.0


def test_the_estimating_method_leaves_a_sharp_photo_as_it_is(photo):
    from deblur_core.restoration import restore

    sharp = degrade(photo, np.ones((1, 1)), 0.005, np.random.default_rng(0), round8=True)
    result = restore(sharp, "estimated-deconvolver")
    assert result.kernel.shape == (1, 1)
    np.testing.assert_array_equal(result.image, sharp)


def test_an_estimate_made_beforehand_gives_the_estimating_methods_own_result(photo):
    from deblur_core.restoration import restore, restore_with_estimate

    blurred = _blurred(photo, gaussian_kernel(2.0))
    own = restore(blurred, "estimated-deconvolver")
    handed = restore_with_estimate(blurred, "estimated-deconvolver", estimate_kernel(blurred))
    assert handed.kernel_source == "estimated" and handed.kernel.shape[0] > 1
    np.testing.assert_array_equal(handed.kernel, own.kernel)
    np.testing.assert_array_equal(handed.image, own.image)
    assert [s.name for s in handed.stages] == [s.name for s in own.stages]
    # Another estimate (a smaller largest size, a corner of the photo) is the one used.
    other = estimate_kernel(blurred, max_size=7, region=(0, 0, 128, 128))
    assert restore_with_estimate(blurred, "estimated-deconvolver", other).kernel.shape == other.kernel.shape


def test_an_estimated_kernel_is_leaned_on_less_by_the_learned_deconvolver_only(photo):
    from deblur_core.restoration import restore

    blurred = _blurred(photo, gaussian_kernel(2.0))
    own = restore(blurred, "estimated-deconvolver")
    as_estimated = restore(blurred, "deconvolver", kernel=own.kernel, kernel_estimated=True)
    as_known = restore(blurred, "deconvolver", kernel=own.kernel)
    np.testing.assert_array_equal(own.image, as_estimated.image)  # the estimating method's own settings
    assert np.abs(as_known.image - as_estimated.image).mean() > 1e-4  # a known kernel is trusted more
    wiener = [restore(blurred, "wiener", kernel=own.kernel, kernel_estimated=e).image for e in (False, True)]
    np.testing.assert_array_equal(*wiener)


def test_an_estimate_that_found_no_blur_leaves_the_photo_as_it_is(photo):
    from deblur_core.restoration import restore_with_estimate

    sharp = degrade(photo, np.ones((1, 1)), 0.005, np.random.default_rng(0), round8=True)
    found = estimate_kernel(sharp, max_size=15)
    assert found.fallback
    result = restore_with_estimate(sharp, "estimated-deconvolver", found)
    np.testing.assert_array_equal(result.image, sharp)
    assert result.kernel.shape == (1, 1) and result.kernel_source == "estimated"


def test_only_a_method_that_estimates_the_kernel_takes_an_estimate(photo):
    from deblur_core.restoration import restore_with_estimate

    found = KernelEstimate(gaussian_kernel(1.0), 1.0, (0, 0, 64, 64), 0.1, False, "estimated")
    with pytest.raises(ValueError, match="estimated-deconvolver"):
        restore_with_estimate(photo, "wiener", found)


@pytest.mark.parametrize(
    ("kernel", "kind", "parameters"),
    [
        (gaussian_kernel(2.0), "gaussian", {"sigma": 2.0}),
        (defocus_kernel(5.0), "defocus", {"radius": 5.0}),
        (motion_kernel(15, 30), "motion", {"length": 15.0, "angle": 30.0}),
        (motion_kernel(11, 150), "motion", {"length": 11.0, "angle": 150.0}),
    ],
)
def test_the_nearest_simple_blur_is_named_with_its_parameters(kernel, kind, parameters):
    from deblur_core.classical.estimate import nearest_fit

    found_kind, found = nearest_fit(kernel)
    assert found_kind == kind and set(found) == set(parameters)
    for name, value in parameters.items():
        # Within 10 % (a drawn line's anti-aliased ends make it look a little shorter) or 3 degrees.
        assert abs(found[name] - value) <= (3.0 if name == "angle" else 0.1 * value), (name, found[name])


def test_the_nearest_simple_blur_of_no_blur_is_the_narrowest_gaussian():
    from deblur_core.classical.estimate import nearest_fit

    assert nearest_fit(np.ones((1, 1))) == ("gaussian", {"sigma": 0.3})
    with pytest.raises(ValueError, match="non-negative"):
        nearest_fit(-np.ones((3, 3)))


def _fake_estimates(monkeypatch, by_size):
    """Make the coarse-to-fine estimate return ``by_size[size]``, to test the decision on its own."""
    from deblur_core.classical import estimate as module

    monkeypatch.setattr(
        module, "coarse_to_fine", lambda crop, size, cancel, tick, settings=None, finest=None: by_size[size]
    )


def test_estimates_that_disagree_are_not_used(photo, monkeypatch):
    # At 9 px the blur runs across, at 15 px up and down: no single blur explains both.
    _fake_estimates(monkeypatch, {9: motion_kernel(7, 0), 15: motion_kernel(7, 90)})
    found = estimate_kernel(photo, max_size=15)
    assert found.fallback and found.source == "unsure" and found.kernel.shape == (1, 1)
    assert found.scores["agreement"] < 0.9 and found.confidence == 0
    assert found.confidence_words() == "too uncertain to use"
    assert found.fallback_reason() == "the estimate is too uncertain to use"
    assert found.fallback_reason(past=True) == "the estimate was too uncertain to use"


def test_estimates_that_agree_give_the_smaller_one_with_their_agreement_as_confidence(photo, monkeypatch):
    _fake_estimates(monkeypatch, {9: motion_kernel(7, 30), 15: np.pad(motion_kernel(7, 30), 3)})
    found = estimate_kernel(_blurred(photo, motion_kernel(7, 30)), max_size=15)
    assert not found.fallback and found.source == "estimated" and found.scores["held-out energy"] <= 0.1
    # The kept kernel is the one made again on the whole region, refined there (see the refinement's own test).
    np.testing.assert_array_equal(found.kernel, found.candidates["estimated 9 px, refined"])
    assert _similarity(found.kernel, motion_kernel(7, 30)) > 0.9
    assert found.scores["agreement"] > 0.99 and found.confidence > 0.9 and found.confidence_words() == "high"
    assert found.fallback_reason() == ""


def test_a_kernel_too_small_to_be_a_blur_is_not_used(photo, monkeypatch):
    tiny = np.zeros((9, 9))
    tiny[4, 4], tiny[4, 5] = 0.8, 0.2  # spreads 0.4 px: sharpening by it would only amplify noise
    _fake_estimates(monkeypatch, {9: tiny, 15: np.pad(tiny, 3)})
    found = estimate_kernel(photo, max_size=15)
    assert found.fallback and found.source == "no blur found" and found.scores["spread"] < 1.0


@pytest.mark.parametrize(
    ("sigma", "held_out", "agreement", "kept"),
    [
        (0.0, 0.04, 0.0, "smaller"),
        (0.0, 0.08, 0.0, "larger"),
        (0.0, 0.12, 0.0, None),
        (0.0, 0.08, 1.01, "larger"),
        (0.0, 0.12, 1.01, None),
        # At noise 0.02 the smaller may be 0.05 + 3 x 0.02 = 11 % worse, the larger 0.1 + 6 x 0.02 = 22 %: at 17 %
        # the smaller is refused and the larger, weighed next, kept.
        (0.02, 0.10, 0.0, "smaller"),
        (0.02, 0.17, 0.0, "larger"),
        (0.02, 0.23, 0.0, None),
        (0.02, 0.21, 1.01, "larger"),
        (0.02, 0.23, 1.01, None),
    ],
)
def test_the_held_out_limits_grow_with_the_noise_and_see_the_crop_denoised(
    photo, monkeypatch, sigma, held_out, agreement, kept
):
    # The larger estimate reaches beyond what the smaller can hold. Where the two agree, the smaller may explain the
    # held-out crop up to 5 % worse than no blur does on a clean photo (then the larger is not weighed); where they
    # do not, or the smaller fails, the larger is kept up to 10 % worse. Both limits grow with the noise the photo
    # reads.
    from deblur_core.classical import estimate as module

    long_line = motion_kernel(17, 0)
    _fake_estimates(monkeypatch, {11: np.pad(motion_kernel(9, 0), 1), 19: np.pad(long_line, 1)})
    monkeypatch.setattr(module, "AGREEMENT", agreement)
    monkeypatch.setattr(module, "estimate_noise_sigma", lambda image: sigma)
    denoised, seen = [], []
    real = module._denoised
    monkeypatch.setattr(module, "_denoised", lambda grey, sigma: denoised.append(real(grey, sigma)) or denoised[-1])
    monkeypatch.setattr(module, "_held_out", lambda crop, kernel: seen.append(crop) or held_out)
    noisy = degrade(photo, np.ones((1, 1)), 0.02, np.random.default_rng(0), round8=True)
    found = estimate_kernel(noisy, max_size=19)
    assert seen and all(any(crop is d for d in denoised) for crop in seen)  # every test on the crop as denoised
    if kept is None:
        assert found.fallback and found.source == "unsure"
    else:
        size = 11 if kept == "smaller" else 19
        np.testing.assert_array_equal(found.kernel, found.candidates[f"estimated {size} px, refined"])
        assert [name for name in found.candidates if name.endswith("refined")] == [f"estimated {size} px, refined"]
        assert 0.05 <= found.confidence <= 1.0


def test_fine_detail_where_a_mild_kernel_would_have_removed_it_is_measured_against_the_noise(photo):
    mild = gaussian_kernel(1.1)
    blurred = rgb_to_luma(degrade(photo, mild, 0.01, np.random.default_rng(0), round8=True))
    sharp = rgb_to_luma(degrade(photo, np.ones((1, 1)), 0.01, np.random.default_rng(0), round8=True))
    clean = rgb_to_luma(degrade(photo, mild, 0.0, np.random.default_rng(0), round8=True))
    # Blurred by that kernel, the photo holds about its noise there (the window halves white noise's power); sharp,
    # it holds several times more; without noise the floor on sigma keeps 8-bit rounding from counting as detail.
    assert 0.3 < detail_ratio(blurred, mild, 0.01) < DETAIL_LIMIT
    assert detail_ratio(sharp, mild, 0.01) > 3 * DETAIL_LIMIT
    assert detail_ratio(clean, mild, 0.0) < DETAIL_LIMIT
    assert detail_ratio(sharp, np.ones((1, 1)), 0.01) == 0.0  # a kernel that removes nothing claims nothing


@pytest.mark.parametrize(("blurred", "kept"), [(True, True), (False, False)])
def test_a_mild_kernel_is_not_used_on_a_photo_with_the_detail_it_would_have_removed(photo, monkeypatch, blurred, kept):
    from deblur_core.classical import estimate as module

    mild = gaussian_kernel(1.1)  # spreads 1.1 px: a mild blur
    _fake_estimates(monkeypatch, {9: np.pad(mild, 1), 15: np.pad(mild, 4)})
    monkeypatch.setattr(module, "_held_out", lambda crop, kernel: -0.1)  # the held-out test alone would pass it
    image = degrade(photo, mild if blurred else np.ones((1, 1)), 0.01, np.random.default_rng(0), round8=True)
    found = estimate_kernel(image, max_size=15)
    assert found.scores["spread"] < module.MILD_SPREAD
    assert (found.scores["fine detail"] <= DETAIL_LIMIT) == kept
    assert found.fallback != kept and found.source == ("estimated" if kept else "no blur found")


def test_a_photo_too_small_for_a_separate_held_out_crop_is_cut_in_two():
    from deblur_core.classical.regions import _overlap, regions

    grey = np.random.default_rng(0).random((256, 300)).astype(np.float32)
    grey[:, 200:] = 0.5  # the edges are on the left
    whole, seen, held = regions(grey, None)
    assert whole == (0, 0, 256, 256)
    assert seen == (0, 0, 180, 256) and held == (180, 0, 120, 256)  # the edge-rich 60 % of the longer side, the rest
    assert _overlap(held, seen) == 0
    # A photo with room for both: the estimate sees the whole region, the held-out crop lies apart.
    big = np.random.default_rng(1).random((700, 900)).astype(np.float32)
    whole, seen, held = regions(big, None)
    assert seen == whole and whole[2] == 384 and held[2] == 256 and _overlap(held, whole) <= 0.25
    # A given region is cut in two the same way when the photo has no room beside it.
    whole, seen, held = regions(grey, (10, 20, 250, 200))
    assert whole == (10, 20, 250, 200) and seen == (10, 20, 150, 200) and held == (160, 20, 100, 200)


def test_a_kept_kernel_is_estimated_again_on_the_whole_region(photo, monkeypatch):
    # The 256-px photo is cut in two: the estimate and the test each see a part, the kernel comes from all of it.
    from deblur_core.classical import estimate as module

    shapes = []
    by_size = {9: motion_kernel(7, 30), 15: np.pad(motion_kernel(7, 30), 3)}

    def fake(crop, size, cancel, tick, settings=None, finest=None):
        shapes.append((size, crop.shape))
        return by_size[size]

    monkeypatch.setattr(module, "coarse_to_fine", fake)
    found = estimate_kernel(_blurred(photo, motion_kernel(7, 30)), max_size=15)
    assert not found.fallback and found.region == (0, 0, 256, 256)
    # Both sizes on a part of the photo, and the kept (smaller) size on all of it; that one may start before the
    # larger estimate on the part has, since it does not wait for the decision (see the next test).
    parts = sorted((size, shape) for size, shape in shapes if shape != (256, 256))
    assert [size for size, _ in parts] == [9, 15] and parts[0][1] == parts[1][1] and min(parts[0][1]) < 256
    assert [call for call in shapes if call[1] == (256, 256)] == [(9, (256, 256))]
    assert "estimated 9 px, refined" in found.candidates


@pytest.mark.parametrize("kept", ["smaller", "larger"])
def test_the_smaller_estimate_made_ahead_on_the_whole_region_is_used_only_if_the_smaller_is_kept(
    photo, monkeypatch, kept
):
    # On a photo cut in two, the smaller size's estimate on the whole region starts beside the larger estimate on
    # the part, before the decision. Kept larger, it is abandoned (its cancel check says stop) and the larger
    # size is estimated on the whole region instead; nothing of the abandoned one is used.
    import time

    from deblur_core.classical import estimate as module

    on_part = {11: np.pad(motion_kernel(9, 0), 1), 19: np.pad(motion_kernel(17, 0), 1)}
    on_whole = {11: np.pad(motion_kernel(7, 0), 2), 19: np.pad(motion_kernel(15, 0), 2)}
    abandoned = []

    def fake(crop, size, cancel, tick, settings=None, finest=None):
        if crop.shape != (256, 256):
            return on_part[size]
        if size == 11 and kept == "larger":  # made ahead: it runs until the decision abandons it
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if cancel():
                    abandoned.append(size)
                    raise Cancelled("abandoned")
                time.sleep(0.01)
        return on_whole[size]

    monkeypatch.setattr(module, "coarse_to_fine", fake)
    monkeypatch.setattr(module, "ESTIMATE_THREADS", 2)  # the speed-up needs a second thread, also on one core
    monkeypatch.setattr(module, "AGREEMENT", 0.0 if kept == "smaller" else 1.01)
    monkeypatch.setattr(module, "_held_out", lambda crop, kernel: 0.0)
    found = estimate_kernel(photo, max_size=19)
    size = 11 if kept == "smaller" else 19
    assert not found.fallback
    np.testing.assert_array_equal(found.candidates[f"estimated {size} px"], normalize_kernel(on_part[size]))
    np.testing.assert_array_equal(found.kernel, normalize_kernel(on_whole[size]))
    assert [name for name in found.candidates if name.endswith("refined")] == [f"estimated {size} px, refined"]
    assert abandoned == ([] if kept == "smaller" else [11])


def test_a_kernel_refused_by_the_held_out_test_is_kept_where_the_detail_it_removes_is_missing(photo, monkeypatch):
    # Both estimates agree on a 7-px motion blur, and the held-out test refuses it. On a photo that blur did blur, the
    # detail the kernel removes is missing (detail_ratio at most DETAIL_ACCEPT): the smaller estimate is kept, at a
    # low confidence. On the sharp photo, with the same estimates, the detail is there: left as it is.
    from deblur_core.classical import estimate as module

    kernel = motion_kernel(7, 30)
    _fake_estimates(monkeypatch, {9: np.pad(kernel, 1), 15: np.pad(kernel, 4)})
    monkeypatch.setattr(module, "_held_out", lambda crop, k: 1.0)
    found = estimate_kernel(_blurred(photo, kernel), max_size=15)
    assert not found.fallback and found.source == "estimated"
    assert found.scores["held-out energy"] == 1.0 and 0 < found.scores["fine detail"] <= module.DETAIL_ACCEPT
    assert found.confidence <= module.DETAIL_CONFIDENCE and found.confidence_words() == "low"
    assert _similarity(found.candidates["estimated 9 px"], kernel) > 0.99
    sharp = estimate_kernel(photo, max_size=15)
    assert sharp.fallback and sharp.source == "unsure" and sharp.scores["fine detail"] > module.DETAIL_ACCEPT


def test_a_kernel_that_does_not_explain_the_rest_of_the_photo_is_not_used(photo, monkeypatch):
    # Two sizes agree on a motion blur, but the photo is sharp: elsewhere it explains the photo far worse.
    _fake_estimates(monkeypatch, {9: motion_kernel(7, 30), 15: np.pad(motion_kernel(7, 30), 3)})
    found = estimate_kernel(photo, max_size=15)
    assert found.fallback and found.source == "unsure" and found.scores["held-out energy"] > 0.1


def test_a_blur_too_large_for_the_smaller_estimate_is_kept_from_the_larger_one(photo, monkeypatch):
    # The blur runs 21 px: the 19-px estimate cannot hold it and disagrees, the 31-px one explains the photo.
    long = motion_kernel(21, 20)
    _fake_estimates(monkeypatch, {19: motion_kernel(13, 20), 31: np.pad(long, 4)})
    found = estimate_kernel(_blurred(photo, long), max_size=31)
    assert not found.fallback and found.source == "estimated"
    np.testing.assert_array_equal(found.kernel, found.candidates["estimated 31 px, refined"])
    assert _similarity(found.kernel, long) > 0.9
    assert found.scores["agreement"] < 0.93 and found.scores["larger held-out energy"] <= 0.1
    assert 0.05 <= found.confidence <= 1.0
    # On a sharp photo the same larger kernel explains the held-out crop worse than no blur: not kept.
    sharp = estimate_kernel(_blurred(photo, np.ones((1, 1))), max_size=31)
    assert sharp.fallback and sharp.scores["larger held-out energy"] > 0.1


def test_a_small_larger_estimate_alone_is_never_kept(photo, monkeypatch):
    # Under LARGE_BLUR px the larger estimate alone is not evidence of a blur the smaller one could not hold.
    _fake_estimates(monkeypatch, {9: motion_kernel(5, 90), 15: motion_kernel(13, 20)})
    found = estimate_kernel(_blurred(photo, motion_kernel(13, 20)), max_size=15)
    assert found.fallback and "larger held-out energy" not in found.scores


def test_the_kept_kernel_is_refined_and_regains_a_faint_trail():
    # Camera shake often leaves a bright spot where the camera paused and a faint trail where it swept: here a
    # 5-px spot and an 8-px trail at 8 % of the spot's brightness, under the cut of the estimate's kernel step, on
    # a photo of flat patches. The estimate smears the spot and loses the trail; refined on the whole photo, with a
    # kernel step that allows no negative weight, it finds both.
    rng = np.random.default_rng(5)
    patches = np.full((256, 256, 3), 0.5, np.float32)
    for _ in range(60):
        (y, x), (h, w) = rng.integers(0, 230, 2), rng.integers(8, 60, 2)
        patches[y : y + h, x : x + w] = rng.uniform(0.1, 0.9, 3)
    true = np.zeros((15, 15), np.float32)
    true[7, 1:6] = 1.0
    true[7, 6:14] = 0.08
    true = normalize_kernel(true)
    found = estimate_kernel(_blurred(patches, true), max_size=25)
    assert not found.fallback
    np.testing.assert_array_equal(found.kernel, found.candidates["estimated 15 px, refined"])
    before = found.candidates["estimated 15 px"]
    assert _similarity(found.kernel, true) > 0.98 > _similarity(before, true) + 0.02
