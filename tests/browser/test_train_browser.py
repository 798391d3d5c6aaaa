"""The Train and Models pages in a real Chromium: a tiny job started from the page, its charts growing live."""

from __future__ import annotations

import contextlib
import os
import signal
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
EPOCHS = 3

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Points drawn in each Plotly chart on the page (the first trace of each), read from the charts' own data.
CHART_POINTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'),
    el => (el.data && el.data[0] && el.data[0].x) ? el.data[0].x.filter(v => v !== null).length : 0)"""


def _chromium() -> Path:
    """The system Chromium; waits while it may still be being installed."""
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
def app(tmp_path_factory):
    """``streamlit run app.py`` on a free port with model and job folders of its own: (url, user model folder)."""
    _chromium()
    tmp = tmp_path_factory.mktemp("train-app")
    (tmp / "shipped").mkdir()
    env = dict(
        os.environ,
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
        yield url, tmp / "user", tmp / "jobs"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        from deblur_core.training import jobs

        # The training process outlives the server on purpose; a test must not leave one behind.
        for job in jobs.list_jobs(tmp / "jobs"):
            if job.active:
                jobs.kill_job(job)


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
    page.wait_for_timeout(800)
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete)", timeout=30_000)
    height = page.evaluate("() => document.querySelector('[data-testid=stMainBlockContainer]').scrollHeight + 120")
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))


def _shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DEBLUR_STUDIO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _widget(page, testid: str, label: str):
    return page.locator(f'[data-testid="{testid}"]').filter(has_text=label).first


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]'
    ).first.inner_text()


def test_a_job_started_in_the_page_draws_its_epochs_live(app, browser, tmp_path):
    from deblur_core.training import jobs

    url, user, jobs_root = app
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Train a model").click(timeout=90_000)
    page.get_by_role("heading", name="Train a model").wait_for(timeout=90_000)
    page.get_by_text("Small: 8 base filters, 2 levels").click()
    page.get_by_text("Training settings").click()
    for label in ("Patch size (px)", "Batch size (patches per step)"):
        page.locator(f'input[type="range"][aria-label="{label}"]').press("Home")  # the smallest choice
    for label, value in (("Epochs", EPOCHS), ("Steps per epoch", 3)):
        box = _widget(page, "stNumberInput", label).locator("input")
        box.fill(str(value))
        box.press("Enter")
    name = page.get_by_role("textbox", name="Model name")
    name.fill("browser-tiny")
    name.press("Enter")
    page.wait_for_timeout(1500)
    _no_exception(page)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Training browser-tiny").wait_for(timeout=60_000)

    # Freeze the trainer right after its first epoch, so the page is seen drawing a partial run
    # however fast the machine is; then let it finish and see the charts grow.
    deadline = time.monotonic() + 300
    job = None
    while job is None or not jobs.job_progress(job).epochs:
        assert time.monotonic() < deadline, "the first epoch never finished"
        job = jobs.current_job(jobs_root) or job
        assert job is None or job.active or jobs.job_progress(job).epochs, job.message
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGSTOP)
    try:
        partial = len(jobs.job_progress(job).epochs)
        assert partial < EPOCHS
        page.wait_for_function(f"() => ({CHART_POINTS})().join() === '{partial},{partial},{partial}'", timeout=60_000)
        assert page.get_by_text("Validation picture after epoch").count() == 1
    finally:
        os.killpg(job.pid, signal.SIGCONT)
    page.get_by_text("is trained and saved").wait_for(timeout=120_000)
    page.wait_for_function(f"() => ({CHART_POINTS})().join() === '{EPOCHS},{EPOCHS},{EPOCHS}'", timeout=60_000)
    assert page.get_by_text("Validation picture after epoch").count() == 1
    assert (user / "browser-tiny.keras").is_file()
    _no_exception(page)

    shots = _shots_dir(tmp_path)
    _whole_page(page, shots / "train-desktop.png", 1280)
    _whole_page(page, shots / "train-phone.png", 390)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Models").click()
    page.get_by_text("browser-tiny (yours)").wait_for(timeout=60_000)
    page.get_by_text("dB PSNR").first.wait_for(timeout=60_000)  # the before/after sample has run
    _no_exception(page)
    _whole_page(page, shots / "models-desktop.png", 1280)
    _whole_page(page, shots / "models-phone.png", 390)
    page.close()
