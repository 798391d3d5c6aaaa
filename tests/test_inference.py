"""Tests for deblur_core.learned (registry, runner, tiling) and restore(): tiles, padding, models, the registry."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from scipy import ndimage

from deblur_core.degrade import blur
from deblur_core.image import rgb_to_ycbcr, ycbcr_to_rgb
from deblur_core.kernels import gaussian_kernel
from deblur_core.learned.architectures import build, input_spec
from deblur_core.learned.registry import Registry, check_model_name, get_runner, save_model
from deblur_core.learned.runner import ModelRunner
from deblur_core.learned.tiling import crop_to, pad_to_multiple, tiled_apply
from deblur_core.metrics import psnr
from deblur_core.progress import Cancelled
from deblur_core.restoration import restore_image

TINY = {"base_filters": 4, "depth": 2}


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Seeded RGB test picture with edges, float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 1, (height // 6 + 2, width // 6 + 2, 3))
    image = ndimage.zoom(small, (6, 6, 1), order=1)[:height, :width]
    image[height // 3 : height // 2, width // 5 : width // 2] = rng.uniform(0, 1, 3)
    return np.clip(image, 0, 1).astype(np.float32)


def identity(batch: np.ndarray) -> np.ndarray:
    return batch


def randomised(model, seed: int = 0, scale: float = 0.1):
    """The model with small random weights everywhere (a fresh U-Net is exactly the identity)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, scale, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def tiny_card(**extra) -> dict:
    return {"architecture": "unet", "arch_args": dict(TINY), "description": "a tiny test model", **extra}


@pytest.fixture(scope="module")
def tiny_model():
    return randomised(build("unet", **TINY))


# --------------------------------------------------------------------------------------------------
# Padding and tiles
# --------------------------------------------------------------------------------------------------


def test_pad_to_multiple_mirrors_and_crop_to_undoes_it():
    image = texture(37, 53)
    padded, size = pad_to_multiple(image, 8)
    assert padded.shape == (40, 56, 3) and size == (37, 53)
    np.testing.assert_array_equal(padded[:37, :53], image)
    np.testing.assert_array_equal(padded[37, :53], image[36])  # mirrored, edge pixel repeated
    np.testing.assert_array_equal(padded[:37, 53], image[:, 52])
    np.testing.assert_array_equal(crop_to(padded, size), image)
    same, _ = pad_to_multiple(image, 1)
    assert same is image
    tiny = texture(5, 6)
    big, size = pad_to_multiple(tiny, 4, (32, 32))
    assert big.shape == (32, 32, 3) and size == (5, 6)
    np.testing.assert_array_equal(crop_to(big, size), tiny)


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap", "multiple"),
    [
        (37, 53, 16, 4, 1),
        (37, 53, 32, 8, 8),
        (129, 200, 64, 16, 4),
        (255, 255, 100, 24, 16),
        (61, 45, 512, 32, 8),  # one tile
        (13, 300, 48, 20, 1),
    ],
)
def test_tiled_identity_has_no_seams(height, width, tile, overlap, multiple):
    image = texture(height, width, seed=height)
    shapes = []

    def record(batch):
        shapes.append(batch.shape)
        return batch.copy()

    out = tiled_apply(image, record, tile=tile, overlap=overlap, multiple=multiple)
    assert out.shape == image.shape and out.dtype == np.float32
    assert np.max(np.abs(out - image)) < 1e-4
    assert len(set(shapes)) == 1, "every tile has the same shape"
    _, th, tw, _ = shapes[0]
    assert th % multiple == 0 and tw % multiple == 0


def test_tiled_apply_reports_progress_and_can_be_cancelled():
    image = texture(70, 90)
    calls = []
    tiled_apply(image, identity, tile=32, overlap=8, on_progress=lambda d, t, info: calls.append((d, t)))
    assert len(calls) > 1 and calls[-1][0] == calls[-1][1] == len(calls)
    with pytest.raises(Cancelled):
        tiled_apply(image, identity, tile=32, overlap=8, cancel=lambda: True)
    with pytest.raises(ValueError, match="overlap"):
        tiled_apply(image, identity, tile=32, overlap=16)


def test_tiled_apply_handles_other_output_channels():
    image = texture(40, 50)
    out = tiled_apply(image, lambda b: b[..., :1] * 2, tile=16, overlap=4, out_channels=1)
    assert out.shape == (40, 50, 1)
    np.testing.assert_allclose(out[..., 0], image[..., 0] * 2, atol=1e-4)


def test_tiled_model_matches_untiled_within_0_05_db(tiny_model):
    sharp = texture(100, 124, seed=7)
    blurred = blur(sharp, gaussian_kernel(1.5))

    def predict(batch):
        return np.asarray(tiny_model.predict_on_batch(batch.astype(np.float32)))

    padded, size = pad_to_multiple(blurred, 4)
    whole = np.clip(crop_to(predict(padded[None])[0], size), 0, 1)
    tiled = np.clip(tiled_apply(blurred, predict, tile=64, overlap=16, multiple=4), 0, 1)
    assert np.abs(whole - blurred).max() > 0.01, "the randomised model does change the image"
    assert abs(psnr(sharp, tiled) - psnr(sharp, whole)) < 0.05
    assert psnr(whole, tiled) > 40


# --------------------------------------------------------------------------------------------------
# ModelRunner
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("height", "width"), [(37, 53), (255, 255)])
def test_runner_output_shape_equals_input_shape(tiny_model, height, width):
    runner = ModelRunner(tiny_model, {"input": input_spec("unet", **TINY)}, tile=96)
    out = runner(texture(height, width))
    assert out.shape == (height, width, 3) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_runner_from_four_threads_gives_identical_results(tiny_model):
    runner = ModelRunner(tiny_model, {"input": input_spec("unet", **TINY)}, tile=48)
    images = [texture(70, 90, seed=s) for s in range(4)]
    expected = [runner(img) for img in images]
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(i):
        try:
            barrier.wait()
            results[i] = runner(images[i])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    for i in range(4):
        np.testing.assert_array_equal(results[i], expected[i])


def test_runner_refuses_the_wrong_number_of_frames(tiny_model):
    runner = ModelRunner(tiny_model, {"input": input_spec("unet", **TINY)})
    with pytest.raises(ValueError, match="1 frame"):
        runner(np.zeros((16, 16, 9), np.float32))


def test_luminance_model_with_upscale():
    model = randomised(build("dbsrcnn", channels=1, filters=4, scale=3), scale=0.05)
    runner = ModelRunner(model, {"input": input_spec("dbsrcnn", channels=1, filters=4, scale=3)})
    image = texture(21, 30)
    assert runner(image).shape == (21, 30, 3)
    assert runner(image, upscale=True).shape == (63, 90, 3)


def test_fixed_size_model_is_tiled_to_any_size():
    model = build("autoencoder", image_size=32, latent_channels=4)
    sizes = []
    original = model.predict_on_batch

    class Spy:
        def predict_on_batch(self, batch):
            sizes.append(batch.shape[1:3])
            return original(batch)

    runner = ModelRunner(Spy(), {"input": input_spec("autoencoder", image_size=32, latent_channels=4)})
    out = runner(texture(50, 70))
    assert out.shape == (50, 70, 3)
    assert set(sizes) == {(32, 32)}
    assert runner(texture(20, 12)).shape == (20, 12, 3)


def test_ycbcr_round_trip():
    image = texture(20, 20)
    np.testing.assert_allclose(ycbcr_to_rgb(rgb_to_ycbcr(image)), image, atol=1e-5)
    white = rgb_to_ycbcr(np.ones((1, 1, 3), np.float32))[0, 0]
    np.testing.assert_allclose(white, [235 / 255, 128 / 255, 128 / 255], atol=1e-4)


# --------------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path, tiny_model):
    """A shipped folder with a recommended model and a user folder with one model of the user's."""
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    save_model(tiny_model, shipped / "base.keras", tiny_card(recommended=True))
    save_model(tiny_model, user / "mine.keras", tiny_card())
    return Registry(shipped_dir=shipped, user_dir=user), shipped, user


def test_registry_lists_resolves_default_and_loads(folders, tiny_model):
    registry, shipped, _ = folders
    entries = registry.list()
    assert [(e.name, e.shipped) for e in entries] == [("base", True), ("mine", False)]
    assert registry.get("default").name == "base"
    entry = registry.get("mine")
    assert entry.card["parameters"] == tiny_model.count_params()
    assert entry.input["multiple"] == 4 and entry.fits_still_image() and entry.description == "a tiny test model"
    card = json.loads((shipped / "base.json").read_text())
    assert {"date", "versions", "parameters", "input"} <= set(card)
    x = texture(16, 16)[None]
    np.testing.assert_allclose(registry.load(entry).predict_on_batch(x), tiny_model.predict_on_batch(x), atol=1e-6)
    assert registry.load(entry) is registry.load(entry), "loaded once and cached"
    with pytest.raises(ValueError, match="no model called 'nope'.*base.*mine.*wiener"):
        registry.get("nope")


def test_registry_without_a_recommended_model_says_so(tmp_path, tiny_model):
    save_model(tiny_model, tmp_path / "user" / "mine.keras", tiny_card())
    registry = Registry(shipped_dir=tmp_path / "shipped", user_dir=tmp_path / "user")
    with pytest.raises(ValueError, match="No default model is installed.*mine"):
        registry.get("default")


def test_user_model_never_hides_a_shipped_one(folders, tiny_model):
    registry, _, user = folders
    save_model(tiny_model, user / "base.keras", tiny_card(description="an impostor"))
    bases = [e for e in registry.list() if e.name == "base"]
    assert len(bases) == 1 and bases[0].shipped


def test_rename_and_delete_user_models_only(folders):
    registry, _, user = folders
    renamed = registry.rename("mine", "renamed")
    assert renamed.name == "renamed" and (user / "renamed.keras").is_file() and (user / "renamed.json").is_file()
    assert not (user / "mine.keras").exists() and not (user / "mine.json").exists()
    assert json.loads((user / "renamed.json").read_text())["name"] == "renamed"
    assert registry.names() == ["base", "renamed"]
    with pytest.raises(ValueError, match="read-only"):
        registry.rename("base", "other")
    with pytest.raises(ValueError, match="read-only"):
        registry.delete("base")
    with pytest.raises(ValueError, match="already exists"):
        registry.rename("renamed", "base")
    with pytest.raises(ValueError, match="reserved"):
        registry.rename("renamed", "wiener")
    registry.delete("renamed")
    assert registry.names() == ["base"]
    assert list(user.iterdir()) == []


@pytest.mark.parametrize(
    "name", ["default", "wiener", "Richardson-Lucy", "none", "bad name", "../escape", "x.keras", ""]
)
def test_reserved_and_malformed_names_are_refused(name):
    with pytest.raises(ValueError):
        check_model_name(name)


# Keras warns about every layer that a mismatched weights file cannot fill, before it raises.
@pytest.mark.filterwarnings("ignore:Skipping nested container:UserWarning")
@pytest.mark.filterwarnings("ignore:__array__ implementation")
def test_import_weights_validates_before_saving(folders, tiny_model, tmp_path):
    registry, _, user = folders
    weights_path = tmp_path / "w.weights.h5"
    tiny_model.save_weights(weights_path)
    data = weights_path.read_bytes()
    entry = registry.import_weights("imported", data, tiny_card())
    assert entry.is_weights_only and "imported" in registry.names()
    x = texture(16, 16)[None]
    loaded = registry.load(registry.get("imported"))
    np.testing.assert_allclose(loaded.predict_on_batch(x), tiny_model.predict_on_batch(x), atol=1e-6)

    with pytest.raises(ValueError, match="not an HDF5"):
        registry.import_weights("junk", b"hello", tiny_card())
    with pytest.raises(ValueError, match="could not be loaded"):
        registry.import_weights("misfit", data, {"architecture": "unet", "arch_args": {"base_filters": 8, "depth": 2}})
    with pytest.raises(ValueError, match="reserved"):
        registry.import_weights("default", data, tiny_card())
    with pytest.raises(ValueError, match="already exists"):
        registry.import_weights("mine", data, tiny_card())
    assert sorted(p.name for p in user.iterdir()) == ["imported.json", "imported.weights.h5", "mine.json", "mine.keras"]


def test_broken_cards_are_reported_and_the_rest_still_listed(folders):
    registry, _, user = folders
    (user / "garbled.keras").write_bytes(b"whatever")
    (user / "garbled.json").write_text("{ not json")
    (user / "alien.keras").write_bytes(b"whatever")
    (user / "alien.json").write_text(json.dumps({"architecture": "transformer-xxl"}))
    (user / "progress.json").write_text("{}")  # a card without a model is not a model and not a problem
    assert registry.names() == ["base", "mine"]
    assert len(registry.problems) == 2
    assert any(p.startswith("garbled.json") for p in registry.problems)
    assert any(p.startswith("alien.json") and "transformer-xxl" in p for p in registry.problems)


def test_model_path_needs_its_card(folders, tmp_path, tiny_model):
    registry, _, user = folders
    entry = registry.entry_from_path(user / "mine.keras")
    assert entry.name == "mine" and not entry.shipped
    lonely = tmp_path / "lonely.keras"
    tiny_model.save(lonely)
    with pytest.raises(ValueError, match="has no card"):
        registry.entry_from_path(lonely)
    with pytest.raises(ValueError, match="does not exist"):
        registry.entry_from_path(tmp_path / "ghost.keras")


# --------------------------------------------------------------------------------------------------
# restore_image(): one entry point for every method
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["wiener", "richardson-lucy", "unsupervised-wiener"])
def test_restore_with_classical_methods(method):
    sharp = texture(48, 56, seed=3)
    kernel = gaussian_kernel(1.5)
    blurred = blur(sharp, kernel)
    reports = []
    out = restore_image(blurred, method, kernel=kernel, on_progress=lambda d, t, info: reports.append(info))
    assert out.shape == sharp.shape and out.dtype == np.float32
    assert psnr(sharp, out) > psnr(sharp, blurred) + 0.5
    assert reports and all(isinstance(info, dict) for info in reports)


def test_restore_needs_a_kernel_for_classical_methods():
    with pytest.raises(ValueError, match="needs the blur kernel"):
        restore_image(texture(16, 16), "wiener")


def test_restore_with_a_registry_model_keeps_the_size(folders):
    registry, _, _ = folders
    for height, width in ((37, 53), (255, 255)):
        out = restore_image(texture(height, width), "mine", registry=registry)
        assert out.shape == (height, width, 3)
    assert get_runner(registry.get("mine"), registry) is get_runner(registry.get("mine"), registry)
    with pytest.raises(ValueError, match="no options"):
        restore_image(texture(16, 16), "mine", registry=registry, iterations=3)
    with pytest.raises(ValueError, match="no model called"):
        restore_image(texture(16, 16), "nope", registry=registry)


def test_restore_refuses_a_still_image_for_a_video_model(tmp_path):
    model = build("unet", frames=3, **TINY)
    save_model(model, tmp_path / "video3.keras", {"architecture": "unet", "arch_args": {"frames": 3, **TINY}})
    registry = Registry(shipped_dir=tmp_path, user_dir=tmp_path / "none")
    entry = registry.get("video3")
    assert entry.frames == 3 and not entry.fits_still_image()
    with pytest.raises(ValueError, match="3 frame"):
        restore_image(texture(16, 16), "video3", registry=registry)
    frames = np.concatenate([texture(20, 24, seed=s) for s in range(3)], axis=2)
    out = restore_image(frames, "video3", registry=registry)
    np.testing.assert_allclose(out, frames[..., 3:6], atol=1e-5)  # a fresh model returns the middle frame


class _PartsOnly:
    """An image that hands out parts only (as the learned deconvolver's stack does), recording what was asked."""

    def __init__(self, array: np.ndarray):
        self.array, self.shape, self.asked = array, array.shape, []

    def __getitem__(self, key):
        rows, cols = key
        self.asked.append((rows.stop - rows.start, cols.stop - cols.start))
        return self.array[rows, cols].copy()


@pytest.mark.parametrize("shape", [(70, 53), (64, 64), (45, 130)])
def test_tiles_cut_from_the_image_and_padded_each_match_padding_the_whole_image_first(shape):
    """Each tile is padded on its own where it passes the border; a model that looks at its neighbours (a 5 x 5 mean)
    sees the same values as with the whole image padded first, and no tile asks for the whole image."""
    rng = np.random.default_rng(3)
    image = rng.random(shape + (4,)).astype(np.float32)

    def local_mean(batch):
        return ndimage.uniform_filter(batch, size=(1, 5, 5, 1), mode="reflect")[..., :3]

    padded, size = pad_to_multiple(image, 8)
    expected = crop_to(tiled_apply(padded, local_mean, tile=32, overlap=8, out_channels=3), size)
    parts = _PartsOnly(image)
    got = tiled_apply(parts, local_mean, tile=32, overlap=8, multiple=8, out_channels=3)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got.shape == shape + (3,)
    assert all(h <= 32 and w <= 32 for h, w in parts.asked) and len(parts.asked) > 1
