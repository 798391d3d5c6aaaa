"""The server as a whole: what it watches on disk, and how soon a fresh one answers its first visitor."""

from __future__ import annotations

import os
import shutil
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
