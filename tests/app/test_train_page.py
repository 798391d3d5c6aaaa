"""The Train page under AppTest: a tiny model trained from an uploaded zip, live progress, Stop, refusals."""

from __future__ import annotations

import io
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from deblur_core.io import encode_image

ROOT = Path(__file__).resolve().parents[2]
TRAIN = str(ROOT / "pages" / "train.py")
MODELS = str(ROOT / "pages" / "models.py")

pytestmark = pytest.mark.app


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """Model and job folders of the test's own; no shipped models."""
    shipped, user, jobs_root = tmp_path / "shipped", tmp_path / "user", tmp_path / "jobs"
    shipped.mkdir()
    monkeypatch.setenv("DEBLUR_STUDIO_SHIPPED_MODELS", str(shipped))
    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(user))
    monkeypatch.setenv("DEBLUR_STUDIO_JOBS", str(jobs_root))
    return shipped, user, jobs_root


def photo_zip(count: int = 4, size: int = 64) -> bytes:
    """A zip of small blocky 'photos' (edges for the blur to act on)."""
    rng = np.random.default_rng(1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(count):
            blocks = rng.random((size // 8, size // 8, 3))
            zf.writestr(f"photos/p{i}.png", encode_image(np.kron(blocks, np.ones((8, 8, 1))).astype(np.float32)))
    return buffer.getvalue()


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _tiny_settings(at: AppTest, name: str, epochs: int, steps: int) -> AppTest:
    at.radio(key="train_source").set_value("zip").run()
    at.file_uploader(key="train_zip").upload("photos.zip", photo_zip(), "application/zip").run()
    _ok(at)
    assert any("4 sharp images" in s.value for s in at.success)
    at.radio(key="train_size_unet").set_value(at.radio(key="train_size_unet").options[0])
    at.select_slider(key="train_patch").set_value(32)
    at.slider(key="train_batch").set_value(2)
    at.number_input(key="train_epochs").set_value(epochs)
    at.number_input(key="train_steps").set_value(steps)
    at.text_input(key="train_name").set_value(name)
    return _ok(at.run())


def _poll(at: AppTest, until, timeout: float = 300.0) -> AppTest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        if until(at):
            return at
        time.sleep(1.0)
    raise AssertionError(f"timed out; page says {[m.value for m in at.main.children.values() if hasattr(m, 'value')]}")


def _texts(elements) -> str:
    return " ".join(e.value for e in elements)


def test_the_form_is_complete_and_nothing_runs(folders):
    at = _ok(AppTest.from_file(TRAIN, default_timeout=120).run())
    assert at.title[0].value == "Train a model"
    assert at.selectbox(key="train_arch").value == "unet"
    assert at.radio(key="train_source").value == "samples"
    assert [b.label for b in at.button] == ["Start training"]
    assert "parameters" in _texts(at.caption)
    assert not at.get("plotly_chart")
    # Another architecture brings its own sizes; the autoencoder's input size fixes the patch.
    at.selectbox(key="train_arch").set_value("autoencoder").run()
    _ok(at)
    assert "latent channels" in at.radio(key="train_size_autoencoder").value
    assert "128 × 128 px" in _texts(at.caption)


def test_an_unsafe_zip_is_refused_with_a_sentence(folders):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../evil.png", b"x")
    at = AppTest.from_file(TRAIN, default_timeout=120).run()
    at.radio(key="train_source").set_value("zip").run()
    at.file_uploader(key="train_zip").upload("bad.zip", buffer.getvalue(), "application/zip").run()
    assert not at.exception
    assert "outside the archive" in _texts(at.error)
    at.button(key="train_start").click().run()
    assert "Upload a zip of training photos first" in _texts(at.error)
    assert not (folders[2]).exists() or not any(folders[2].iterdir())


@pytest.mark.slow
def test_a_tiny_model_trains_to_the_end_and_is_usable(folders):
    from deblur_core.learned.registry import Registry
    from deblur_core.restoration import restore_image
    from studio.methods import method_menu

    shipped, user, _ = folders
    at = _tiny_settings(AppTest.from_file(TRAIN, default_timeout=120).run(), "tiny-app", epochs=2, steps=2)
    at.button(key="train_start").click().run()
    _ok(at)
    assert "Training **tiny-app**" in _texts(at.info) or "Preparing" in _texts(at.info)

    # A second start while it runs is told politely which job runs and since when.
    at.text_input(key="train_name").set_value("another").run()
    at.button(key="train_start").click().run()
    _ok(at)
    assert "A training is already running: **tiny-app**, started" in _texts(at.info)
    at.text_input(key="train_name").set_value("tiny-app")

    at = _poll(at, lambda a: "trained and saved" in _texts(a.success))
    _ok(at)
    assert at.metric[0].value == "2 / 2"
    assert "dB" in at.metric[3].value
    charts = at.get("plotly_chart")
    assert len(charts) == 3
    assert len(at.image) >= 3  # blurred / output / sharp of the last epoch
    assert (user / "tiny-app.keras").is_file() and (user / "tiny-app.json").is_file()

    registry = Registry(shipped, user)
    assert registry.names() == ["tiny-app"]
    assert any(c.method == "tiny-app" for c in method_menu(registry, (64, 64)).choices)  # on the Deblur page
    image = np.random.default_rng(0).random((40, 56, 3)).astype(np.float32)
    restored = restore_image(image, "tiny-app", registry=registry)
    assert restored.shape == image.shape and np.isfinite(restored).all()

    models = _ok(AppTest.from_file(MODELS, default_timeout=120).run())
    titles = [e.label for e in models.expander]
    assert any(t.startswith("tiny-app (yours") for t in titles)
    card = models.table[0].value
    rows = dict(zip(card.iloc[:, 0], card.iloc[:, 1], strict=True))
    assert rows["Architecture"].startswith("unet (base_filters=8, depth=2")
    assert rows["Epochs"].startswith("2 of 2")
    assert rows["Validation PSNR"].endswith("dB)") or "dB" in rows["Validation PSNR"]
    assert "3 sharp images" in rows["Training data"]


@pytest.fixture
def fake_trainer(monkeypatch):
    """Jobs run ``tests/fake_trainer.py`` (the trainer's options and events, no TensorFlow) instead."""
    from deblur_core.training import jobs

    real_launch = jobs._launch
    script = ROOT / "tests" / "fake_trainer.py"

    def launch(command, log_path):
        return real_launch([sys.executable, str(script), *command[command.index("train") :]], log_path)

    monkeypatch.setattr(jobs, "_launch", launch)


def test_stop_ends_the_job_and_keeps_the_best_epoch(folders, fake_trainer):
    """The page's side of stopping; the real trainer's stop file is tested with the command line."""
    _, user, _ = folders
    at = _tiny_settings(AppTest.from_file(TRAIN, default_timeout=120).run(), "stopped-app", epochs=200, steps=2)
    at.text_input(key="train_description").set_value("wait-epoch")
    at.button(key="train_start").click().run()
    _ok(at)
    at = _poll(at, lambda a: bool(a.metric) and not a.metric[0].value.startswith("0 /"), timeout=60)
    assert at.metric[1].value == "4.00"  # steps per second, as the trainer reported
    assert len(at.get("plotly_chart")) == 3
    at.button(key="train_stop").click().run()
    _ok(at)
    at = _poll(at, lambda a: "was stopped" in _texts(a.success) + _texts(a.warning), timeout=60)
    _ok(at)
    assert "best version so far is saved" in _texts(at.success)
    # The bar says what happened: 1 of 200 epochs, not "100 %: epoch 1 of 200".
    bar = at.get("progress")[0].proto
    assert bar.text == "stopped after 1 of 200 epochs" and bar.value == 0
    assert (user / "stopped-app.keras").is_file()
    # A fresh visit (a new session, as after a server restart) still shows the last job.
    again = _ok(AppTest.from_file(TRAIN, default_timeout=120).run())
    assert "Last training" in [s.value for s in again.subheader]
    assert "stopped-app" in _texts(again.success)


def test_stop_before_the_first_epoch_says_so(folders, fake_trainer):
    at = _tiny_settings(AppTest.from_file(TRAIN, default_timeout=120).run(), "early-app", epochs=200, steps=2)
    at.text_input(key="train_description").set_value("wait")
    at.button(key="train_start").click().run()
    _ok(at)
    at.button(key="train_stop").click().run()
    at = _poll(at, lambda a: "was stopped" in _texts(a.warning), timeout=60)
    _ok(at)
    assert "before its first epoch finished, so no model was saved" in _texts(at.warning)


def test_a_model_worse_than_its_input_is_announced_with_a_warning(folders, fake_trainer):
    at = _tiny_settings(AppTest.from_file(TRAIN, default_timeout=120).run(), "weak-app", epochs=1, steps=2)
    at.text_input(key="train_description").set_value("finish-weak")
    at.button(key="train_start").click().run()
    at = _poll(at, lambda a: "trained and saved" in _texts(a.success), timeout=60)
    _ok(at)
    assert "**weak-app** does not beat its blurred input yet: 20.50 dB" in _texts(at.warning)
    assert "22.00 dB" in _texts(at.warning)


def test_a_good_model_is_announced_without_a_warning(folders, fake_trainer):
    at = _tiny_settings(AppTest.from_file(TRAIN, default_timeout=120).run(), "good-app", epochs=1, steps=2)
    at.text_input(key="train_description").set_value("finish")
    at.button(key="train_start").click().run()
    at = _poll(at, lambda a: "trained and saved" in _texts(a.success), timeout=60)
    assert not at.warning
    assert at.get("progress")[0].proto.text == "100%: 1 of 1 epochs"
