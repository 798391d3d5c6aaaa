"""Tests for deblur_core.learned.architectures: shapes, parameter counts, the video U-Net's centre frame, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from deblur_core.learned.architectures import ARCHITECTURES, build, input_spec


def predict(model: keras.Model, batch: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict_on_batch(batch.astype(np.float32)))


def test_registry_names_the_three_architectures():
    assert {"unet", "autoencoder", "dbsrcnn"} <= set(ARCHITECTURES)
    for arch in ARCHITECTURES.values():
        assert arch.summary and callable(arch.builder)


@pytest.mark.parametrize(("height", "width"), [(16, 16), (24, 40), (48, 8)])
def test_unet_output_shape_equals_input_shape_for_multiples(height, width):
    model = build("unet", base_filters=4, depth=2)
    assert input_spec("unet", base_filters=4, depth=2)["multiple"] == 4
    out = predict(model, np.random.default_rng(0).uniform(0, 1, (2, height, width, 3)))
    assert out.shape == (2, height, width, 3)


def test_fresh_unet_is_the_identity_and_trained_weights_change_that():
    """The head is zero-initialised, so an untrained model returns its input unchanged."""
    model = build("unet", base_filters=4, depth=2)
    x = np.random.default_rng(1).uniform(0, 1, (1, 16, 24, 3)).astype(np.float32)
    np.testing.assert_allclose(predict(model, x), x, atol=1e-6)
    head = model.get_layer("head")
    head.set_weights([w + 0.01 for w in head.get_weights()])
    assert np.abs(predict(model, x) - x).max() > 1e-3


def test_video_unet_restores_the_middle_frame():
    model = build("unet", frames=3, base_filters=4, depth=2)
    spec = input_spec("unet", frames=3, base_filters=4, depth=2)
    assert spec["frames"] == 3 and spec["channels"] == 3
    assert model.input_shape == (None, None, None, 9) and model.output_shape == (None, None, None, 3)
    rng = np.random.default_rng(2)
    frames = [rng.uniform(0, 1, (1, 16, 16, 3)).astype(np.float32) for _ in range(3)]
    out = predict(model, np.concatenate(frames, axis=3))
    np.testing.assert_allclose(out, frames[1], atol=1e-6)
    assert np.abs(out - frames[0]).max() > 0.1  # not just any frame
    assert not model.get_layer("centre_frame").trainable


@pytest.mark.parametrize("frames", [0, 2])
def test_unet_refuses_an_even_frame_count(frames):
    with pytest.raises(ValueError, match="odd"):
        build("unet", frames=frames)


def test_unet_refuses_tiny_settings():
    with pytest.raises(ValueError, match="base_filters"):
        build("unet", base_filters=2)


@pytest.mark.parametrize(("height", "width"), [(37, 53), (16, 16), (9, 30)])
def test_dbsrcnn_keeps_any_size(height, width):
    model = build("dbsrcnn", channels=1, filters=8)
    out = predict(model, np.zeros((1, height, width, 1)))
    assert out.shape == (1, height, width, 1)


def test_dbsrcnn_has_about_106k_parameters():
    model = build("dbsrcnn", channels=1)
    assert 100_000 <= model.count_params() <= 110_000
    spec = input_spec("dbsrcnn", channels=1)
    assert spec["color"] == "y" and spec["scale"] == 3 and spec["fixed_size"] is None
    assert input_spec("dbsrcnn", channels=3)["color"] == "rgb"


def test_autoencoder_takes_a_fixed_128_input_and_stays_in_range():
    model = build("autoencoder")
    assert model.input_shape == (None, 128, 128, 3) and model.output_shape == (None, 128, 128, 3)
    assert input_spec("autoencoder")["fixed_size"] == [128, 128]
    extreme = np.random.default_rng(3).uniform(-20, 20, (1, 128, 128, 3))
    out = predict(model, extreme)
    assert out.min() >= 0.0 and out.max() <= 1.0
    small = build("autoencoder", image_size=32)
    assert small.input_shape == (None, 32, 32, 3)
    with pytest.raises(ValueError, match="multiple of 8"):
        build("autoencoder", image_size=100)


def test_build_reports_unknown_names_and_arguments():
    with pytest.raises(ValueError, match="Unknown architecture 'resnet'.*unet"):
        build("resnet")
    with pytest.raises(ValueError, match="does not accept"):
        build("unet", wings=2)
    with pytest.raises(ValueError, match="Unknown architecture"):
        input_spec("resnet")


@pytest.mark.parametrize(
    ("name", "kwargs", "shape"),
    [
        ("unet", {"frames": 3, "base_filters": 4, "depth": 2}, (1, 16, 16, 9)),
        ("dbsrcnn", {"channels": 1, "filters": 8}, (1, 15, 17, 1)),
        ("autoencoder", {"image_size": 32, "latent_channels": 4}, (1, 32, 32, 3)),
    ],
)
def test_keras_file_round_trip_with_safe_mode(tmp_path, name, kwargs, shape):
    model = build(name, **kwargs)
    rng = np.random.default_rng(4)
    # Random weights everywhere, so that a layer that failed to load would show.
    model.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) for w in model.get_weights()])
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)  # safe_mode stays at its default, True
    x = rng.uniform(0, 1, shape)
    np.testing.assert_allclose(predict(loaded, x), predict(model, x), atol=1e-6)
