"""The Classroom page under AppTest: all eight steps walked with Next, each step's control moved, no error box."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from deblur_core.io import encode_image

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 180
P = "classroom_"

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """A blind tiny U-Net (the default) and a tiny learned deconvolver, both untrained."""
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import save_model

    folder = tmp_path_factory.mktemp("shipped")
    card = {"architecture": "unet", "arch_args": {"base_filters": 4, "depth": 2}, "recommended": True}
    save_model(build("unet", base_filters=4, depth=2), folder / "tiny-unet.keras", {**card, "description": "Tiny."})
    deconv = {"architecture": "deconv-unet", "arch_args": {"base_filters": 4, "depth": 2}, "description": "Tiny."}
    save_model(build("deconv-unet", base_filters=4, depth=2), folder / "deconv-unet.keras", deconv)
    return folder


def _env(monkeypatch, tmp_path, shipped: Path) -> None:
    monkeypatch.setenv("DEBLUR_STUDIO_SHIPPED_MODELS", str(shipped))
    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(tmp_path / "user"))
    monkeypatch.setenv("DEBLUR_STUDIO_DATA", str(tmp_path / "no-shared-data"))


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _open() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/classroom.py")
    return _ok(at.run())


def _heading(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("### "))


def _image_captions(at: AppTest) -> str:
    return "\n".join(caption for image in at.get("image") for caption in image.captions)


def _image_urls(at: AppTest) -> list[str]:
    return [i.url for image in at.get("image") for i in image.proto.imgs]


def _charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def _next(at: AppTest) -> AppTest:
    return _ok(at.button(key=P + "next").click().run())


def _move_controls(at: AppTest, step: int) -> AppTest:
    """Move the step's control(s); return the rerun app."""
    if step == 0:
        at.selectbox(key=P + "kind").set_value("defocus").run()
        at.slider(key=P + "radius").set_value(7.0).run()
        at.selectbox(key=P + "kind").set_value("motion").run()
        at.slider(key=P + "length").set_value(21)
    elif step == 1:
        at.toggle(key=P + "mark").set_value(True)
    elif step == 2:
        at.slider(key=P + "noise").set_value(5.0)
    elif step == 3:
        at.select_slider(key=P + "inverse_noise").set_value(2.0)
    elif step == 4:
        at.select_slider(key=P + "nsr").set_value(0.01)
    elif step == 5:
        at.select_slider(key=P + "iterations").set_value(30)
    elif step == 6:
        at.radio(key=P + "show").set_value("Their errors")
    else:
        at.slider(key=P + "q_sigma").set_value(3.0).run()
        at.button(key=P + "reveal").click()
    return _ok(at.run())


def test_next_walks_all_eight_steps_and_every_control_redraws_its_step(tiny_models, tmp_path, monkeypatch):
    _env(monkeypatch, tmp_path, tiny_models)
    at = _open()
    for step in range(8):
        assert _heading(at).startswith(f"### {step + 1}. "), _heading(at)
        before = _image_urls(at)
        at = _move_controls(at, step)
        after = _image_captions(at)
        if step == 0:
            assert "motion blur, 21 px at 30°" in after
            assert "Dots of light, blurred" in after and "The kernel (" in after
        elif step == 1:
            assert "Spectrum of the sharp picture" in after and "|K|" in after
        elif step == 2:
            assert "Blurred, with 5 grey levels of noise" in after and _charts(at) == 1
        elif step == 3:
            assert "Inverse filter, no noise: PSNR" in after and "With 2 grey levels of noise" in after
        elif step == 4:
            assert "Wiener, NSR 1e-02: PSNR" in after and _charts(at) == 2  # the gain curve and PSNR against NSR
        elif step == 5:
            assert "After 30 iterations: PSNR" in after and _charts(at) == 1
        elif step == 6:
            for method in ("tiny-unet (recommended)", "Learned deconvolver", "Wiener deconvolution", "Richardson-Lucy"):
                assert f"{method}: PSNR " in after, after
            assert "SSIM" in after
            # The input and the results became error maps: the untrained tiny U-Net returns its input (one map with
            # it), and so does the method that estimates the kernel where it finds no clear blur.
            left_alone = "no clear blur found: left as it was" in after
            assert len(set(_image_urls(at)) - set(before)) == (4 if left_alone else 5)
        else:
            assert any(m.value.startswith("**It was ") for m in at.markdown)
            assert "Your guess: Gaussian blur, sigma 3 px" in after
        if step < 7:
            at = _next(at)
    assert at.button(key=P + "next").disabled
    assert "Picture: Chelsea the cat" in "\n".join(c.value for c in at.caption)


def test_the_step_list_jumps_and_back_returns_with_the_settings_kept(tiny_models, tmp_path, monkeypatch):
    _env(monkeypatch, tmp_path, tiny_models)
    at = _open()
    at.slider(key=P + "length").set_value(9)
    at = _ok(at.run())
    at.selectbox(key=P + "step").set_value(4)
    at = _ok(at.run())
    assert _heading(at).startswith("### 5. Wiener")
    assert any("motion blur, 9 px at 30°" in c.value for c in at.caption)  # the blur of step 1 is kept
    at = _ok(at.button(key=P + "back").click().run())
    assert _heading(at).startswith("### 4. ")
    at.selectbox(key=P + "step").set_value(0)
    at = _ok(at.run())
    assert at.slider(key=P + "length").value == 9


def test_the_learning_step_works_without_any_model(tmp_path, monkeypatch):
    empty = tmp_path / "no-models"
    empty.mkdir()
    _env(monkeypatch, tmp_path, empty)
    at = _open()
    at.selectbox(key=P + "step").set_value(6)
    at = _ok(at.run())
    captions = _image_captions(at)
    assert "Wiener deconvolution: PSNR" in captions and "Richardson-Lucy: PSNR" in captions
    assert "Learned deconvolver" not in captions
    assert any("Not installed here: the learned deconvolver and a blind model" in c.value for c in at.caption)


def test_an_upload_is_taught_with_and_a_bad_one_is_explained(tiny_models, tmp_path, monkeypatch):
    from skimage import data

    _env(monkeypatch, tmp_path, tiny_models)
    at = _open()
    at.radio(key=P + "source").set_value("My own picture")
    at = _ok(at.run())
    at.file_uploader(key=P + "upload").set_value(("notes.png", b"plain text, not a picture", "image/png"))
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("notes.png: ")
    assert "The lesson uses the sample instead." in at.error[0].value
    assert "Sharp picture" in _image_captions(at)  # the lesson goes on
    tiny = encode_image(np.full((20, 30, 3), 0.5, np.float32))
    at.file_uploader(key=P + "upload").set_value(("tiny.png", tiny, "image/png"))
    at.run()
    assert any("at least 64 px on each side" in e.value for e in at.error)
    photo = (data.coffee() / 255.0).astype(np.float32)  # 600 x 400: scaled to 512 x 341 for the lesson
    at.file_uploader(key=P + "upload").set_value(("coffee.png", encode_image(photo), "image/png"))
    at = _ok(at.run())
    assert any("Picture: coffee.png, 512 × 341 px" in c.value for c in at.caption)


def _toy_estimate(call):
    """A stand-in for a blind method that estimates the kernel: a Gaussian guess, then Wiener with it."""
    from deblur_core.classical import wiener
    from deblur_core.kernels import gaussian_kernel

    kernel = gaussian_kernel(1.5)
    return wiener(call.image, kernel), kernel


def test_a_method_that_estimates_the_kernel_shows_it_beside_the_true_one(tiny_models, tmp_path, monkeypatch):
    from deblur_core.restoration import Method, methods, register, unregister

    _env(monkeypatch, tmp_path, tiny_models)
    # The step shows the first method that estimates the kernel: the shipped ones step aside for the toy
    # (they are the catalogue's last entries, so registering them again keeps its order).
    shipped = [m for m in methods() if m.kernel == "estimates"]
    for m in shipped:
        unregister(m.name)
    method = register(
        Method(
            name="toy-estimate",
            title="Toy kernel estimate",
            summary="Toy kernel estimate: guesses a Gaussian, for tests.",
            kernel="estimates",
            takes=("photo",),
            run=_toy_estimate,
        )
    )
    try:
        at = _open()
        at.selectbox(key=P + "step").set_value(6)
        at = _ok(at.run())
    finally:
        unregister(method.name)
        for m in shipped:
            register(m)
    captions = _image_captions(at)
    assert "Toy kernel estimate: PSNR " in captions
    assert "The true kernel, and the one estimated from the picture" in captions
