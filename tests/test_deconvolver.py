"""The learned deconvolver's pieces: its input stack, its network, its training data and schedule."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from skimage import data as skdata

from deblur_core.classical import auto_nsr, estimate_noise_sigma, wiener
from deblur_core.degrade import degrade
from deblur_core.kernels import gaussian_kernel, motion_kernel, random_kernel
from deblur_core.learned.deconvolver import (
    INPUT_CHANNELS,
    NSR_FACTOR,
    SIGMA_SCALE,
    STRONG_FACTOR,
    WIDE_INPUT_CHANNELS,
    NetworkStack,
    data_consistency,
    network_input,
    reregularised,
    stack_ratio,
)
from deblur_core.metrics import psnr
from deblur_core.training.deconv_data import Pool, decode_batch, make_samples, perturb_kernel, produce
from deblur_core.training.deconv_train import EstimatedValidator, export, learning_rate, train, widened_weights
from deblur_core.training.scenes import SCENE_KINDS, drawn_scene


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return (skdata.astronaut()[100:260, 140:340] / 255.0).astype(np.float32)


def test_network_input_stacks_blurred_wiener_and_noise(photo):
    kernel = motion_kernel(9, 30)
    blurred = degrade(photo, kernel, 0.01, np.random.default_rng(0), round8=True)
    stack = network_input(blurred, kernel)
    assert stack.shape == photo.shape[:2] + (INPUT_CHANNELS,) and stack.dtype == np.float32
    np.testing.assert_array_equal(stack[..., :3], blurred)
    expected = wiener(blurred, kernel, nsr=NSR_FACTOR * auto_nsr(blurred, kernel))
    np.testing.assert_allclose(stack[..., 3:6], expected, atol=1e-6)
    sigma = estimate_noise_sigma(blurred)
    assert 0.007 < sigma < 0.013
    np.testing.assert_allclose(stack[..., 6], sigma * SIGMA_SCALE)


def test_the_wide_stack_adds_the_deconvolution_regularised_more(photo):
    """Channels 7-9 are Wiener at STRONG_FACTOR times the ratio, made from the sharper result by one filter: away from
    the borders (where the two handle the unknown outside differently) within a few grey levels of a second solve."""
    kernel = motion_kernel(9, 30)
    blurred = degrade(photo, kernel, 0.01, np.random.default_rng(0), round8=True)
    stack = network_input(blurred, kernel, channels=WIDE_INPUT_CHANNELS)
    assert stack.shape == photo.shape[:2] + (WIDE_INPUT_CHANNELS,)
    np.testing.assert_array_equal(stack[..., :7], network_input(blurred, kernel))
    ratio = NSR_FACTOR * auto_nsr(blurred, kernel)
    solved = wiener(blurred, kernel, nsr=STRONG_FACTOR * ratio)
    inner = (slice(12, -12), slice(12, -12))
    assert np.abs(stack[..., 7:10] - solved)[inner].mean() < 2 / 255
    # Smoother: less pixel-to-pixel wiggle than the sharper result.
    wiggle = [np.abs(np.diff(stack[..., c : c + 3], axis=1)).mean() for c in (3, 7)]
    assert wiggle[1] < 0.8 * wiggle[0]
    # Factor 1 changes nothing.
    np.testing.assert_allclose(reregularised(stack[..., 3:6], kernel, ratio, 1.0), stack[..., 3:6], atol=1e-5)
    with pytest.raises(ValueError, match="7 or 10 channels"):
        network_input(blurred, kernel, channels=8)


def test_a_widened_network_starts_out_as_the_narrow_one(photo):
    from deblur_core.learned.architectures import deconv_unet

    narrow = deconv_unet(base_filters=8, depth=2, bottleneck_blocks=1)
    rng = np.random.default_rng(0)
    narrow.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) for w in narrow.get_weights()])
    wide = deconv_unet(base_filters=8, depth=2, bottleneck_blocks=1, input_channels=WIDE_INPUT_CHANNELS)
    wide.set_weights(widened_weights(narrow, wide))
    stack = network_input(photo[:64, :96], gaussian_kernel(1.5), channels=WIDE_INPUT_CHANNELS)
    np.testing.assert_allclose(
        np.asarray(wide.predict_on_batch(stack[None])),
        np.asarray(narrow.predict_on_batch(stack[None, ..., :7])),
        atol=1e-5,
    )
    with pytest.raises(ValueError, match="Cannot start"):
        widened_weights(wide, deconv_unet(base_filters=12, depth=2, bottleneck_blocks=1))


def test_the_consistency_step_gives_back_an_unblurred_photo_and_mends_what_the_kernel_keeps(photo):
    """With the identity kernel the photo is its own best answer; with a blur, the step restores the
    frequencies the kernel passes and leaves the ones it wipes out to the network."""
    rng = np.random.default_rng(5)
    smeared = np.clip(photo + rng.normal(0, 0.03, photo.shape), 0, 1).astype(np.float32)  # a "network" gone wrong
    one = np.ones((1, 1), np.float32)
    back = data_consistency(photo, smeared, one, sigma=0.002)
    assert psnr(photo, back) > psnr(photo, smeared) + 20
    assert psnr(photo, data_consistency(photo, photo, one, sigma=0.01)) > 60  # a right answer stays put

    kernel = gaussian_kernel(1.5)
    blurred = degrade(photo, kernel, 0.0, rng)
    wrong = np.clip(photo + 0.05 * (rng.uniform(size=photo.shape) > 0.5), 0, 1).astype(np.float32)  # off by a bias
    mended = data_consistency(blurred, wrong, kernel, sigma=0.002)
    assert psnr(photo, mended) > psnr(photo, wrong) + 3
    assert mended.shape == photo.shape and mended.dtype == np.float32


def test_network_input_refuses_a_missing_or_bad_kernel(photo):
    with pytest.raises(ValueError, match="needs the blur kernel"):
        network_input(photo, None)
    with pytest.raises(ValueError, match="negative"):
        network_input(photo, np.array([[0.5, -0.2, 0.7]], np.float32))


def test_untrained_network_returns_the_wiener_channels(photo):
    from deblur_core.learned.architectures import DECONV_INPUT_CHANNELS, deconv_unet

    assert DECONV_INPUT_CHANNELS == INPUT_CHANNELS
    model = deconv_unet()
    stack = network_input(photo[:64, :96], gaussian_kernel(1.5))
    out = np.asarray(model.predict_on_batch(stack[None]))[0]
    np.testing.assert_allclose(out, stack[..., 3:6], atol=1e-6)


def test_perturbed_kernels_are_valid_and_mostly_wrong():
    changed = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        _, kernel = random_kernel(rng)
        wrong = perturb_kernel(kernel, rng)
        assert wrong.dtype == np.float32 and wrong.ndim == 2 and wrong.shape[0] % 2 == 1
        assert wrong.min() >= 0 and abs(float(wrong.sum()) - 1) < 1e-5
        size = max(kernel.shape[0], wrong.shape[0])
        a = np.pad(kernel, (size - kernel.shape[0]) // 2)
        b = np.pad(wrong, (size - wrong.shape[0]) // 2)
        changed += np.abs(a - b).sum() > 0.02
    # A perturbation can be a no-op (points dropped from a kernel too small to lose them): rarely.
    assert changed >= 36


def test_samples_round_trip_through_the_pool(tmp_path, photo):
    rng = np.random.default_rng(3)
    samples = make_samples(photo, rng, patch=32, count=5)
    assert samples["blurred"].shape == (5, 32, 32, 3) and samples["blurred"].dtype == np.uint8
    stack = decode_batch(samples["blurred"], samples["deconvolved"], samples["sigma"])
    assert stack.shape == (5, 32, 32, INPUT_CHANNELS)
    produce(
        [photo, photo[::-1]],
        tmp_path,
        seed=1,
        patch=32,
        per_photo=4,
        shard_size=8,
        max_shards=2,
        stop_after=3,
        log=lambda _t: None,
    )
    shards = sorted(p.name for p in tmp_path.glob("shard-*.npz"))
    assert shards == ["shard-000001.npz", "shard-000002.npz"], "the oldest shard is dropped"
    x, y = Pool(tmp_path, np.random.default_rng(0)).batch(6)
    assert x.shape == (6, 32, 32, INPUT_CHANNELS) and y.shape == (6, 32, 32, 3)
    assert x.min() >= 0 and x[..., :6].max() <= 1 and y.min() >= 0 and y.max() <= 1
    # The wide stack's samples carry its fourth part, and a pool mixing the two widths is refused.
    wide = make_samples(photo, np.random.default_rng(3), patch=32, count=5, channels=WIDE_INPUT_CHANNELS)
    np.testing.assert_array_equal(wide["deconvolved"], samples["deconvolved"])
    decoded = decode_batch(wide["blurred"], wide["deconvolved"], wide["sigma"], wide["strong"])
    assert decoded.shape == (5, 32, 32, WIDE_INPUT_CHANNELS)
    np.savez(tmp_path / "shard-000003.npz", **wide)
    mixed = Pool(tmp_path, np.random.default_rng(0))
    with pytest.raises(ValueError, match="mix the 7- and 10-channel"):
        for _ in range(20):
            mixed.batch(6)


@pytest.mark.parametrize("fallback", [False, True])
def test_samples_can_carry_the_estimators_own_kernel(photo, monkeypatch, fallback):
    # With p_estimated=1 every blurred photo is handed what the blind estimator finds in it, deconvolved the way an
    # estimated kernel is at test time; where the estimator finds nothing usable, a perturbed kernel instead.
    from deblur_core.classical import estimate
    from deblur_core.learned import deconvolver
    from deblur_core.training import deconv_data

    found = motion_kernel(7, 45)
    estimates, calls = [], []
    monkeypatch.setattr(
        estimate,
        "estimate_kernel",
        lambda image: estimates.append(image) or SimpleNamespace(kernel=found, fallback=fallback),
    )
    real = deconv_data.network_input
    monkeypatch.setattr(
        deconv_data,
        "network_input",
        lambda b, k, nsr_factor, **kw: calls.append((k, nsr_factor)) or real(b, k, nsr_factor=nsr_factor, **kw),
    )
    monkeypatch.setattr(deconv_data, "P_IDENTITY", 0.0)  # every photo blurred
    rng = np.random.default_rng(4)
    for _ in range(4):
        samples = make_samples(photo, rng, patch=32, count=2, p_estimated=1.0)
        kernel, factor = calls[-1]
        assert samples["wrong"].all(), "the estimated or perturbed kernel counts as a wrong one"
        if fallback:
            assert not samples["estimated"].any() and factor == deconvolver.NSR_FACTOR
        else:
            assert samples["estimated"].all() and factor == deconvolver.ESTIMATED_NSR_FACTOR
            np.testing.assert_array_equal(kernel, found)
    assert estimates, "the estimator was asked"


def test_samples_marked_approximate_are_deconvolved_so_and_mostly_wrong(photo, monkeypatch):
    # --p-approximate: a share of the photos is deconvolved the way a kernel marked approximate is at test time; those
    # kernels are wrong more often than the rest, and a third of all kernels stay wrong.
    from deblur_core.learned import deconvolver
    from deblur_core.training import deconv_data

    rng = np.random.default_rng(5)
    drawn = [deconv_data.sample_degradation(rng, 0.0, 0.4) for _ in range(6000)]
    marked = [d for d in drawn if d["approximate"]]
    assert 0.37 < len(marked) / len(drawn) < 0.43
    assert 0.55 < np.mean([d["wrong"] for d in marked]) < 0.65
    assert 0.31 < np.mean([d["wrong"] for d in drawn]) < 0.36
    # Without the option the draws are the ones a run before it made (no extra random number is taken).
    before = [deconv_data.sample_degradation(np.random.default_rng(6)) for _ in range(3)]
    again = [deconv_data.sample_degradation(np.random.default_rng(6), 0.0, 0.0) for _ in range(3)]
    assert [d["wrong"] for d in before] == [d["wrong"] for d in again] and not any(d["approximate"] for d in again)
    calls = []
    real = deconv_data.network_input
    monkeypatch.setattr(
        deconv_data,
        "network_input",
        lambda b, k, nsr_factor, **kw: calls.append(nsr_factor) or real(b, k, nsr_factor=nsr_factor, **kw),
    )
    rng = np.random.default_rng(7)
    for _ in range(12):
        samples = make_samples(photo, rng, patch=32, count=2, p_approximate=0.5)
        expected = deconvolver.ESTIMATED_NSR_FACTOR if samples["approximate"].all() else deconvolver.NSR_FACTOR
        assert calls[-1] == expected
    assert deconvolver.NSR_FACTOR in calls and deconvolver.ESTIMATED_NSR_FACTOR in calls


def test_a_run_for_exact_kernels_draws_no_wrong_ones(photo, tmp_path):
    # --p-wrong 0: the network meant for kernels known exactly never sees a perturbed kernel; the default stays a third.
    from deblur_core.training import deconv_data
    from deblur_core.training.deconv_train import produce_main

    none = [deconv_data.sample_degradation(np.random.default_rng([8, i]), p_wrong=0.0) for i in range(400)]
    assert not any(d["wrong"] for d in none)
    third = [deconv_data.sample_degradation(np.random.default_rng([8, i])) for i in range(3000)]
    assert 0.30 < np.mean([d["wrong"] for d in third]) < 0.37
    rng = np.random.default_rng(9)
    assert not any(make_samples(photo, rng, patch=32, count=2, p_wrong=0.0)["wrong"].any() for _ in range(8))
    with pytest.raises(SystemExit, match="--p-wrong must be a share from 0 to 1"):
        produce_main(tmp_path / "run", 0, 4, p_wrong=1.5)
    # Such a run keeps the step best with true kernels, where another keeps the best mean with wrong ones too.
    from deblur_core.training.deconv_train import _score

    entry = {"psnr": 28.0, "perturbed": 25.0}
    assert _score(entry) == 26.5 and _score(entry, exact_only=True) == 28.0


class _WienerOnly:
    """Stands in for the network: its "result" is the Wiener deconvolution it is handed."""

    def predict_on_batch(self, x):
        return x[..., 3:6]


def test_the_estimated_kernel_validator_scores_what_the_blind_method_returns(photo, tmp_path, monkeypatch):
    """A blurred photo is scored through the estimator's own kernel, a photo it leaves alone as the photo itself,
    and the estimates are read back from the cache instead of being made again."""
    from deblur_core.classical import estimate as estimate_module

    rng = np.random.default_rng(3)
    blurred = degrade(photo, gaussian_kernel(1.5), 0.005, rng, round8=True)
    noisy = degrade(photo, np.ones((1, 1), np.float32), 0.01, rng, round8=True)
    cases = [{"sharp": photo, "blurred": blurred}, {"sharp": photo, "blurred": noisy}]
    found = SimpleNamespace(fallback=False, kernel=gaussian_kernel(1.4))
    alone = SimpleNamespace(fallback=True, kernel=np.ones((1, 1), np.float32))
    answers = iter([found, alone])
    monkeypatch.setattr(estimate_module, "estimate_kernel", lambda image, **kw: next(answers))
    cache = tmp_path / "estimated.json"
    validator = EstimatedValidator(cases, cache)
    assert validator.found == 1 and cache.is_file()
    score = validator(_WienerOnly())
    restored = score * 2 - psnr(photo, noisy)  # the photo left alone scores as it is: the method returns it unchanged
    assert restored > psnr(photo, blurred) + 1.0 and validator.last_worse == 0

    def no_estimates(image, **kw):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(estimate_module, "estimate_kernel", no_estimates)
    again = EstimatedValidator(cases, cache)
    assert again.found == 1 and again(_WienerOnly()) == pytest.approx(score)
    np.testing.assert_allclose(again.kernels[0], found.kernel, atol=1e-6)


def test_learning_rate_warms_up_then_decays_to_the_floor():
    assert learning_rate(0, 1000, 1e-3, warmup=100) == pytest.approx(1e-5)
    assert learning_rate(99, 1000, 1e-3, warmup=100) == pytest.approx(1e-3)
    middle = learning_rate(550, 1000, 1e-3, warmup=100, floor=0.0)
    assert middle == pytest.approx(5e-4, rel=1e-6)
    assert learning_rate(1000, 1000, 1e-3, warmup=100, floor=1e-5) == pytest.approx(1e-5)


@pytest.mark.slow
def test_training_resumes_from_its_checkpoint(tmp_path, photo):
    run = tmp_path / "run"
    produce([photo], run / "pool", seed=0, patch=32, per_photo=4, shard_size=8, stop_after=1, log=lambda _t: None)
    held_out = [photo[:64, :96]]
    train(run, steps=4, batch=2, val_every=4, ckpt_every=2, held_out=held_out)
    state = json.loads((run / "state.json").read_text())
    assert state["step"] == 4 and [h["step"] for h in state["history"]] == [0, 4]
    assert (run / "checkpoint.keras").exists() and (run / "best.keras").exists()
    train(run, steps=6, batch=2, val_every=6, ckpt_every=2, held_out=held_out)
    log = (run / "train.log").read_text()
    assert "resumed at step 4" in log
    state = json.loads((run / "state.json").read_text())
    assert state["step"] == 6 and [h["step"] for h in state["history"]] == [0, 4, 6]
    # A new run can start from a saved model's weights: its first validation is that model's.
    fresh = tmp_path / "fresh"
    (fresh / "pool").mkdir(parents=True)
    for shard in (run / "pool").glob("shard-*.npz"):
        (fresh / "pool" / shard.name).write_bytes(shard.read_bytes())
    train(
        fresh,
        steps=1,
        batch=2,
        val_every=1,
        held_out=held_out,
        init=run / "checkpoint.keras",
        estimated_val=1,
        loss="mse",
    )
    fresh_state = json.loads((fresh / "state.json").read_text())
    first = fresh_state["history"][0]
    assert first["step"] == 0 and first["psnr"] == pytest.approx(state["history"][-1]["psnr"], abs=1e-4)
    # Asked to, the run also scores the blind method on the held-out photos, and picks its best step by both.
    assert {"estimated", "estimated_worse"} <= set(first) and (fresh / "estimated-validation.json").is_file()
    assert fresh_state["validation"]["estimated"]["photos"] == 1 and "estimated" in fresh_state["best"]
    scored = json.loads(export(fresh, tmp_path / "fresh.keras", scene_count=2).with_suffix(".json").read_text())
    assert scored["validation"]["estimated_kernels"]["psnr"] == pytest.approx(
        fresh_state["best"]["estimated"], abs=0.01
    )
    # Each card names the loss its run was trained with: the default, or the one asked for.
    assert scored["training"]["loss"] == "mean squared error"
    # The export writes the model with its card: the learning curve and the held-out drawn scenes.
    out = export(run, tmp_path / "exported.keras", scene_count=2)
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["history"] == state["history"] and card["training"]["loss"] == "mean absolute error"
    assert card["validation"]["scenes"]["count"] == 2 and card["validation"]["scenes"]["wiener_psnr"] > 10


def _shipped_registry():
    from deblur_core.learned.registry import Registry
    from deblur_core.settings import SHIPPED_MODELS_DIR

    registry = Registry(SHIPPED_MODELS_DIR, SHIPPED_MODELS_DIR / "_no_user_models")
    if "deconv-unet" not in registry.names():
        pytest.fail("models/deconv-unet.keras is missing")
    return registry


def test_the_method_restores_with_the_given_kernel_in_three_stages(photo):
    from deblur_core.restoration import restore

    kernel = motion_kernel(11, 45)
    blurred = degrade(photo, kernel, 0.01, np.random.default_rng(1), round8=True)
    result = restore(blurred, "deconvolver", kernel=kernel, registry=_shipped_registry())
    assert result.image.shape == photo.shape and result.image.dtype == np.float32
    assert result.kernel_source == "given" and result.kernel.shape == kernel.shape
    assert [s.name for s in result.stages] == ["Wiener deconvolution", "Refining network", "Consistency with the photo"]


@pytest.mark.parametrize("method", ["default", "deconv-unet"])
def test_default_and_the_model_name_with_a_kernel_mean_the_deconvolver(photo, method):
    from deblur_core.restoration import resolve_method, restore

    registry = _shipped_registry()
    assert resolve_method(method, True, registry) == "deconvolver"
    kernel = gaussian_kernel(2.0)
    blurred = degrade(photo, kernel, 0.01, np.random.default_rng(2), round8=True)
    result = restore(blurred, method, kernel=kernel, registry=registry)
    assert result.kernel_source == "given" and result.stages[0].name == "Wiener deconvolution"
    assert resolve_method("default", False, registry) == "default", "without a kernel, default stays blind"


class _NamingRegistry:
    """The shipped registry, noting the name of every model a restoration runs."""

    def __init__(self, registry, hide: tuple[str, ...] = ()):
        self.registry, self.hide, self.ran = registry, hide, []

    def names(self):
        return [n for n in self.registry.names() if n not in self.hide]

    def resolve(self, name):
        return self.registry.resolve(name)

    def runner(self, entry):
        self.ran.append(entry.name)
        return self.registry.runner(entry)


def test_a_kernel_known_exactly_runs_the_network_trained_for_it(photo):
    # deconv-unet-exact was trained without wrong kernels: the deconvolver runs it with a kernel known exactly, and
    # deconv-unet with one marked approximate or estimated; without the exact network installed, deconv-unet always.
    from deblur_core.restoration import restore_image

    shipped = _shipped_registry()
    if "deconv-unet-exact" not in shipped.names():
        pytest.fail("models/deconv-unet-exact.keras is missing")
    kernel = gaussian_kernel(1.6)
    blurred = degrade(photo, kernel, 0.01, np.random.default_rng(4), round8=True)
    registry = _NamingRegistry(shipped)
    exact = restore_image(blurred, "deconvolver", kernel=kernel, registry=registry)
    restore_image(blurred, "deconvolver", kernel=kernel, registry=registry, kernel_estimated=True)
    restore_image(blurred, "default", kernel=kernel, registry=registry)
    assert registry.ran == ["deconv-unet-exact", "deconv-unet", "deconv-unet-exact"]
    without = _NamingRegistry(shipped, hide=("deconv-unet-exact",))
    other = restore_image(blurred, "deconvolver", kernel=kernel, registry=without)
    assert without.ran == ["deconv-unet"] and np.abs(exact - other).mean() > 1e-4
    assert psnr(photo, exact) > psnr(photo, wiener(blurred, kernel)) + 0.3


def test_a_kernel_marked_approximate_is_leaned_on_less(photo):
    # restore(..., kernel_estimated=True): the Wiener step regularised more and the consistency step trusting the
    # network more (method_settings); with a wrong kernel that scores better, with the true one a little worse.
    from deblur_core.learned.deconvolver import method_settings
    from deblur_core.restoration import restore_image

    registry = _shipped_registry()
    exact, approximate = method_settings(False), method_settings(True)
    assert approximate[0] > exact[0] and approximate[1] < exact[1]
    kernel = motion_kernel(13, 30)
    blurred = degrade(photo, kernel, 0.01, np.random.default_rng(3), round8=True)
    wrong = perturb_kernel(kernel, np.random.default_rng(11))
    as_exact = restore_image(blurred, "deconvolver", kernel=wrong, registry=registry)
    as_guess = restore_image(blurred, "deconvolver", kernel=wrong, registry=registry, kernel_estimated=True)
    assert np.abs(as_exact - as_guess).mean() > 1e-3
    # Wiener has no such mode: the flag leaves it alone.
    np.testing.assert_array_equal(
        restore_image(blurred, "wiener", kernel=wrong),
        restore_image(blurred, "wiener", kernel=wrong, kernel_estimated=True),
    )


def test_the_method_refuses_a_missing_or_invalid_kernel(photo):
    from deblur_core.restoration import restore

    registry = _shipped_registry()
    with pytest.raises(ValueError, match="Learned deconvolver needs the blur kernel"):
        restore(photo, "deconvolver", registry=registry)
    with pytest.raises(ValueError, match="sums to"):
        restore(photo, "deconvolver", kernel=np.full((3, 3), 0.5, np.float32), registry=registry)


@pytest.mark.parametrize("kind", SCENE_KINDS)
def test_drawn_scenes_are_new_sharp_pictures_of_their_kind(kind):
    a = drawn_scene(np.random.default_rng(1), 128, kind)
    again = drawn_scene(np.random.default_rng(1), 128, kind)
    other = drawn_scene(np.random.default_rng(2), 128, kind)
    assert a.shape == (128, 128, 3) and a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, again)
    assert np.abs(a - other).mean() > 0.01, "another seed draws another scene"
    # Drawn content has strong edges somewhere: the largest step between neighbours is big.
    step = max(np.abs(np.diff(a, axis=0)).max(), np.abs(np.diff(a, axis=1)).max())
    assert step > 0.15


def test_drawn_scenes_refuse_bad_arguments():
    with pytest.raises(ValueError, match="64 pixels"):
        drawn_scene(np.random.default_rng(0), 32)
    with pytest.raises(ValueError, match="Unknown scene kind"):
        drawn_scene(np.random.default_rng(0), 128, "clouds")


@pytest.mark.parametrize("channels", [INPUT_CHANNELS, WIDE_INPUT_CHANNELS])
def test_the_lazy_stack_holds_the_same_values_one_part_at_a_time(photo, channels):
    kernel = motion_kernel(9, 30)
    blurred = degrade(photo, kernel, 0.01, np.random.default_rng(0), round8=True)
    sigma = estimate_noise_sigma(blurred)
    whole = network_input(blurred, kernel, sigma, channels=channels)
    lazy = network_input(blurred, kernel, sigma, channels=channels, lazy=True)
    assert isinstance(lazy, NetworkStack) and lazy.shape == whole.shape and lazy.ndim == 3
    np.testing.assert_allclose(np.asarray(lazy), whole, atol=1e-6)
    part = (slice(20, 70), slice(33, 120))
    np.testing.assert_allclose(lazy[part], whole[part], atol=1e-6)
    # The ratio handed in is the one the stack would compute itself.
    given = network_input(blurred, kernel, sigma, channels=channels, ratio=stack_ratio(blurred, kernel, sigma))
    np.testing.assert_array_equal(given, whole)
    with pytest.raises(ValueError, match="kernel"):
        stack_ratio(blurred, None, sigma)
