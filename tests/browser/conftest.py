"""What every browser test shares: the system Chromium, a Streamlit server of the app, screenshots.

Each test module starts the app with :func:`running_app` in a module-scoped fixture of its own (its
model and job folders, its environment) and drives it with the :func:`browser` fixture.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
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
START_TIMEOUT_S = 90


def chromium() -> Path:
    """The system Chromium. Under CI it may still be being installed, so wait a little; elsewhere skip without it."""
    for _ in range(60):
        if CHROMIUM.is_file():
            return CHROMIUM
        if not os.environ.get("CI"):
            break
        time.sleep(5)
    message = f"no Chromium at {CHROMIUM}: install Debian's chromium package to run the browser tests"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run them)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    """A running ``streamlit run app.py``: its address and its log."""

    url: str
    log_path: Path
    pid: int

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def running_app(
    folder: Path, env: dict[str, str], extra_args: tuple[str, ...] = (), cwd: Path = ROOT
) -> Iterator[AppServer]:
    """The app server (``python -m studio.serve``, as ``make run`` starts it) in ``cwd`` on a free port with ``env`` added to the environment; stopped on exit.

    The server's output goes to ``folder/streamlit.log``. It fails the test if the server does not
    answer its health check within 90 seconds.
    """
    chromium()
    port = free_port()
    log_path = folder / "streamlit.log"
    command = [sys.executable, "-m", "studio.serve", "--server.port", str(port)]
    command += ["--server.headless", "true", *extra_args]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=cwd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        server = AppServer(f"http://127.0.0.1:{port}", log_path, proc.pid)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                with contextlib.suppress(OSError):
                    if urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2).read().strip() == b"ok":
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start: {server.log()[-2000:]}")
                time.sleep(0.5)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the module's tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium()), args=CHROMIUM_ARGS)
        yield b
        b.close()


def shots_dir(tmp_path: Path) -> Path:
    """Where screenshots go: ``$DEBLUR_STUDIO_SCREENSHOTS``, or the test's own folder."""
    folder = Path(os.environ.get("DEBLUR_STUDIO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def whole_page(page, path: Path, width: int) -> None:
    """Screenshot everything: Streamlit scrolls inside its own container, so grow the window to fit it."""
    page.set_viewport_size({"width": width, "height": 900})
    page.evaluate("() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
    page.wait_for_timeout(800)
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete)", timeout=30_000)
    height = page.evaluate(
        "() => { const main = document.querySelector('[data-testid=\"stMainBlockContainer\"]');"
        " return main ? main.getBoundingClientRect().top + main.scrollHeight : document.body.scrollHeight; }"
    )
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))
