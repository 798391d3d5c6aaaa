"""The Classroom page in a real Chromium: every step at 1280 x 720 with no scrolling, each control moved, timed.

Screenshots of every step go to ``$DEBLUR_STUDIO_SCREENSHOTS`` (or the test's folder), and the slider
response times (from a key press on a slider to the redrawn picture) to ``classroom-timings.json`` there.
"""

from __future__ import annotations

import json
import os
import statistics
import time

import pytest

from tests.browser.conftest import running_app, shots_dir

pytestmark = pytest.mark.browser

STEPS = 8
# (step, the slider that is moved, the caption prefix of the picture it redraws); the other steps have buttons.
TIMED = {
    0: ("Length (px)", "Blurred:"),
    2: ("Noise (grey levels)", "Blurred, with"),
    3: ("Noise (grey levels)", "With "),
    4: ("NSR", "Wiener, NSR"),
    5: ("Iterations", "After "),
}
MOVES = 3  # slider moves timed on each of those steps, all to values not shown before (nothing cached)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """``streamlit run app.py`` with the shipped models (read-only) and a private user folder."""
    tmp = tmp_path_factory.mktemp("classroom-app")
    env = {"DEBLUR_STUDIO_MODELS": str(tmp / "user"), "DEBLUR_STUDIO_JOBS": str(tmp / "jobs")}
    with running_app(tmp, env, ("--server.fileWatcherType", "none")) as server:
        yield server.url
    assert "Traceback" not in server.log(), server.log()[-3000:]


def _settled(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')"
        " && Array.from(document.images).every(img => img.complete)",
        timeout=180_000,
    )


def _overflow(page) -> int:
    """How many pixels the page would have to scroll: the largest overflow of any scrolling element."""
    return page.evaluate(
        """() => {
            let worst = document.scrollingElement.scrollHeight - window.innerHeight;
            for (const e of document.querySelectorAll('*')) {
                const style = getComputedStyle(e);
                if (['auto', 'scroll'].includes(style.overflowY) && e.clientHeight > 0
                    && e.offsetParent !== null && !e.closest('[data-testid="stSidebar"]')
                    && !e.closest('[data-baseweb="popover"]') && !e.closest('.js-plotly-plot'))
                    worst = Math.max(worst, e.scrollHeight - e.clientHeight);
            }
            return worst;
        }"""
    )


def _no_error(page) -> None:
    assert page.get_by_test_id("stException").count() == 0
    errors = page.locator("[data-testid='stAlertContentError']")
    assert errors.count() == 0, errors.all_inner_texts()


def _image_src(page, caption_prefix: str) -> str:
    """The address of the picture whose caption starts with ``caption_prefix``."""
    return page.evaluate(
        """prefix => {
            for (const box of document.querySelectorAll('[data-testid="stImage"]')) {
                const caption = box.querySelector('[data-testid="stImageCaption"]');
                if (caption && caption.innerText.trim().startsWith(prefix)) return box.querySelector('img').src;
            }
            return null;
        }""",
        caption_prefix,
    )


def _wait_for_image(page, caption_prefix: str, timeout_s: float = 120.0) -> str:
    """The address of the captioned picture once it is drawn: a step's first run may still be under way
    when the page looks settled (Streamlit shows its running sign only after a moment)."""
    deadline = time.perf_counter() + timeout_s
    while (src := _image_src(page, caption_prefix)) is None:
        assert time.perf_counter() < deadline, f"no picture captioned {caption_prefix!r} after {timeout_s:.0f} s"
        page.wait_for_timeout(100)
    return src


def _slider(page, label: str):
    box = page.get_by_test_id("stSlider").filter(has=page.get_by_text(label, exact=True))
    return box.first.get_by_role("slider")


def _timed_moves(page, label: str, caption: str) -> list[float]:
    """Seconds from an arrow key on the slider to the redrawn picture, for each of ``MOVES`` moves to the right."""
    seconds = []
    thumb = _slider(page, label)
    for _ in range(MOVES):
        before = _wait_for_image(page, caption)
        thumb.focus()
        start = time.perf_counter()
        thumb.press("ArrowRight")
        page.wait_for_function(
            """([prefix, before]) => {
                for (const box of document.querySelectorAll('[data-testid="stImage"]')) {
                    const caption = box.querySelector('[data-testid="stImageCaption"]');
                    const img = box.querySelector('img');
                    if (caption && caption.innerText.trim().startsWith(prefix))
                        return img.src !== before && img.complete && img.naturalWidth > 0;
                }
                return false;
            }""",
            arg=[caption, before],
            timeout=60_000,
            polling=20,
        )
        seconds.append(time.perf_counter() - start)
        _settled(page)
    return seconds


def _move_button_control(page, step: int) -> None:
    if step == 1:
        page.get_by_test_id("stCheckbox").filter(has_text="Mark what is lost").first.click()
    elif step == 6:
        page.get_by_test_id("stRadio").get_by_text("Their errors", exact=True).click()
    elif step == 7:
        page.get_by_role("button", name="Reveal").click()
        page.get_by_text("It was ", exact=False).first.wait_for(timeout=30_000)


def test_every_step_fits_the_screen_and_answers_its_control(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(120_000)
    page.goto(f"{app_url}/classroom")
    page.get_by_text("1. Blur is a convolution").wait_for(timeout=120_000)
    shots = shots_dir(tmp_path)
    timings: dict[str, list[float]] = {}
    opened: dict[str, float] = {}  # seconds from a click on Next to the step drawn, the first time
    for step in range(STEPS):
        page.locator("h3").filter(has_text=f"{step + 1}. ").first.wait_for(timeout=180_000)
        _settled(page)
        _no_error(page)
        if step in TIMED:
            label, caption = TIMED[step]
            timings[f"step {step + 1}: {label}"] = _timed_moves(page, label, caption)
        else:
            _move_button_control(page, step)
            _settled(page)
        _no_error(page)
        overflow = _overflow(page)
        page.mouse.move(1, 1)  # no hover effects in the picture
        page.screenshot(path=str(shots / f"classroom-step{step + 1}-1280x720.png"))
        assert overflow <= 2, f"step {step + 1} needs {overflow} px of scrolling at 1280 x 720"
        if step < STEPS - 1:
            start = time.perf_counter()
            page.get_by_role("button", name="Next").click()
            page.locator("h3").filter(has_text=f"{step + 2}. ").first.wait_for(timeout=180_000)
            _settled(page)
            opened[f"step {step + 2}"] = time.perf_counter() - start
    everything = [s for values in timings.values() for s in values]
    summary = {
        "median_s": statistics.median(everything),
        "max_s": max(everything),
        "samples": len(everything),
        "per_slider": timings,
        "open_step_s": opened,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    (shots / "classroom-timings.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    # About a second on 2 shared cores is the target; twice that fails, whatever the machine's load.
    assert summary["median_s"] < 2.0, summary

    # Projector mode on a 1920 x 1080 screen and on a 1280 x 720 one: larger type, still no scrolling.
    page.set_viewport_size({"width": 1920, "height": 1080})
    _settled(page)
    main_heading = page.locator("[data-testid='stMainBlockContainer'] h3").first
    heading = main_heading.bounding_box()["height"]
    page.get_by_test_id("stCheckbox").filter(has_text="Projector").first.click()
    for step in (0, 4, 6):
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option").nth(step).click()
        page.locator("h3").filter(has_text=f"{step + 1}. ").first.wait_for(timeout=180_000)
        _settled(page)
        _no_error(page)
        assert main_heading.bounding_box()["height"] > 1.25 * heading  # the type is larger
        assert page.get_by_test_id("stSidebar").is_hidden()
        page.mouse.move(1, 1)
        page.screenshot(path=str(shots / f"classroom-step{step + 1}-projector-1920x1080.png"))
        assert _overflow(page) <= 2, f"step {step + 1} scrolls in projector mode at 1920 x 1080"

    page.set_viewport_size({"width": 1280, "height": 720})
    for step in range(STEPS):
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option").nth(step).click()
        page.locator("h3").filter(has_text=f"{step + 1}. ").first.wait_for(timeout=180_000)
        _settled(page)
        _no_error(page)
        page.mouse.move(1, 1)
        page.screenshot(path=str(shots / f"classroom-step{step + 1}-projector-1280x720.png"))
        assert _overflow(page) <= 2, f"step {step + 1} scrolls in projector mode at 1280 x 720"
