"""The Deblur page in a real Chromium: the first-visit example, blurring on purpose, uploading and downloading."""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PSNR_VALUE = re.compile(r"^\d+\.\d\d dB$")

pytestmark = pytest.mark.browser


def _chromium() -> Path:
    if CHROMIUM.is_file():
        return CHROMIUM
    message = f"no Chromium at {CHROMIUM}: install Debian's chromium package to run the browser tests"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run them)")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """``streamlit run app.py`` on a free port, with a tiny model as the shipped default."""
    _chromium()
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
    env = dict(
        os.environ,
        DEBLUR_STUDIO_SHIPPED_MODELS=str(tmp / "shipped"),
        DEBLUR_STUDIO_MODELS=str(tmp / "user"),
        DEBLUR_STUDIO_JOBS=str(tmp / "jobs"),
    )
    port = _free_port()
    log_path = tmp / "streamlit.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        assert "Traceback" not in log_path.read_text(errors="replace"), log_path.read_text()[-3000:]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(_chromium()), args=CHROMIUM_ARGS)
        yield b
        b.close()


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


def _shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DEBLUR_STUDIO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _whole_page(page, path: Path, width: int) -> None:
    """Screenshot everything: Streamlit scrolls inside its own container, so grow the window to fit it."""
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_timeout(800)
    height = page.evaluate(
        "() => { const main = document.querySelector('[data-testid=\"stMainBlockContainer\"]');"
        " return main ? main.getBoundingClientRect().top + main.scrollHeight : document.body.scrollHeight; }"
    )
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))


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
    shots = _shots_dir(tmp_path)
    _whole_page(page, shots / "deblur-example-desktop.png", 1366)
    _whole_page(page, shots / "deblur-example-phone.png", 390)
    page.set_viewport_size({"width": 1366, "height": 900})

    # Blur a sample on purpose and restore it: the result comes with its PSNR.
    page.get_by_test_id("stRadioGroup").get_by_text("Blur it for me", exact=True).click()
    page.get_by_role("button", name="Blur and deblur").click()
    page.get_by_role("heading", name="Result").wait_for(timeout=120_000)
    psnr = _metric_value(page, "PSNR")
    assert PSNR_VALUE.match(psnr), psnr
    _settled(page)
    _whole_page(page, shots / "deblur-blur-desktop.png", 1366)
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
