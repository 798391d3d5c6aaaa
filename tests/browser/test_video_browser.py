"""The Video page in a real Chromium: the restored clip loads, has the right length and plays."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

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
SAMPLE = (36, 96, 128)  # frames, height, width of the sample clip
WINDOW = 7  # the page's default frame averaging: the result has SAMPLE[0] - WINDOW + 1 frames
FPS = 24.0

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _chromium() -> Path:
    """The system Chromium; waits a little in case it is still being installed."""
    for _ in range(60):
        if CHROMIUM.is_file():
            return CHROMIUM
        if not os.environ.get("CI"):
            break
        time.sleep(5)
    if os.environ.get("CI"):
        pytest.fail(f"CI needs Chromium at {CHROMIUM}.")
    pytest.skip(f"no Chromium at {CHROMIUM}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """``streamlit run app.py`` on a free port with empty model folders (the classical default) and a small sample."""
    _chromium()
    tmp = tmp_path_factory.mktemp("video-app")
    for name in ("shipped", "user"):
        (tmp / name).mkdir()
    env = dict(
        os.environ,
        DEBLUR_STUDIO_VIDEO_SAMPLE=",".join(map(str, SAMPLE)),
        DEBLUR_STUDIO_SHIPPED_MODELS=str(tmp / "shipped"),
        DEBLUR_STUDIO_MODELS=str(tmp / "user"),
        DEBLUR_STUDIO_JOBS=str(tmp / "jobs"),
    )
    port = _free_port()
    log = (tmp / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
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
                pytest.fail(f"streamlit did not start: {(tmp / 'streamlit.log').read_text()[-2000:]}")
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


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(_chromium()), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _whole_page(page, path: Path, width: int) -> None:
    """Screenshot everything: Streamlit scrolls inside its own container, so grow the window to fit it."""
    page.set_viewport_size({"width": width, "height": 900})
    page.evaluate("() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
    page.wait_for_timeout(800)
    height = page.evaluate(
        "() => { const main = document.querySelector('[data-testid=\"stMainBlockContainer\"]');"
        " return main ? main.getBoundingClientRect().top + main.scrollHeight : document.body.scrollHeight; }"
    )
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))


def _shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DEBLUR_STUDIO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_restored_video_loads_has_its_length_and_plays(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    # A deep link is this fresh server's very first request: the page must still open inside the app's
    # navigation (titles from app.py), not Streamlit's automatic list of the files in pages/.
    page.goto(f"{app_url}/video")
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_text("Train a model").wait_for(timeout=30_000)
    links = [t.strip() for t in nav.get_by_role("link").all_inner_texts()]
    assert any("Train a model" in t for t in links) and any("Compare methods" in t for t in links), links
    assert not any(t.endswith("app") for t in links), links
    page.get_by_role("button", name="Deblur the video").click()
    videos = page.locator("video")
    videos.nth(1).wait_for(state="attached", timeout=180_000)
    assert videos.count() == 2
    output = videos.nth(1)
    output.scroll_into_view_if_needed()
    # Chromium may stop at the metadata with preload="metadata"; asking for the data is what a click on play does.
    output.evaluate("v => { v.preload = 'auto'; if (v.readyState < 2) v.load(); }")
    page.wait_for_function("v => v.readyState >= 2", arg=output.element_handle(), timeout=30_000)
    frames = SAMPLE[0] - WINDOW + 1
    duration = output.evaluate("v => v.duration")
    assert abs(duration - frames / FPS) <= 1 / FPS + 1e-6, f"duration {duration} s for {frames} frames at {FPS} fps"
    size = output.evaluate("v => [v.videoWidth, v.videoHeight]")
    assert size == [SAMPLE[2], SAMPLE[1]]
    output.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 0.1 || v.ended", arg=output.element_handle(), timeout=15_000)
    assert output.evaluate("v => v.error") is None
    # The input player works too.
    page.wait_for_function(
        "v => { if (v.readyState < 2) { v.preload = 'auto'; v.load(); } return v.readyState >= 2; }",
        arg=videos.nth(0).element_handle(),
        timeout=30_000,
    )
    assert page.get_by_text("Audio is dropped").count() == 1
    assert page.get_by_text("Quality against the sharp frames").count() == 1

    shots = _shots_dir(tmp_path)
    _whole_page(page, shots / "video-desktop.png", 1280)
    _whole_page(page, shots / "video-phone.png", 390)
    assert page.locator("video").count() == 2  # still there on a phone-sized screen
    page.close()
