"""The Models page under AppTest: cards and samples, managing user models, importing weights safely."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "models.py")
TINY = {"architecture": "unet", "arch_args": {"base_filters": 4, "depth": 2}}

pytestmark = pytest.mark.app


@pytest.fixture
def folders(tmp_path, monkeypatch):
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    shipped.mkdir()
    user.mkdir()
    monkeypatch.setenv("DEBLUR_STUDIO_SHIPPED_MODELS", str(shipped))
    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(user))
    monkeypatch.setenv("DEBLUR_STUDIO_JOBS", str(tmp_path / "jobs"))
    return shipped, user


@pytest.fixture
def installed(folders):
    """A shipped default model, a user model and a user card that is broken."""
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import save_model

    shipped, user = folders
    save_model(build("unet", base_filters=4, depth=2), shipped / "tiny-default.keras", {**TINY, "recommended": True})
    card = {
        **TINY,
        "description": "Mine.",
        "training": {"train_images": 9, "val_images": 1, "loss": "l1", "epochs": 3, "epochs_run": 2},
        "validation": {"psnr": 27.5, "ssim": 0.812, "blurred_psnr": 24.25},
    }
    save_model(build("unet", base_filters=4, depth=2), user / "mine.keras", card)
    (user / "broken.json").write_text("{ not json")
    (user / "broken.keras").write_bytes(b"PK")
    return shipped, user


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _samples(at: AppTest, last: str = "") -> AppTest:
    """Press every model's "Run it on a sample" (``last`` at the end); a sample once run stays shown."""
    keys = [b.key for b in at.button if b.key.startswith("models_sample_")]
    for key in sorted(keys, key=lambda k: k == last):
        at.button(key=key).click().run()
    return at


def test_the_list_of_models_loads_no_model(installed):
    """Cards come from the card files alone; a fresh server lists its models without TensorFlow's seconds."""
    from studio import services

    at = _ok(AppTest.from_file(PAGE, default_timeout=120).run())
    assert [e.label for e in at.expander] == ["tiny-default (shipped, the default)", "mine (yours)"]
    assert services.get_registry().loaded() == []


def _card(at: AppTest, index: int) -> dict:
    table = at.table[index].value
    return dict(zip(table.iloc[:, 0], table.iloc[:, 1], strict=True))


def test_every_model_with_its_card_and_a_sample(installed):
    at = _ok(AppTest.from_file(PAGE, default_timeout=120).run())
    assert [e.label for e in at.expander] == ["tiny-default (shipped, the default)", "mine (yours)"]
    assert any("broken.json" in w.value for w in at.warning)  # a bad card is reported, the rest still works
    shipped, mine = _card(at, 0), _card(at, 1)
    assert shipped["Kind"].startswith("shipped") and mine["Kind"].startswith("yours")
    assert shipped["Parameters"] == mine["Parameters"] != "not recorded"
    assert "RGB colour" in mine["Takes"] and "any size" in mine["Takes"]
    assert mine["Training data"] == "9 sharp images (+ 1 for validation)"
    assert mine["Loss"] == "l1" and mine["Epochs"] == "2 of 3"
    assert mine["Validation PSNR"] == "27.50 dB (blurred input: 24.25 dB)"
    assert mine["Validation SSIM"] == "0.812"
    # The cards are listed without loading a model; each sample runs on request.
    assert not at.image and [b.key for b in at.button if b.key.startswith("models_sample_")] == [
        "models_sample_tiny-default",
        "models_sample_mine",
    ]
    at = _samples(at)
    captions = [c for img in at.image for c in img.captions]
    assert sum("dB PSNR" in c for c in captions) == 4  # blurred and restored, for each model
    # Shipped models are read-only: only the user model has management widgets.
    assert [b.key for b in at.button if b.key.startswith("models_rename_button")] == ["models_rename_button_mine"]
    assert [d.key for d in at.get("download_button")] == ["models_download_mine"]


def test_rename_and_delete_a_user_model(installed):
    _, user = installed
    at = _ok(AppTest.from_file(PAGE, default_timeout=120).run())
    at.text_input(key="models_rename_mine").set_value("tiny-default").run()
    at.button(key="models_rename_button_mine").click().run()
    assert not at.exception
    assert "already exists" in at.error[0].value  # a shipped model's name is taken
    at.text_input(key="models_rename_mine").set_value("ours").run()
    at.button(key="models_rename_button_mine").click().run()
    _ok(at)
    assert "Renamed mine to ours." in [s.value for s in at.success]
    assert (user / "ours.keras").is_file() and not (user / "mine.keras").exists()
    assert "ours (yours)" in [e.label for e in at.expander]

    assert at.button(key="models_delete_ours").disabled  # only after saying yes
    at.checkbox(key="models_delete_sure_ours").check().run()
    at.button(key="models_delete_ours").click().run()
    _ok(at)
    assert not (user / "ours.keras").exists() and not (user / "ours.json").exists()
    assert [e.label for e in at.expander] == ["tiny-default (shipped, the default)"]


def test_download_holds_the_model_and_its_card(installed):
    from deblur_core.learned.registry import Registry
    from studio.jobs import model_zip

    shipped, user = installed
    entry = Registry(shipped, user).get("mine")
    with zipfile.ZipFile(io.BytesIO(model_zip(entry))) as zf:
        assert sorted(zf.namelist()) == ["mine.json", "mine.keras"]
        assert json.loads(zf.read("mine.json"))["architecture"] == "unet"


def _weights(tmp_path: Path, **arch_args) -> bytes:
    from deblur_core.learned.architectures import build

    path = tmp_path / "w.weights.h5"
    build("unet", **arch_args).save_weights(path)
    return path.read_bytes()


def _import(at: AppTest, weights: bytes, card: dict | bytes, name: str) -> AppTest:
    raw = card if isinstance(card, bytes) else json.dumps(card).encode()
    at.file_uploader(key="models_import_weights").set_value(("w.weights.h5", weights, "application/octet-stream"))
    at.file_uploader(key="models_import_card").set_value(("card.json", raw, "application/json"))
    at.text_input(key="models_import_name").set_value(name)
    at.button(key="models_import_button").click().run()
    assert not at.exception, at.exception
    return at


def test_import_weights_refuses_bad_files_and_accepts_good_ones(folders, tmp_path):
    from deblur_core.learned.architectures import build

    _, user = folders
    at = _ok(AppTest.from_file(PAGE, default_timeout=120).run())
    assert "No learned model is installed yet" in at.info[0].value
    assert any("never loaded from an upload" in c.value for c in at.caption)

    tiny = _weights(tmp_path, base_filters=4, depth=2)
    full = tmp_path / "full.keras"
    build("unet", base_filters=4, depth=2).save(full)
    for weights, card, message in [
        (_weights(tmp_path, base_filters=8, depth=2), TINY, "could not be loaded"),
        (tiny, {"architecture": "transformer"}, "not one of"),
        (tiny, b"{ nope", "not valid JSON"),
        (full.read_bytes(), TINY, "not an HDF5 .weights.h5 file"),  # a full model file is never loaded
    ]:
        _import(at, weights, card, "bad")
        assert message in at.error[0].value
        assert not list(user.glob("bad*"))

    _ok(_import(at, tiny, TINY, "imported"))
    assert "Imported imported (unet)" in at.success[0].value
    assert (user / "imported.weights.h5").is_file()
    assert [e.label for e in at.expander] == ["imported (yours)"]


def test_a_model_file_that_does_not_load_is_named_and_the_rest_still_works(installed):
    _, user = installed
    (user / "corrupt.keras").write_bytes(b"PK\x03\x04 not really a keras file")
    (user / "corrupt.json").write_text(json.dumps(TINY))
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert [e.label for e in at.expander] == ["tiny-default (shipped, the default)", "corrupt (yours)", "mine (yours)"]
    at = _samples(at, last="models_sample_corrupt")  # the error shows in the run that asked for the sample
    assert len(at.error) == 1 and "corrupt.keras" in at.error[0].value
    captions = [c for img in at.image for c in img.captions]
    assert sum("dB PSNR" in c for c in captions) == 4  # the two good models still show their samples
    at.checkbox(key="models_delete_sure_corrupt").check().run()
    at.button(key="models_delete_corrupt").click().run()
    _ok(at)
    assert not (user / "corrupt.keras").exists()
