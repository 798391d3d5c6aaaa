"""The launcher that imports the app's libraries before the server listens."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys

from studio import serve

ROOT = serve.APP.parent


def test_preload_imports_the_modules_and_skips_a_missing_one_with_a_warning(caplog, monkeypatch):
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    with caplog.at_level(logging.WARNING, logger="deblur_studio.serve"):
        seconds = serve.preload(("colorsys", "no_such_module_here"))
    assert "colorsys" in sys.modules
    assert "no_such_module_here" in caplog.text and seconds >= 0


def test_the_preload_list_names_importable_modules_and_not_tensorflow():
    assert all(importlib.util.find_spec(name) is not None for name in serve.PRELOAD)
    assert all(not name.startswith(("tensorflow", "keras")) for name in serve.PRELOAD)
    assert serve.APP.name == "app.py" and serve.APP.is_file()


def test_the_app_is_the_one_in_the_current_folder_or_else_the_projects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert serve.app_path() == serve.APP
    (tmp_path / "app.py").write_text("")
    assert serve.app_path() == tmp_path / "app.py"


MAPPED = """
import inspect, sys
from studio import serve

def unmapped():
    files = []
    for module in list(sys.modules.values()):
        try:
            files.append(inspect.getabsfile(module))
        except TypeError:  # built into the interpreter: no file to map
            continue
    return sum(name not in inspect.modulesbyfile for name in files)

serve.preload(("numpy", "scipy.ndimage", "PIL.Image"))
before = unmapped()
serve.map_modules_to_files()
print(before, unmapped())
"""


def test_modules_are_mapped_to_their_files_before_the_server_listens():
    """What Streamlit's first element would otherwise do while the first visitor waits (see the function)."""
    done = subprocess.run([sys.executable, "-c", MAPPED], cwd=ROOT, capture_output=True, text=True, check=True)
    before, after = map(int, done.stdout.split())
    assert before > 100 and after == 0, done.stdout
