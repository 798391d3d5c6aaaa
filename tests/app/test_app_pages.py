"""Deblur, Compare, Benchmark and About under Streamlit's AppTest, with a tiny model standing in for the shipped ones."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from deblur_core import degrade, kernels
from deblur_core.io import encode_image

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 120

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """A shipped-models folder holding one tiny recommended U-Net (untrained: it must not matter here)."""
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import save_model

    folder = tmp_path_factory.mktemp("shipped")
    card = {
        "architecture": "unet",
        "arch_args": {"base_filters": 4, "depth": 2},
        "recommended": True,
        "description": "A tiny test model. Untrained.",
    }
    save_model(build("unet", base_filters=4, depth=2), folder / "tiny-unet.keras", card)
    # An untrained deconvolver returns its Wiener step: enough to check the method is wired in everywhere.
    deconv = {"architecture": "deconv-unet", "arch_args": {"base_filters": 4, "depth": 2}, "description": "Tiny."}
    save_model(build("deconv-unet", base_filters=4, depth=2), folder / "deconv-unet.keras", deconv)
    return folder


@pytest.fixture
def app_env(tiny_models, tmp_path, monkeypatch):
    monkeypatch.setenv("DEBLUR_STUDIO_SHIPPED_MODELS", str(tiny_models))
    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(tmp_path / "user"))
    monkeypatch.setenv("DEBLUR_STUDIO_DATA", str(tmp_path / "no-shared-data"))
    return tiny_models


def _sharp(height=96, width=128) -> np.ndarray:
    from skimage import data

    return (data.astronaut()[100 : 100 + height, 180 : 180 + width] / 255.0).astype(np.float32)


def _blurry_png(sigma=2.0, **size) -> tuple[bytes, np.ndarray]:
    sharp = _sharp(**size)
    blurred = degrade.blur(sharp, kernels.gaussian_kernel(sigma))
    return encode_image(blurred), sharp


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def _image_captions(at: AppTest) -> str:
    return "\n".join(caption for img in at.get("image") for caption in img.captions)


def _plotly_values(values) -> np.ndarray:
    """The numbers of a plotly trace as sent to the browser: a list, or base64 bytes with their dtype."""
    if isinstance(values, dict):
        import base64

        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, float)


def _loading(at: AppTest) -> bool:
    return any(p.proto.text.startswith("Loading the model") for p in at.get("progress"))


def _start() -> AppTest:
    """The app's first page, run again while a model loads in the background (the browser's fragment does that)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    deadline = time.monotonic() + TIMEOUT
    while _loading(at) and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    return at


class _StillLoading:
    """A model loader whose load never ends: the page as a visitor sees it on a fresh server."""

    def ready(self, registry, entry, *, retry=True) -> bool:
        return False

    def seconds(self, entry) -> float:
        return 2.0

    def failure(self, entry) -> None:
        return None


def test_a_first_visit_while_the_model_loads_draws_title_and_bar_first_and_the_controls_next(app_env, monkeypatch):
    from studio import services

    monkeypatch.setattr(services, "_model_loader", _StillLoading)
    at = _ok(AppTest.from_file(APP, default_timeout=TIMEOUT).run())
    assert at.title[0].value == "Deblur" and _loading(at)
    assert not at.radio and not at.get("file_uploader"), "the first run is only the title and the bar"
    at.run()  # the bar's next tick redraws the whole page
    assert _loading(at) and at.radio[0].label == "What would you like to do?"
    assert at.get("file_uploader"), "the controls come with the second run"
    at.run()  # later runs of the session draw the page whole at once, the bar still there
    assert _loading(at) and at.radio and at.get("file_uploader")


def test_first_visit_shows_the_worked_example(app_env):
    at = _ok(_start())
    assert at.title[0].value == "Deblur"
    metrics = _metrics(at)
    assert metrics["PSNR"][0].endswith(" dB") and metrics["PSNR"][1].endswith(" dB")
    assert 0 < float(metrics["SSIM"][0]) <= 1
    assert metrics["Runtime"][0].endswith(" s")
    assert len(at.get("image")) >= 6  # blurred, deblurred, truth and three zoomed crops
    assert any("python -m deblur_core deblur" in c.value for c in at.code)
    assert any("tiny-unet" in m.value for m in at.sidebar.markdown)


def test_an_upload_is_deblurred_and_measured_by_sharpness(app_env):
    png, _ = _blurry_png()
    at = _start()
    at.file_uploader(key="deblur_upload").set_value(("photo.png", png, "image/png"))
    at = _ok(at.run())
    metrics = _metrics(at)
    assert {"Sharpness before", "Sharpness after", "Runtime"} <= set(metrics)
    assert "PSNR" not in metrics  # no ground truth, no PSNR
    downloads = [d.label for d in at.download_button]
    assert "Download photo_deblurred.png" in downloads
    assert any("deblur photo.png --out out/ --method default" in c.value for c in at.code)


def test_a_ground_truth_upload_adds_psnr_and_ssim_and_a_wrong_size_is_explained(app_env):
    png, sharp = _blurry_png()
    at = _start()
    at.file_uploader(key="deblur_upload").set_value(("photo.png", png, "image/png"))
    at = _ok(at.run())
    truth_key = next(u.key for u in at.file_uploader if u.key and u.key.startswith("deblur_truth_"))
    at.file_uploader(key=truth_key).set_value(("sharp.png", encode_image(sharp[:64]), "image/png"))
    at.run()
    assert not at.exception
    assert any("must have exactly the same size" in e.value for e in at.error)
    at.file_uploader(key=truth_key).set_value(("sharp.png", encode_image(sharp), "image/png"))
    at = _ok(at.run())
    metrics = _metrics(at)
    assert metrics["PSNR"][0].endswith(" dB")
    assert re.fullmatch(r"[+-]\d\.\d{3}|0\.000", metrics["SSIM"][1])  # signed, or a grey 0.000 for no change


def test_a_bad_upload_gives_one_sentence_and_the_page_keeps_working(app_env):
    at = _start()
    at.file_uploader(key="deblur_upload").set_value(("notes.png", b"this is plain text, not a picture", "image/png"))
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("notes.png: ")
    assert "Traceback" not in errors[0]
    assert "PSNR" in _metrics(at)  # the worked example is still there
    png, _ = _blurry_png()
    at.file_uploader(key="deblur_upload").set_value(("photo.png", png, "image/png"))
    at = _ok(at.run())
    assert "Sharpness after" in _metrics(at)


def test_a_real_blurry_photo_from_the_shared_data_is_measured_against_its_sharp_frame(
    app_env, shared_data, monkeypatch
):
    if not (shared_data / "real" / "GoPro").is_dir():
        pytest.fail(f"{shared_data / 'real' / 'GoPro'} is missing from the shared data folder")
    monkeypatch.setenv("DEBLUR_STUDIO_DATA", str(shared_data))
    at = _ok(_start())
    real = at.selectbox(key="deblur_real")
    assert len(real.options) >= 2 and real.options[0] == "—"
    real.set_value(real.options[1])
    at = _ok(at.run())
    metrics = _metrics(at)
    assert metrics["PSNR"][0].endswith(" dB") and "Sharpness after" not in metrics
    assert any("Ground truth" in c for img in at.get("image") for c in img.captions)


def test_several_uploads_download_as_one_zip(app_env):
    a, _ = _blurry_png()
    b, _ = _blurry_png(sigma=1.5, height=80, width=80)
    at = _start()
    at.file_uploader(key="deblur_upload").set_value([("a.png", a, "image/png"), ("b.jpg", b, "image/png")])
    at = _ok(at.run())
    labels = [d.label for d in at.download_button]
    assert "Download all 2 as a zip" in labels and "Download a_deblurred.png" in labels
    assert len(at.dataframe[0].value) == 2


def test_a_classical_method_shows_the_live_preview_and_deblurs_on_request(app_env):
    png, _ = _blurry_png()
    at = _start()
    at.file_uploader(key="deblur_upload").set_value(("photo.png", png, "image/png"))
    at.run()
    at.selectbox(key="deblur_method").set_value("Wiener deconvolution")
    at = _ok(at.run())
    assert "Live preview" in _image_captions(at)
    assert "Sharpness after" not in _metrics(at)  # nothing runs on the full photo before the button
    at.button(key="deblur_run").click()
    at = _ok(at.run())
    assert "Sharpness after" in _metrics(at)
    assert any("--method wiener --kernel gaussian:sigma=2" in c.value for c in at.code)


def test_the_learned_deconvolver_takes_the_kernel_shaped_with_the_sliders(app_env, monkeypatch):
    import studio.tasks

    marked = []
    real = studio.tasks.restore
    monkeypatch.setattr(
        studio.tasks,
        "restore",
        lambda *a, **kw: marked.append((kw.get("kernel_estimated"), kw.get("fit_kernel"))) or real(*a, **kw),
    )
    png, _ = _blurry_png()
    at = _start()
    at.file_uploader(key="deblur_upload").set_value(("photo.png", png, "image/png"))
    at.run()
    at.selectbox(key="deblur_method").set_value("Learned deconvolver")
    at = _ok(at.run())
    assert "Live preview" in _image_captions(at)
    marked.clear()  # what ran before the button (another method's result, when not already cached) is not asked about
    at.button(key="deblur_run").click()
    at = _ok(at.run())
    assert "Sharpness after" in _metrics(at)
    # A kernel shaped with the sliders is a guess: it is fitted to the photo, the method is told so, and the command
    # line says both.
    assert marked == [(True, True)], marked
    assert any(
        "--method deconvolver --kernel gaussian:sigma=2 --fit-kernel --approximate-kernel" in c.value for c in at.code
    )


ESTIMATING = "Estimated kernel + learned deconvolver"


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _panel_says(at: AppTest, found) -> None:
    """The kernel panel shows ``found``: its picture, its size, its confidence in words and where it came from."""
    from studio.kernel_panel import source_text

    h, w = found.kernel.shape
    assert f"Estimated kernel ({w} × {h} px, enlarged)" in _image_captions(at)
    text = _markdown(at)
    assert f"**Size:** {w} × {h} px" in text
    assert f"**Confidence:** {found.confidence_words()}" in text
    assert f"**Found as:** {source_text(found)}" in text
    region = f"the {found.region[2]} × {found.region[3]} px region the kernel was estimated from"
    assert region in _image_captions(at)


def test_the_estimating_method_shows_its_kernel_is_re_estimated_and_hands_it_to_the_sliders(app_env):
    from deblur_core.classical.estimate import estimate_kernel, nearest_fit
    from deblur_core.io import load_image
    from studio.widgets import slider_settings

    png, _ = _blurry_png()
    photo = load_image(png, name="photo.png").rgb  # what the page decodes
    at = _start()
    at.file_uploader(key="deblur_upload").set_value(("photo.png", png, "image/png"))
    at.run()
    at.selectbox(key="deblur_method").set_value(ESTIMATING)
    at = _ok(at.run())
    found = estimate_kernel(photo)
    assert not found.fallback and found.kernel.shape[0] > 1  # a Gaussian blur of sigma 2 is found
    _panel_says(at, found)
    assert "Sharpness after" in _metrics(at)  # restored with that kernel at once
    h, w = found.kernel.shape
    assert f"Kernel estimated ({w} × {h} px, enlarged)" in _image_captions(at)  # the result's kernel is the panel's

    # The smallest largest size waits for Re-estimate, then gives the estimate of that size (a defocus disc here).
    at.slider(key="deblur_est_max_size").set_value(5)
    at = _ok(at.run())
    assert any("Re-estimate" in c.value for c in at.caption)
    _panel_says(at, found)
    assert not at.button(key="deblur_est_run").disabled
    at.button(key="deblur_est_run").click()
    at = _ok(at.run())
    small = estimate_kernel(photo, max_size=5)
    assert small.kernel.shape != found.kernel.shape  # the panel must change to pass
    _panel_says(at, small)
    h, w = small.kernel.shape
    assert f"Kernel estimated ({w} × {h} px, enlarged)" in _image_captions(at)
    assert any("kernels of up to 5 px" in c.value for c in at.caption)
    assert at.button(key="deblur_est_run").disabled  # nothing new to estimate

    # A square of one's own is drawn on the thumbnail before it is used.
    at.radio(key="deblur_est_region").set_value("A square I choose")
    at.run()
    at.slider(key="deblur_est_across").set_value(80)
    at = _ok(at.run())
    assert "cyan: your square" in _image_captions(at)

    # Take over: the learned deconvolver, its sliders at the simple blur nearest the estimate.
    at.button(key="deblur_est_take_over").click()
    at = _ok(at.run())
    assert at.selectbox(key="deblur_method").value == "Learned deconvolver"
    expected = slider_settings(*nearest_fit(small.kernel))
    assert at.selectbox(key="deblur_guess_kind").value == expected.kind
    names = {"gaussian": ["sigma"], "defocus": ["radius"], "motion": ["length", "angle"]}[expected.kind]
    for name in names:
        assert at.slider(key=f"deblur_guess_{name}").value == getattr(expected, name), name
    assert any(expected.describe() in i.value for i in at.info)
    assert "Live preview" in _image_captions(at)
    at.button(key="deblur_run").click()
    at = _ok(at.run())
    assert any(f"--method deconvolver --kernel {expected.spec()}" in c.value for c in at.code)


def test_the_kernel_panel_says_when_it_found_no_blur_and_the_photo_is_left_as_it_was(app_env):
    at = _start()
    at.file_uploader(key="deblur_upload").set_value(("sharp.png", encode_image(_sharp()), "image/png"))
    at.run()
    at.selectbox(key="deblur_method").set_value(ESTIMATING)
    at = _ok(at.run())
    text = _markdown(at)
    assert "**Size:** 1 × 1 px (no blur)" in text
    # Either no kernel big enough to be a blur, or estimates too unsure to use: both leave the photo alone.
    assert "**Confidence:** no clear blur found" in text or "**Confidence:** too uncertain to use" in text
    found_as = next(line for line in text.splitlines() if line.startswith("- **Found as:**"))
    assert found_as.endswith("left as it was"), found_as
    metrics = _metrics(at)
    assert metrics["Sharpness after"][0] == metrics["Sharpness before"][0]  # nothing was done to it


def test_blur_it_for_me_with_wiener_raises_psnr(app_env):
    at = _start()
    at.radio(key="deblur_mode").set_value("Blur it for me")
    at = _ok(at.run())
    at.selectbox(key="deblur_blur_method").set_value("Wiener deconvolution")
    at.button(key="deblur_blur_run").click()
    at = _ok(at.run())
    value, delta = _metrics(at)["PSNR"]
    assert value.endswith(" dB")
    assert float(delta.split()[0]) > 1.0  # the true kernel lets Wiener undo most of the motion blur
    assert "Download chelsea_deblurred.png" in [d.label for d in at.download_button]


def test_blur_it_for_me_preselects_the_learned_deconvolver_with_the_true_kernel(app_env):
    at = _start()
    at.radio(key="deblur_mode").set_value("Blur it for me")
    at = _ok(at.run())
    assert at.selectbox(key="deblur_blur_method").value == "Learned deconvolver"
    at.button(key="deblur_blur_run").click()
    at = _ok(at.run())
    value, delta = _metrics(at)["PSNR"]
    assert value.endswith(" dB") and float(delta.split()[0]) > 1.0
    assert any("--method deconvolver --kernel" in c.value for c in at.code)


def test_blur_it_for_me_with_a_kernel_file(app_env):
    at = _start()
    at.radio(key="deblur_mode").set_value("Blur it for me")
    at.run()
    at.selectbox(key="deblur_blur_kind").set_value("file")
    at.run()
    buffer = io.BytesIO()
    np.save(buffer, kernels.defocus_kernel(3.0))
    at.file_uploader(key="deblur_blur_kernel_file").set_value(
        ("disc.npy", buffer.getvalue(), "application/octet-stream")
    )
    at = _ok(at.run())
    at.button(key="deblur_blur_run").click()
    at = _ok(at.run())
    assert "PSNR" in _metrics(at)
    at.file_uploader(key="deblur_blur_kernel_file").set_value(
        ("bad.npy", b"\x93NUMPYgarbage", "application/octet-stream")
    )
    at.run()
    assert not at.exception
    assert any("bad.npy" in e.value for e in at.error)


def test_without_a_model_the_default_is_wiener_with_a_notice(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBLUR_STUDIO_SHIPPED_MODELS", str(tmp_path / "empty"))
    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(tmp_path / "user"))
    at = _ok(_start())
    assert any("No trained model is installed" in i.value for i in at.info)
    assert "PSNR" in _metrics(at)
    assert any("--method wiener" in c.value for c in at.code)


def test_compare_runs_several_methods_on_the_example(app_env):
    at = _start()
    at.switch_page("pages/compare.py")
    at = _ok(at.run())
    methods = at.multiselect(key="compare_methods")
    assert methods.proto.wrap  # the chosen methods' chips wrap onto more rows instead of running out of sight
    # The page ends early until Run is pressed; the sidebar, drawn after the page, is still there.
    assert any("tiny-unet" in m.value for m in at.sidebar.markdown)
    assert methods.value == [
        "tiny-unet (recommended)",
        "Wiener deconvolution",
        "Richardson-Lucy",
        "Learned deconvolver",
    ]
    at.button(key="compare_run").click()
    at = _ok(at.run())
    table = at.dataframe[0].value
    assert list(table["method"]) == [
        "tiny-unet (recommended)",
        "Wiener deconvolution",
        "Richardson-Lucy",
        "Learned deconvolver",
    ]
    assert {"PSNR (dB)", "SSIM", "seconds"} <= set(table.columns)
    wiener = table.set_index("method").loc["Wiener deconvolution"]
    assert wiener["PSNR gain (dB)"] > 1.0
    # The chart shows each method's gain over the blurred input, so its zero is the blurred input itself.
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    np.testing.assert_allclose(_plotly_values(chart["data"][0]["y"]), table["PSNR gain (dB)"], atol=0.01)
    assert chart["layout"]["yaxis"]["title"]["text"] == "PSNR gain over the blurred input (dB)"
    assert not chart["layout"].get("annotations")  # no label to overlap a bar
    assert [d.label for d in at.download_button] == ["Download the table (CSV)"]
    assert len(at.get("image")) >= 5  # input, three outputs, ground truth


def test_compare_uses_the_photo_chosen_on_deblur(app_env):
    png, _ = _blurry_png()
    at = _start()
    at.file_uploader(key="deblur_upload").set_value(("photo.png", png, "image/png"))
    at.run()
    at.switch_page("pages/compare.py")
    at = _ok(at.run())
    assert "photo.png" in _image_captions(at)
    at.multiselect(key="compare_methods").set_value(["tiny-unet (recommended)"])
    at.button(key="compare_run").click()
    at = _ok(at.run())
    table = at.dataframe[0].value
    assert list(table.columns) == ["method", "sharpness", "seconds"]


def test_compare_estimates_the_kernel_once_for_the_methods_that_estimate_it(app_env, monkeypatch):
    from deblur_core.classical import estimate as estimation
    from studio import tasks

    calls = []
    real = estimation.estimate_kernel
    counted = lambda *a, **k: calls.append(1) or real(*a, **k)  # noqa: E731
    monkeypatch.setattr(estimation, "estimate_kernel", counted)  # the methods' own estimate
    monkeypatch.setattr(tasks, "estimate_kernel", counted)  # the pages' estimate
    at = _start()
    at.radio(key="deblur_mode").set_value("Blur it for me")
    at.run()
    at.selectbox(key="deblur_blur_kind").set_value("gaussian")  # sigma 2 px: a blur the estimate finds
    at = _ok(at.run())
    at.switch_page("pages/compare.py")
    at = _ok(at.run())
    picked = ["Wiener deconvolution", "Estimated kernel + Wiener", "Estimated kernel + Richardson-Lucy"]
    at.multiselect(key="compare_methods").set_value(picked)
    at.button(key="compare_run").click()
    at = _ok(at.run())
    assert len(calls) == 1  # one estimate, handed to both methods
    shared = [m.value for m in at.markdown if "share one estimate" in m.value]
    assert len(shared) == 1 and " px**" in shared[0] and "confidence" in shared[0]
    assert "Estimated kernel" in _image_captions(at)
    table = at.dataframe[0].value.set_index("method")
    assert list(table.index) == picked
    # The blur is found: both classical methods gain with the estimate, if less than Wiener handed the
    # true kernel.
    for method in picked[1:]:
        assert 0 < table.loc[method, "PSNR gain (dB)"] <= table.loc["Wiener deconvolution", "PSNR gain (dB)"] + 0.5


def _poll(at: AppTest, until, timeout: float = 90.0) -> AppTest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        if until(at):
            return at
        time.sleep(0.3)
    raise AssertionError("the benchmark did not finish in time")


def test_benchmark_runs_in_the_background_and_draws_its_results(app_env):
    at = _start()
    at.switch_page("pages/benchmark.py")
    at = _ok(at.run())
    picker = at.multiselect(key="benchmark_samples")
    assert picker.value == ["chelsea", "astronaut", "coffee"]
    assert picker.proto.wrap and at.multiselect(key="benchmark_methods").proto.wrap  # no chip cut off
    picker.set_value(["chelsea", "coffee"])
    at.multiselect(key="benchmark_methods").set_value(["Wiener deconvolution", "tiny-unet (recommended)"])
    at.button(key="benchmark_start").click()
    at.run()
    at = _ok(_poll(at, lambda a: len(a.dataframe) >= 2))
    summary = at.dataframe[0].value.set_index("method")
    assert list(summary.index) == ["blurred input (no restoration)", "Wiener deconvolution", "tiny-unet (recommended)"]
    assert summary.loc["Wiener deconvolution", "PSNR (dB)"] > summary.loc["blurred input (no restoration)", "PSNR (dB)"]
    assert len(at.dataframe[1].value) == 6  # two images x (blurred + two methods)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 3
    low, high = charts[0]["layout"]["yaxis"]["range"]  # mean PSNR per method: a whole-dB baseline below the bars
    lowest = summary["PSNR (dB)"].min()
    assert low == int(low) and lowest - 1.5 <= low <= lowest - 0.5 and high > summary["PSNR (dB)"].max()
    assert [d.label for d in at.download_button] == ["Download all results (CSV)"]
    assert any("Finished 4 restorations" in s.value for s in at.success)


def test_benchmark_refuses_a_bad_zip_with_a_sentence(app_env):
    at = _start()
    at.switch_page("pages/benchmark.py")
    at.run()
    at.radio(key="benchmark_source").set_value("My own sharp images (zip)")
    at.run()
    at.file_uploader(key="benchmark_zip").set_value(("set.zip", b"not a zip at all", "application/zip"))
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["set.zip is not a readable zip archive; pack the images into a .zip file."]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        pic = io.BytesIO()
        Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(pic, "PNG")
        archive.writestr("one.png", pic.getvalue())
        archive.writestr("../escape.png", pic.getvalue())
    at.file_uploader(key="benchmark_zip").set_value(("set.zip", buffer.getvalue(), "application/zip"))
    at = _ok(at.run())
    assert any("1 image(s) ready" in s.value for s in at.success)
    assert at.button(key="benchmark_start").disabled is False


def test_about_explains_methods_metrics_models_and_privacy(app_env):
    at = _start()
    at.switch_page("pages/about.py")
    at = _ok(at.run())
    text = "\n".join(m.value for m in at.markdown)
    for phrase in (
        "Wiener deconvolution",
        "Richardson-Lucy",
        "Unsupervised Wiener",
        "Learned deconvolver",
        "decibels (dB)",
        "never written to disk",
    ):
        assert phrase in text
    assert sorted(e.label for e in at.expander) == ["deconv-unet", "tiny-unet (default)"]
    assert any("A tiny test model" in m.value for m in at.markdown)
    links = at.get("page_link")
    assert any(link.proto.label == "Open the Classroom" and link.proto.page.endswith("classroom") for link in links)


# -- a method added to the catalogue appears everywhere --------------------------------------------


def _toy_sharpen(call):
    """An unsharp mask: the toy method's run function."""
    soft = degrade.blur(call.image, kernels.gaussian_kernel(1.0))
    return np.clip(call.image + call.options.get("amount", 0.5) * (call.image - soft), 0.0, 1.0)


@pytest.fixture
def toy_method():
    """A method registered in the catalogue for one test, as a plug-in would register it."""
    from deblur_core.restoration import Method, Option, register, unregister

    method = register(
        Method(
            name="toy-sharpen",
            title="Toy sharpen",
            summary="Toy sharpen: an unsharp mask, for tests.",
            kernel="none",
            takes=("photo",),
            run=_toy_sharpen,
            options=(
                Option("amount", "Amount", "how much to sharpen (default 0.5)", float, 0.5, 0, 4, "F", (0.0, 2.0, 0.1)),
            ),
        )
    )
    try:
        yield method
    finally:
        unregister(method.name)


def test_a_registered_method_is_in_the_command_line_help_and_the_app_menu(app_env, toy_method, capsys, tmp_path):
    from deblur_core.cli import main
    from deblur_core.io import read_rgb

    # The command line: --method help, the option, and a run.
    assert main(["deblur", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "toy-sharpen" in help_text and "an unsharp mask" in help_text and "--amount F" in help_text
    png, _ = _blurry_png()
    (tmp_path / "photo.png").write_bytes(png)
    assert main(["deblur", str(tmp_path / "photo.png"), "--out", str(tmp_path / "out"), "--method", "toy-sharpen"]) == 0
    assert read_rgb(tmp_path / "out" / "photo.png").shape == (96, 128, 3)
    assert main(["deblur", str(tmp_path / "photo.png"), "--out", str(tmp_path / "x"), "--amount", "1"]) == 2
    assert "--amount applies to toy-sharpen only" in capsys.readouterr().err

    # The app: the Deblur page's menu offers it, with its option, and restores with it.
    at = _start()
    at.file_uploader(key="deblur_upload").set_value(("photo.png", png, "image/png"))
    at = _ok(at.run())
    assert "Toy sharpen" in at.selectbox(key="deblur_method").options
    at.selectbox(key="deblur_method").set_value("Toy sharpen")
    at = _ok(at.run())
    assert at.slider(key="deblur_amount").value == 0.5
    assert {"Sharpness before", "Sharpness after"} <= set(_metrics(at))
    assert any("--method toy-sharpen" in c.value for c in at.code)


def test_a_method_for_photos_only_is_not_offered_for_video(app_env, toy_method):
    from deblur_core.learned.registry import Registry
    from studio.methods import method_menu, video_menu

    registry = Registry(app_env, app_env / "none")
    assert "toy-sharpen" in [c.method for c in method_menu(registry).choices]
    choices, _ = video_menu(registry)
    assert "toy-sharpen" not in [c.method for c in choices]
    assert {"wiener", "richardson-lucy"} <= {c.method for c in choices}


def test_a_heic_photo_from_a_phone_is_accepted_restored_upright_and_downloads_as_png(app_env):
    """iPhones save HEIC: the upload box takes it, the photo is turned upright, and the result is a full-size PNG."""
    from tests.heic_photos import band_photo, heic_bytes

    at = _start()
    uploader = at.file_uploader(key="deblur_upload")
    assert {".heic", ".heif"} <= set(uploader.proto.type)
    uploader.set_value(("IMG_0003.HEIC", heic_bytes(band_photo(48, 80), orientation=6), "image/heic"))
    at = _ok(at.run())
    assert "Sharpness after" in _metrics(at)
    assert "Download IMG_0003_deblurred.png" in [d.label for d in at.download_button]
    (upload,) = at.session_state["deblur_upload_decoded"].values()
    assert upload.loaded.format == "HEIF"
    assert upload.rgb.shape == (80, 48, 3)  # the sideways photo, turned upright
    red = upload.rgb[..., 0] - upload.rgb[..., 2]
    assert red[:, -3:].mean() > 0.5 > red[:, :3].mean()


@pytest.fixture
def picker_models(tmp_path, monkeypatch):
    """A good recommended model, one worse than its blurred input, and an enlarging DBSRCNN, all tiny."""
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import save_model

    shipped = tmp_path / "shipped"
    unet = {"architecture": "unet", "arch_args": {"base_filters": 4, "depth": 2}}
    good = {**unet, "recommended": True, "description": "Blind deblurring of photos: every blur."}
    save_model(build("unet", base_filters=4, depth=2), shipped / "good.keras", good)
    weak = {**unet, "description": "The classic autoencoder recipe, kept for comparison."}
    weak["validation"] = {"psnr": 21.91, "blurred_psnr": 23.75}
    save_model(build("unet", base_filters=4, depth=2), shipped / "weak.keras", weak)
    sr = {"architecture": "dbsrcnn", "arch_args": {"filters": 4}, "description": "DBSRCNN: deblur and enlarge 3x."}
    save_model(build("dbsrcnn", filters=4), shipped / "sr-x3.keras", sr)
    monkeypatch.setenv("DEBLUR_STUDIO_SHIPPED_MODELS", str(shipped))
    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(tmp_path / "user"))
    monkeypatch.setenv("DEBLUR_STUDIO_DATA", str(tmp_path / "no-shared-data"))
    return shipped


def test_the_photo_picker_says_what_each_model_is_for_and_marks_the_weak_one(picker_models):
    """A picture too large to enlarge 3x: the enlarging note appears only once that model is selected."""
    big = np.random.default_rng(0).random((1640, 1640, 3)).astype(np.float32)  # 2.7 MP, 24.2 MP enlarged
    at = _start()
    at.file_uploader(key="deblur_upload").set_value(("big.png", encode_image(big), "image/png"))
    at = _ok(at.run())
    picker = at.selectbox(key="deblur_method")
    assert picker.value == "good (recommended)"
    assert "good (recommended) — blind deblurring of photos" in picker.options
    assert "weak · worse than its input — the classic autoencoder recipe, kept for comparison" in picker.options
    assert not any("enlarge" in box.value for box in at.info)
    picker.set_value("weak")
    at = _ok(at.run())
    assert any("does not beat its blurred input" in w.value for w in at.warning)
    assert "Sharpness after" in _metrics(at)  # still selectable, and it runs
    at.selectbox(key="deblur_method").set_value("sr-x3: deblur only")
    at = _ok(at.run())
    assert any("can also enlarge 3x" in box.value for box in at.info)


def test_a_20000_by_20_strip_gets_a_readable_preview(app_env):
    strip = np.full((20, 20000, 3), 0.5, np.float32)
    at = _start()
    at.file_uploader(key="deblur_upload").set_value(("strip.png", encode_image(strip), "image/png"))
    at = _ok(at.run())
    assert any(c.value.startswith("This picture is very wide (20000 × 20 px)") for c in at.caption)


def _metric_row_of_a_tiny_change():
    import numpy as np

    from studio.tasks import Restored
    from studio.widgets import metric_row

    flat = np.zeros((8, 8, 3), np.float32)
    metric_row(Restored(flat, 0.1, sharp_in=0.12340, sharp_out=0.12337), has_truth=False)
    metric_row(Restored(flat, 0.1, psnr_in=30.0, psnr_out=29.998, ssim_in=0.9, ssim_out=0.8996), has_truth=True)


def test_a_change_that_rounds_to_zero_is_not_shown_red():
    at = _ok(AppTest.from_function(_metric_row_of_a_tiny_change).run())
    deltas = {m.label: m.proto for m in at.metric if m.proto.delta}
    assert {label: proto.delta for label, proto in deltas.items()} == {
        "Sharpness after": "0.000",
        "PSNR": "0.00 dB",
        "SSIM": "0.000",
    }
    assert all(proto.color != proto.MetricColor.RED for proto in deltas.values())
