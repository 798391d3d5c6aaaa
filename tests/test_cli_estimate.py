"""The ``estimate`` command and ``deblur --save-kernel``: the kernel files, their names, refusals and messages."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from deblur_core.classical.estimate import estimate_kernel, kernel_axes
from deblur_core.cli import main
from deblur_core.degrade import degrade
from deblur_core.io import read_rgb, save_image
from deblur_core.kernels import gaussian_kernel, parse_kernel_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def private_model_folder(tmp_path, monkeypatch):
    """Keep every test away from the real user model folder."""
    folder = tmp_path / "user-models"
    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(folder))
    return folder


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """The 256 x 256 crop of a real photo that tests/test_estimate.py uses, edges in every direction."""
    return data.astronaut()[20:276, 120:376].astype(np.float32) / 255.0


def blurred(photo: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """``photo`` blurred with a Gaussian of ``sigma`` px, a little noise, rounded to 8 bits (as a PNG keeps it)."""
    return degrade(photo, gaussian_kernel(sigma), 0.005, np.random.default_rng(0), round8=True)


def run(capsys, *argv) -> tuple[int, str]:
    """Run the command line in-process; returns (exit code, stderr)."""
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def check_kernel_files(npy: Path, png: Path) -> np.ndarray:
    """Both files of a kernel are there and agree: a float32 kernel summing to 1, and its picture; returns it."""
    kernel = np.load(npy)
    assert kernel.dtype == np.float32 and kernel.ndim == 2
    assert kernel.shape[0] % 2 == 1 and kernel.shape[1] % 2 == 1
    assert kernel.min() >= 0 and abs(float(kernel.sum()) - 1.0) < 1e-5
    with Image.open(png) as picture:
        assert picture.mode == "L"
        pixels = np.asarray(picture)
    # A kernel under five pixels a side (the identity) is drawn centred on a black 5 x 5 square.
    shown = np.pad(kernel, [((5 - n) // 2, 5 - n - (5 - n) // 2) if n < 5 else (0, 0) for n in kernel.shape])
    factor = pixels.shape[0] // shown.shape[0]
    assert pixels.shape == (shown.shape[0] * factor, shown.shape[1] * factor)
    assert max(pixels.shape) >= 256
    # Each kernel pixel is one flat square, white at the peak and black where the kernel is 0.
    squares = pixels.reshape(shown.shape[0], factor, shown.shape[1], factor)
    assert (squares == squares[:, :1, :, :1]).all()
    centres = squares[:, 0, :, 0]
    assert centres.max() == 255 and np.unravel_index(centres.argmax(), centres.shape) == np.unravel_index(
        shown.argmax(), shown.shape
    )
    assert (centres[shown == 0] == 0).all()
    return kernel


# --------------------------------------------------------------------------------------------------
# estimate
# --------------------------------------------------------------------------------------------------


def test_estimate_writes_a_gaussian_blur_close_to_the_true_kernel(capsys, photo, tmp_path):
    source = tmp_path / "blurred.png"
    save_image(blurred(photo, 2.0), source)
    out = tmp_path / "kernels"
    code, err = run(capsys, "estimate", source, "--out", out, "--max-size", "15")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["blurred_kernel.npy", "blurred_kernel.png"]
    kernel = check_kernel_files(out / "blurred_kernel.npy", out / "blurred_kernel.png")
    # The tolerance of tests/test_estimate.py: the true kernel has 2.0 px along both axes; within 30 %, and round.
    values, _ = kernel_axes(kernel)
    small, large = math.sqrt(max(values[0], 0)), math.sqrt(values[1])
    assert 1.4 < small <= large < 2.6, (large, small)
    h, w = kernel.shape
    line = next(line for line in err.splitlines() if line.startswith(f"{source}: "))
    assert f"{w} x {h} px kernel" in line and "confidence " in line and f"-> {out / 'blurred_kernel.npy'}" in line
    assert any(word in line for word in ("estimated", "gaussian fit", "disk fit", "line fit"))
    assert line.split(", ")[-1].split()[1] == "s"  # the seconds
    assert "1 of 1 kernel(s) estimated" in err


def test_a_sharp_photo_gets_the_identity_and_says_so(capsys, photo, tmp_path):
    source = tmp_path / "sharp.png"
    save_image(degrade(photo[:128, :128], np.ones((1, 1)), 0.005, np.random.default_rng(0), round8=True), source)
    code, err = run(capsys, "estimate", source, "--out", tmp_path / "out", "--max-size", "9")
    assert code == 0, err
    assert f"{source}: no clear blur found" in err
    kernel = check_kernel_files(tmp_path / "out" / "sharp_kernel.npy", tmp_path / "out" / "sharp_kernel.png")
    assert kernel.shape == (1, 1)


def test_estimate_takes_folders_and_skips_a_bad_photo(capsys, photo, tmp_path):
    src = tmp_path / "in"
    save_image(blurred(photo[:96, :96], 1.5), src / "a.png")
    save_image(blurred(photo[100:196, 100:196], 1.5), src / "trip" / "b.png")
    save_image(photo[:40, :40], src / "tiny.png")
    (src / "empty.png").write_bytes(b"")
    (src / "notes.txt").write_text("not an image")
    # The kernel files of an earlier run are not photos.
    np.save(src / "old_kernel.npy", gaussian_kernel(1.0))
    save_image(np.zeros((9, 9, 3), np.float32), src / "old_kernel.png")
    out = tmp_path / "out"
    code, err = run(capsys, "estimate", src, "--out", out, "--recursive", "--max-size", "9")
    assert code == 1  # two photos were skipped
    assert "Traceback" not in err and "old_kernel" not in err
    assert "skipped empty.png: the file is empty." in err
    assert "skipped tiny.png: the image is 40 x 40 pixels; kernel estimation needs at least 64 pixels a side." in err
    assert "2 of 4 kernel(s) estimated" in err and "2 skipped." in err
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["a_kernel.npy", "a_kernel.png", "trip/b_kernel.npy", "trip/b_kernel.png"]
    for stem in ("a", "trip/b"):
        check_kernel_files(out / f"{stem}_kernel.npy", out / f"{stem}_kernel.png")


def test_estimate_never_replaces_a_kernel_without_overwrite(capsys, photo, tmp_path):
    source = tmp_path / "photo.png"
    save_image(blurred(photo[:96, :96], 1.5), source)
    out = tmp_path / "out"
    assert run(capsys, "estimate", source, "--out", out, "--max-size", "9")[0] == 0
    (out / "photo_kernel.npy").write_bytes(b"my earlier kernel")
    code, err = run(capsys, "estimate", source, "--out", out, "--max-size", "9")
    assert code == 2
    assert f"error: {out / 'photo_kernel.npy'}, {out / 'photo_kernel.png'} already exist; add --overwrite" in err
    assert (out / "photo_kernel.npy").read_bytes() == b"my earlier kernel"
    code, err = run(capsys, "estimate", source, "--out", out, "--max-size", "9", "--overwrite")
    assert code == 0, err
    check_kernel_files(out / "photo_kernel.npy", out / "photo_kernel.png")


BAD_OPTIONS = {
    "max-size too small": (
        ["--max-size", "3"],
        "error: --max-size is the largest kernel side to look for, a whole number of pixels from 5 to 51; got '3'.",
    ),
    "max-size too large": (["--max-size", "52"], "from 5 to 51; got '52'."),
    "max-size not a number": (["--max-size", "big"], "from 5 to 51; got 'big'."),
    "region of three numbers": (
        ["--region", "1,2,3"],
        "error: --region takes four whole numbers X,Y,W,H: the left and top edges, the width and the height",
    ),
    "region of words": (["--region", "left,top,w,h"], "(such as 0,0,256,256); got 'left,top,w,h'."),
    "region too small": (
        ["--region", "0,0,32,48"],
        "error: --region must be at least 64 x 64 pixels to hold enough edges; got 32 x 48.",
    ),
    "region before the photo": (["--region=-5,0,64,64"], "error: --region starts inside the photo"),
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_bad_options_are_one_sentence_before_any_work(capsys, photo, tmp_path, case):
    extra, sentence = BAD_OPTIONS[case]
    source = tmp_path / "photo.png"
    save_image(photo[:96, :96], source)
    code, err = run(capsys, "estimate", source, "--out", tmp_path / "out", *extra)
    assert code == 2
    assert sentence in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_a_region_outside_the_photo_skips_that_photo(capsys, photo, tmp_path):
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    save_image(photo[:96, :96], small)
    save_image(blurred(photo[:200, :200], 1.5), large)
    out = tmp_path / "out"
    code, err = run(capsys, "estimate", small, large, "--out", out, "--region", "100,100,64,64", "--max-size", "9")
    assert code == 1
    assert f"skipped {small}: The region (100, 100, 64 x 64) lies outside the 96 x 96 photo." in err
    assert sorted(p.name for p in out.iterdir()) == ["large_kernel.npy", "large_kernel.png"]


def test_a_missing_photo_is_reported(capsys, tmp_path):
    code, err = run(capsys, "estimate", tmp_path / "nowhere.png", "--out", tmp_path / "out")
    assert code == 1
    assert "nowhere.png" in err and "does not exist" in err and "Traceback" not in err


def test_estimate_never_imports_tensorflow(photo, tmp_path):
    save_image(blurred(photo[:96, :96], 1.5), tmp_path / "in.png")
    probe = (
        "import sys\n"
        "from deblur_core.cli import main\n"
        f"code = main(['estimate', {str(tmp_path / 'in.png')!r}, '--out', {str(tmp_path / 'out')!r}, "
        "'--max-size', '9'])\n"
        "print('LOADED', code, 'tensorflow' in sys.modules or 'keras' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "LOADED 0 False", done.stderr
    assert (tmp_path / "out" / "in_kernel.npy").is_file()


# --------------------------------------------------------------------------------------------------
# deblur --save-kernel
# --------------------------------------------------------------------------------------------------


def test_save_kernel_writes_the_kernel_the_method_estimated(capsys, photo, tmp_path):
    source = tmp_path / "photo.png"
    save_image(blurred(photo[60:156, 80:176], 1.5), source)  # 96 x 96: small, so the model runs quickly
    out = tmp_path / "out"
    code, err = run(capsys, "deblur", source, "--out", out, "--method", "estimated-deconvolver", "--save-kernel")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["photo.png", "photo_kernel.npy", "photo_kernel.png"]
    kernel = check_kernel_files(out / "photo_kernel.npy", out / "photo_kernel.png")
    # The very kernel the method found in this photo.
    assert kernel.shape[0] > 1  # a blur was found, not the identity
    np.testing.assert_allclose(kernel, estimate_kernel(read_rgb(source)).kernel, atol=1e-7)
    h, w = kernel.shape
    assert f"kernel estimated, {w} x {h} px" in err and f"; its kernel -> {out / 'photo_kernel.npy'}" in err


def test_save_kernel_writes_the_given_kernel_and_asks_before_replacing_it(capsys, photo, tmp_path):
    source = tmp_path / "photo.png"
    save_image(photo[:48, :64], source)
    out = tmp_path / "out"

    def deblur(spec: str, *extra: str) -> tuple[int, str]:
        return run(capsys, "deblur", source, "--out", out, "--method", "wiener", "--kernel", spec, *extra)

    code, err = deblur("motion:length=9,angle=30", "--save-kernel")
    assert code == 0, err
    kernel = check_kernel_files(out / "photo_kernel.npy", out / "photo_kernel.png")
    np.testing.assert_array_equal(kernel, parse_kernel_spec("motion:length=9,angle=30"))
    # The image alone is gone: the kernel files still stop the second run.
    (out / "photo.png").unlink()
    before = (out / "photo_kernel.npy").read_bytes()
    code, err = deblur("gaussian:sigma=1", "--save-kernel")
    assert code == 2 and f"{out / 'photo_kernel.npy'}, {out / 'photo_kernel.png'} already exist" in err
    assert (out / "photo_kernel.npy").read_bytes() == before and not (out / "photo.png").exists()
    code, err = deblur("gaussian:sigma=1", "--save-kernel", "--overwrite")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(out / "photo_kernel.npy"), parse_kernel_spec("gaussian:sigma=1"))


def test_without_save_kernel_no_kernel_is_written(capsys, photo, tmp_path):
    source = tmp_path / "photo.png"
    save_image(photo[:48, :64], source)
    code, err = run(
        capsys, "deblur", source, "--out", tmp_path / "out", "--method", "wiener", "--kernel", "gaussian:sigma=1"
    )
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["photo.png"]


def test_save_kernel_with_a_blind_model_says_once_that_there_is_none(capsys, photo, tmp_path):
    for name in ("a", "b"):
        save_image(photo[:32, :40], tmp_path / "in" / f"{name}.png")
    out = tmp_path / "out"
    code, err = run(capsys, "deblur", tmp_path / "in", "--out", out, "--method", "default", "--save-kernel")
    assert code == 0, err
    assert err.count("--save-kernel") == 1 and "note: --save-kernel writes no kernel with default" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
