"""The Deblur page in a real Chromium: the first-visit example, blurring on purpose, uploading and downloading."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from deblur_core.settings import SHIPPED_MODELS_DIR
from tests.browser.conftest import running_app, shots_dir, whole_page

PSNR_VALUE = re.compile(r"^\d+\.\d\d dB$")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """``streamlit run app.py`` on a free port, with a tiny model as the shipped default."""
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import save_model

    tmp = tmp_path_factory.mktemp("deblur-app")
    card = {
        "architecture": "unet",
        "arch_args": {"base_filters": 4, "depth": 2},
        "recommended": True,
        "description": "A tiny test model.",
    }
    save_model(build("unet", base_filters=4, depth=2), tmp / "shipped" / "tiny-unet.keras", card)
    # The real learned deconvolver, which Blur it for me preselects because the kernel is known there.
    for suffix in (".keras", ".json"):
        shutil.copy(SHIPPED_MODELS_DIR / f"deconv-unet{suffix}", tmp / "shipped" / f"deconv-unet{suffix}")
    env = {
        "DEBLUR_STUDIO_SHIPPED_MODELS": str(tmp / "shipped"),
        "DEBLUR_STUDIO_MODELS": str(tmp / "user"),
        "DEBLUR_STUDIO_JOBS": str(tmp / "jobs"),
    }
    with running_app(tmp, env, ("--server.fileWatcherType", "none")) as server:
        yield server.url
    assert "Traceback" not in server.log(), server.log()[-3000:]


def _metric_value(page, label: str) -> str:
    """The value of the st.metric labelled ``label`` (the first one on the page)."""
    metric = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    metric.first.wait_for(timeout=120_000)
    return metric.first.get_by_test_id("stMetricValue").inner_text().strip()


def _blurry_photo(path: Path) -> tuple[int, int]:
    from skimage import data

    from deblur_core import degrade, kernels

    sharp = (data.coffee()[100:260, 200:420] / 255.0).astype(np.float32)
    blurred = degrade.blur(sharp, kernels.gaussian_kernel(2.0))
    Image.fromarray((blurred * 255 + 0.5).astype(np.uint8)).save(path)
    return blurred.shape[1], blurred.shape[0]


def _settled(page) -> None:
    """Wait until Streamlit has finished running the page (no running indicator, no stale elements)."""
    page.wait_for_timeout(400)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')",
        timeout=120_000,
    )


def test_example_blur_on_purpose_upload_and_download(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page.set_default_timeout(60_000)
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            elsewhere.append(request.url)
            if urlparse(request.url).scheme in ("http", "https", "ws", "wss")
            and urlparse(request.url).hostname not in ("127.0.0.1", "localhost")
            else None
        ),
    )
    page.goto(app_url)

    # First visit, no click: the worked example with its PSNR and SSIM.
    page.get_by_text("Worked example", exact=True).wait_for(timeout=120_000)
    assert PSNR_VALUE.match(_metric_value(page, "PSNR"))
    assert 0 < float(_metric_value(page, "SSIM")) <= 1
    slider = page.frame_locator("iframe").first.locator("input[type=range]")
    slider.wait_for(state="attached")
    assert page.frame_locator("iframe").first.locator("img").count() == 2
    _settled(page)
    shots = shots_dir(tmp_path)
    whole_page(page, shots / "deblur-example-desktop.png", 1366)
    whole_page(page, shots / "deblur-example-phone.png", 390)
    page.set_viewport_size({"width": 1366, "height": 900})

    # Blur a sample on purpose and restore it: the result comes with its PSNR.
    page.get_by_test_id("stRadioGroup").get_by_text("Blur it for me", exact=True).click()
    page.get_by_role("button", name="Blur and deblur").click()
    page.get_by_role("heading", name="Result").wait_for(timeout=120_000)
    psnr = _metric_value(page, "PSNR")
    assert PSNR_VALUE.match(psnr), psnr
    _settled(page)
    whole_page(page, shots / "deblur-blur-desktop.png", 1366)
    # The blur is known, so the learned deconvolver is the method preselected and measured here.
    assert page.get_by_text("Deblurred: Learned deconvolver", exact=True).count() == 1
    page.set_viewport_size({"width": 1366, "height": 900})

    # Upload a blurry photo: it is restored at once with the default model; download the result.
    page.get_by_test_id("stRadioGroup").get_by_text("My photo is blurry", exact=True).click()
    photo = tmp_path / "photo.png"
    width, height = _blurry_photo(photo)
    page.locator("input[type=file]").first.set_input_files(str(photo))
    download_button = page.get_by_role("button", name="Download photo_deblurred.png")
    download_button.wait_for(timeout=120_000)
    assert _metric_value(page, "Sharpness after")
    _settled(page)
    with page.expect_download(timeout=120_000) as info:
        download_button.click()
    download = info.value
    assert download.suggested_filename == "photo_deblurred.png"
    saved = tmp_path / "downloaded.png"
    download.save_as(saved)
    data = saved.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as result:
        assert result.format == "PNG" and result.size == (width, height) and result.mode == "RGB"
    assert page.get_by_text("Traceback").count() == 0
    assert page.get_by_test_id("stException").count() == 0
    assert not elsewhere, f"the page fetched from the internet: {elsewhere}"  # works offline
    page.close()


def test_a_heic_photo_uploads_and_downloads_upright_as_png(app_url, browser, tmp_path):
    """A phone's HEIC photo, taken sideways: the upload box takes it, the PNG result is upright at its size."""
    from tests.heic_photos import band_photo, heic_bytes

    page = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.get_by_text("Worked example", exact=True).wait_for(timeout=120_000)
    photo = tmp_path / "IMG_0004.HEIC"
    photo.write_bytes(heic_bytes(band_photo(120, 200), orientation=6))
    page.locator("input[type=file]").first.set_input_files(str(photo))
    download_button = page.get_by_role("button", name="Download IMG_0004_deblurred.png")
    download_button.wait_for(timeout=120_000)
    assert page.get_by_text("files are not allowed").count() == 0
    _settled(page)
    whole_page(page, shots_dir(tmp_path) / "deblur-heic-desktop.png", 1366)
    page.set_viewport_size({"width": 1366, "height": 900})
    with page.expect_download(timeout=120_000) as info:
        download_button.click()
    saved = tmp_path / "downloaded.png"
    info.value.save_as(saved)
    with Image.open(saved) as result:
        assert result.format == "PNG" and result.size == (120, 200)  # turned upright: taller than wide
        pixels = np.asarray(result.convert("RGB"), np.float32) / 255
    red = pixels[..., 0] - pixels[..., 2]
    assert red[:, -5:].mean() > 0.3 > red[:, :5].mean()  # the band that was at the top is on the right
    assert page.get_by_test_id("stException").count() == 0
    page.close()


def test_the_full_screen_button_of_the_sample_keeps_clear_of_the_sample_picker(app_url, browser):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.get_by_text("Worked example", exact=True).wait_for(timeout=120_000)
    page.get_by_test_id("stRadioGroup").get_by_text("Blur it for me", exact=True).click()
    page.get_by_text("Sharp original:").first.wait_for()
    _settled(page)
    picture = page.get_by_test_id("stImage").filter(has_text="Sharp original").first
    picture.hover()
    toolbar = page.get_by_test_id("stElementToolbar").first
    toolbar.wait_for()
    page.wait_for_timeout(1000)  # the toolbar slides into place
    button, picker = toolbar.bounding_box(), page.get_by_test_id("stSelectbox").first.bounding_box()
    assert button["y"] >= picker["y"] + picker["height"], (button, picker)
    page.close()


def test_the_estimating_method_shows_the_kernel_it_found_with_its_confidence(app_url, browser, tmp_path):
    """Upload a blurred photo, choose the estimating method: the kernel panel shows the estimate and its confidence."""
    from deblur_core.classical.estimate import estimate_kernel
    from deblur_core.io import load_image
    from studio.images import kernel_picture
    from studio.kernel_panel import source_text

    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.get_by_text("Worked example", exact=True).wait_for(timeout=120_000)
    photo = tmp_path / "photo.png"
    _blurry_photo(photo)
    expected = estimate_kernel(load_image(photo.read_bytes(), name=photo.name).rgb)  # what the server will find
    page.locator("input[type=file]").first.set_input_files(str(photo))
    page.get_by_role("button", name="Download photo_deblurred.png").wait_for(timeout=120_000)
    _settled(page)

    page.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Method", exact=True)).click()
    page.get_by_role("option", name="Estimated kernel + learned deconvolver").click()
    kernel = page.get_by_test_id("stImage").filter(has_text="Estimated kernel (")
    kernel.wait_for(timeout=120_000)
    # The picture is the estimate itself: drawn, and as wide as the enlarged estimate.
    width = kernel.locator("img").evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width == kernel_picture(expected.kernel).shape[1], width
    h, w = expected.kernel.shape
    assert f"{w} × {h} px" in kernel.inner_text()
    confidence = page.locator("li").filter(has_text="Confidence:").first.inner_text().strip()
    assert confidence.startswith(f"Confidence: {expected.confidence_words()}"), confidence
    assert (
        page.locator("li").filter(has_text="Found as:").first.inner_text().strip()
        == f"Found as: {source_text(expected)}"
    )
    assert page.get_by_test_id("stImage").filter(has_text="region the kernel was estimated from").count() == 1
    # The photo is then restored with it.
    page.get_by_text("Deblurred: Estimated kernel + learned deconvolver", exact=True).wait_for(timeout=120_000)
    _settled(page)
    whole_page(page, shots_dir(tmp_path) / "deblur-kernel-panel-desktop.png", 1366)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stAlert").filter(has_text="went wrong").count() == 0
    page.close()
