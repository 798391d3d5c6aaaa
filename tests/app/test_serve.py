"""The launcher that imports the app's libraries before the server listens."""

from __future__ import annotations

import importlib.util
import logging
import sys

from studio import serve


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
