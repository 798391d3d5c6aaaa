"""The Train and Models pages in a real Chromium: a tiny job started from the page, its charts growing live."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.browser.conftest import running_app, shots_dir, whole_page

EPOCHS = 3

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Points drawn in each Plotly chart on the page (the first trace of each), read from the charts' own data.
CHART_POINTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'),
    el => (el.data && el.data[0] && el.data[0].x) ? el.data[0].x.filter(v => v !== null).length : 0)"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """``streamlit run app.py`` on a free port with model and job folders of its own: (url, user model folder)."""
    tmp = tmp_path_factory.mktemp("train-app")
    (tmp / "shipped").mkdir()
    env = {
        "DEBLUR_STUDIO_SHIPPED_MODELS": str(tmp / "shipped"),
        "DEBLUR_STUDIO_MODELS": str(tmp / "user"),
        "DEBLUR_STUDIO_JOBS": str(tmp / "jobs"),
    }
    try:
        with running_app(tmp, env) as server:
            yield server.url, tmp / "user", tmp / "jobs"
    finally:
        from deblur_core.training import jobs

        # The training process outlives the server on purpose; a test must not leave one behind.
        for job in jobs.list_jobs(tmp / "jobs"):
            if job.active:
                jobs.kill_job(job)


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
    page.get_by_text("Training browser-tiny").first.wait_for(timeout=60_000)

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
        _one_validation_picture(page)
    finally:
        os.killpg(job.pid, signal.SIGCONT)
    page.get_by_text("is trained and saved").wait_for(timeout=120_000)
    page.wait_for_function(f"() => ({CHART_POINTS})().join() === '{EPOCHS},{EPOCHS},{EPOCHS}'", timeout=60_000)
    _one_validation_picture(page)
    assert (user / "browser-tiny.keras").is_file()
    _no_exception(page)

    shots = shots_dir(tmp_path)
    whole_page(page, shots / "train-desktop.png", 1280)
    whole_page(page, shots / "train-phone.png", 390)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Models").click()
    page.get_by_text("browser-tiny (yours)").wait_for(timeout=60_000)
    page.get_by_role("button", name="Run it on a sample").first.click()  # samples run on request
    page.get_by_text("dB PSNR").first.wait_for(timeout=60_000)  # the before/after sample has run
    _no_exception(page)
    whole_page(page, shots / "models-desktop.png", 1280)
    whole_page(page, shots / "models-phone.png", 390)
    page.close()


def _one_validation_picture(page) -> None:
    """The validation picture's heading is on the page, once. The page draws it after the charts: when the job
    ends, the whole page is drawn again, and for a moment the new charts are there and the heading not yet."""
    heading = page.get_by_text("Validation picture after epoch")
    heading.first.wait_for(timeout=30_000)
    assert heading.count() == 1
