"""The command line answers at once when it has nothing to compute: help, usage errors, unreadable inputs.

Each case runs ``python -m deblur_core`` in a fresh interpreter, as a user does, and checks two things:
TensorFlow was never imported (the cause of a slow answer, checked exactly), and the wall time stays below
half of what importing TensorFlow alone takes on the same machine at the same time, so a busy machine
slows both alike. Measured on an idle 2-core machine: 0.5 s for ``deblur empty.png --out o``, 5 s for
TensorFlow's import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deblur_core.io import save_image

ROOT = Path(__file__).resolve().parents[1]

# Runs the command line in-process and reports whether TensorFlow or Keras got imported on the way.
PROBE = (
    "import sys\n"
    "from deblur_core.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('TF', code, 'tensorflow' in sys.modules or 'keras' in sys.modules)\n"
)


def run_cli(tmp_path: Path, *argv: str) -> tuple[int, bool, str, float]:
    """(exit code, whether TensorFlow was imported, stderr, wall seconds) of one fresh command line."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "DEBLUR_STUDIO_MODELS": str(tmp_path / "user-models")},
        timeout=120,
    )
    elapsed = time.monotonic() - started
    last = done.stdout.strip().splitlines()[-1]
    _, code, loaded = last.split()
    return int(code), loaded == "True", done.stderr, elapsed


@pytest.fixture(scope="module")
def time_limit_s() -> float:
    """Half the time a fresh interpreter takes to import TensorFlow here and now (at least 1 s)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True, check=True, timeout=300)
    return max(1.0, (time.monotonic() - started) / 2)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.png").write_bytes(b"These are my holiday notes, not a picture.\n" * 20)
    save_image(np.full((4, 300, 3), 0.5, np.float32), tmp_path / "thin.png")
    return tmp_path


CASES = {
    "empty file, default model": (["deblur", "empty.png", "--out", "o"], 1, "skipped empty.png: the file is empty."),
    "missing file": (["deblur", "nowhere.png", "--out", "o"], 1, "does not exist"),
    "not an image": (["deblur", "notes.png", "--out", "o"], 1, "skipped notes.png: this is not a"),
    "too thin": (["deblur", "thin.png", "--out", "o"], 1, "each side must be at least"),
    "several bad files": (["deblur", "empty.png", "notes.png", "--out", "o"], 1, "0 of 2 image(s) restored"),
    "the deconvolver, empty file": (
        ["deblur", "empty.png", "--out", "o", "--method", "deconvolver", "--kernel", "gaussian:sigma=2"],
        1,
        "the file is empty.",
    ),
    "a named model, empty file": (["deblur", "empty.png", "--out", "o", "--method", "deblur-unet"], 1, "is empty"),
    "unknown method": (["deblur", "empty.png", "--out", "o", "--method", "nosuch"], 2, "no model called 'nosuch'"),
    "unknown option": (["deblur", "empty.png", "--out", "o", "--bogus"], 2, "unrecognized arguments"),
    "estimate, empty file": (["estimate", "empty.png", "--out", "o"], 1, "skipped empty.png: the file is empty."),
    "estimate, bad region": (["estimate", "empty.png", "--out", "o", "--region", "1,2"], 2, "--region takes four"),
    "help": (["--help"], 0, ""),
    "deblur help": (["deblur", "--help"], 0, ""),
    "models": (["models"], 0, ""),
    "estimate help": (["estimate", "--help"], 0, ""),
    "video help": (["video", "--help"], 0, ""),
    "train help": (["train", "--help"], 0, ""),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_command_line_answers_without_tensorflow(inputs, time_limit_s, case):
    argv, expected_code, sentence = CASES[case]
    code, loaded, err, elapsed = run_cli(inputs, *argv)
    assert code == expected_code, err
    assert sentence in err
    assert "Traceback" not in err
    assert not loaded, f"{case}: TensorFlow was imported before the command could answer"
    assert elapsed < time_limit_s, f"{case}: {elapsed:.2f} s against a limit of {time_limit_s:.2f} s"


def test_an_empty_file_fails_in_a_fraction_of_a_tensorflow_import(inputs, time_limit_s):
    """The issue's own case, ``deblur empty.png --out o``: its sentence, at once."""
    code, loaded, err, elapsed = run_cli(inputs, "deblur", "empty.png", "--out", "o")
    assert (code, loaded) == (1, False), err
    assert "empty.png: the file is empty." in err
    assert elapsed < time_limit_s, f"{elapsed:.2f} s against a limit of {time_limit_s:.2f} s"


def test_a_good_file_beside_a_bad_one_still_runs_the_model(capsys, tmp_path, monkeypatch):
    """Checking headers first changes nothing for the readable inputs: they are restored, the bad one skipped."""
    from deblur_core.cli import main

    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(tmp_path / "user-models"))
    save_image(np.full((24, 24, 3), 0.5, np.float32), tmp_path / "good.png")
    (tmp_path / "empty.png").write_bytes(b"")
    code = main(["deblur", str(tmp_path / "empty.png"), str(tmp_path / "good.png"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("empty.png") == 1 and "1 of 2 image(s) restored" in err
    assert (tmp_path / "o" / "good.png").is_file()


def test_the_command_line_asks_glibc_for_fewer_malloc_arenas(monkeypatch):
    """Two arenas instead of eight per core keep a 12-MP restoration under 2 GB; an explicit setting wins."""
    import platform

    from deblur_core.cli.main import fewer_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert fewer_malloc_arenas() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert fewer_malloc_arenas() is True
    else:
        assert fewer_malloc_arenas() is False
