"""The Video page in a real Chromium: the restored clip loads, has the right length and plays."""

from __future__ import annotations

import pytest

from tests.browser.conftest import running_app, shots_dir, whole_page

SAMPLE = (36, 96, 128)  # frames, height, width of the sample clip
WINDOW = 7  # the page's default frame averaging: the result has SAMPLE[0] - WINDOW + 1 frames
FPS = 24.0

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """``streamlit run app.py`` on a free port with empty model folders (the classical default) and a small sample."""
    tmp = tmp_path_factory.mktemp("video-app")
    for name in ("shipped", "user"):
        (tmp / name).mkdir()
    env = {
        "DEBLUR_STUDIO_VIDEO_SAMPLE": ",".join(map(str, SAMPLE)),
        "DEBLUR_STUDIO_SHIPPED_MODELS": str(tmp / "shipped"),
        "DEBLUR_STUDIO_MODELS": str(tmp / "user"),
        "DEBLUR_STUDIO_JOBS": str(tmp / "jobs"),
    }
    with running_app(tmp, env) as server:
        yield server.url


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

    shots = shots_dir(tmp_path)
    whole_page(page, shots / "video-desktop.png", 1280)
    whole_page(page, shots / "video-phone.png", 390)
    assert page.locator("video").count() == 2  # still there on a phone-sized screen
    page.close()
