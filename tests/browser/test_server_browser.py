"""The server as a whole: what it watches on disk, and how soon a fresh one answers its first visitor."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.browser.conftest import ROOT, running_app

pytestmark = pytest.mark.browser


def inotify_watches(pid: int) -> int:
    """How many files and folders the process watches through inotify."""
    total = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if "inotify" not in os.readlink(f"/proc/{pid}/fd/{fd}"):
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                total += sum(1 for line in info if line.startswith("inotify"))
        except OSError:
            continue
    return total


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="needs Linux's /proc to count inotify watches")
def test_the_served_app_does_not_watch_the_virtual_environment(browser, tmp_path):
    """The app as `make run` serves it, from a folder holding a .venv of 300 folders: nothing is watched."""
    app = tmp_path / "app"
    app.mkdir()
    for name in ("app.py", "pages", "studio", ".streamlit"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, app / name)
    for index in range(300):
        (app / ".venv" / "lib" / f"package{index}").mkdir(parents=True)
    env = {"PYTHONPATH": str(ROOT), "DEBLUR_STUDIO_MODELS": str(tmp_path / "user")}
    with running_app(tmp_path, env, cwd=app) as server:
        page = browser.new_page()
        page.goto(server.url)
        page.get_by_text("Deblur Studio").first.wait_for(timeout=120_000)
        page.wait_for_timeout(2000)  # the watcher, where there is one, starts with the first session
        watches = inotify_watches(server.pid)
        page.close()
    assert watches < 50, f"the server watches {watches} files and folders"
    assert "Inotify" not in server.log() and "watchdog" not in server.log()


# A fresh server (started by studio.serve, which imports the libraries before it listens) on the idle 2-core
# machine measured: the Deblur page's title and progress bar in 1.3-1.6 s (the browser itself takes 0.8-0.9 s to
# start the app's frontend; the bar is drawn right under the title, the sidebar's text after the page), the worked
# example after 7.7-9.0 s; the Models page's list in 2.2-2.6 s. These are the limits the server promises. The
# machine is shared, so a server that misses one gets up to two more, equally fresh tries; the best one counts
# (inside the whole suite, right after other tests, two tries once measured 2.6 and 2.24 s, alone 1.3-1.6 s).
# Later, on a slower day, the title and bar came after 1.45-1.9 s, and 2.01-2.36 s in a busy suite: the browser
# showed the bar only once it had fetched the code of every control sent with it. The first run of a visit now
# draws only the title and the bar (the controls follow on the bar's next tick) and Streamlit's first look at the
# call stack is done before the server listens: 1.4-1.6 s idle, 1.9-2.15 s with one core kept busy.
FIRST_DRAW_LIMIT_S = 2.0
MODELS_LIST_LIMIT_S = 3.0
TRIES = 3


def _fresh_server(tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    return running_app(
        tmp_path, {"DEBLUR_STUDIO_MODELS": str(tmp_path / "user"), "DEBLUR_STUDIO_JOBS": str(tmp_path / "jobs")}
    )


def _deblur_first_visit(browser, tmp_path) -> tuple[float, float]:
    """Seconds from the first request to the title and progress bar, and to the worked example."""
    with _fresh_server(tmp_path) as server:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        started = time.monotonic()
        page.goto(server.url)
        page.get_by_role("heading", name="Deblur", exact=True).wait_for(timeout=120_000)
        page.get_by_test_id("stProgress").filter(has_text="Loading the model").wait_for(timeout=120_000)
        first_draw = time.monotonic() - started
        page.get_by_test_id("stMetricLabel").get_by_text("PSNR", exact=True).first.wait_for(timeout=180_000)
        example = time.monotonic() - started
        page.close()
    return first_draw, example


def test_a_fresh_server_draws_the_deblur_page_at_once_and_the_example_when_the_model_is_ready(browser, tmp_path):
    tries = []
    while len(tries) < TRIES and not any(first < FIRST_DRAW_LIMIT_S for first, _ in tries):
        tries.append(_deblur_first_visit(browser, tmp_path / f"try{len(tries)}"))
        print(f"fresh server: title and progress after {tries[-1][0]:.2f} s, worked example after {tries[-1][1]:.1f} s")
    first_draw, example = min(tries)
    assert first_draw < FIRST_DRAW_LIMIT_S, f"title and progress after {[round(t[0], 2) for t in tries]} s"
    assert first_draw < example / 2, f"first draw {first_draw:.1f} s, worked example {example:.1f} s"


def _models_first_visit(browser, tmp_path, shipped: int) -> float:
    """Seconds from the first request to the Models page's whole list; no model may be loaded for it."""
    with _fresh_server(tmp_path) as server:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        started = time.monotonic()
        page.goto(f"{server.url}/models")
        page.get_by_role("heading", name="Models", exact=True).wait_for(timeout=120_000)
        page.get_by_test_id("stExpander").nth(shipped - 1).wait_for(timeout=120_000)
        listed = time.monotonic() - started
        assert page.get_by_test_id("stExpander").count() == shipped
        page.close()
    assert "oneDNN" not in server.log()  # TensorFlow says so when it is imported: no model was loaded
    return listed


def test_a_fresh_server_lists_the_models_without_loading_them(browser, tmp_path):
    from deblur_core.learned.registry import Registry

    shipped = len(Registry(user_dir=tmp_path / "user").list())
    tries: list[float] = []
    while len(tries) < TRIES and not any(t < MODELS_LIST_LIMIT_S for t in tries):
        tries.append(_models_first_visit(browser, tmp_path / f"try{len(tries)}", shipped))
        print(f"fresh server: the Models page's list after {tries[-1]:.2f} s")
    assert min(tries) < MODELS_LIST_LIMIT_S, f"the list after {[round(t, 2) for t in tries]} s"
