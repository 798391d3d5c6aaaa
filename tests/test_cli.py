"""Tests for the command line (deblur_core.cli), run in-process through ``main([...])``.

The commands that need no model (blur, the classical methods, help texts) never import TensorFlow;
the training tests share the session's one TensorFlow load.
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deblur_core.cli import console, main, train
from deblur_core.io import read_rgb, save_image
from deblur_core.kernels import parse_kernel_spec
from deblur_core.metrics import psnr
from deblur_core.settings import data_dir

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = data_dir()
METHODS = ("wiener", "richardson-lucy", "unsupervised-wiener")
# ... and the classical methods handed the kernel estimated from the photo, which `models` lists with them.
ESTIMATING = ("estimated-wiener", "estimated-richardson-lucy")


def shared_folder(*parts: str) -> Path:
    """A folder of the shared data set; skip when it is absent (fail in CI, where it must be there)."""
    folder = SHARED_DATA.joinpath(*parts)
    if not folder.is_dir():
        message = f"the shared data folder {folder} is absent"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must provide it)")
        pytest.skip(message)
    return folder


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the command line in-process; returns (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth, seeded RGB test picture (float32 in [0, 1]) with edges worth deblurring."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = [
        0.5 + 0.4 * np.sin(x / rng.uniform(2, 6) + rng.uniform(0, 6)) * np.cos(y / rng.uniform(3, 7)) for _ in range(3)
    ]
    image = np.stack(channels, axis=2)
    image[height // 3 : 2 * height // 3, width // 4 : width // 2] = rng.uniform(0, 1, 3)
    return np.clip(image, 0, 1).astype(np.float32)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def bomb_png(width: int = 20000, height: int = 10000) -> bytes:
    """A tiny file whose header claims a 200-megapixel RGB image."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def truncated_png() -> bytes:
    rng = np.random.default_rng(3)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
    data = buffer.getvalue()
    return data[: len(data) // 2]


@pytest.fixture(autouse=True)
def private_model_folder(tmp_path, monkeypatch):
    """Keep every test away from the real user model folder."""
    folder = tmp_path / "user-models"
    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(folder))
    return folder


# --------------------------------------------------------------------------------------------------
# Help and usage errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["", "deblur", "estimate", "blur", "models", "train", "video"])
def test_help_explains_every_command(capsys, command):
    argv = [command, "--help"] if command else ["--help"]
    code, out, err = run(capsys, *argv)
    assert code == 0
    assert out.startswith("usage: python -m deblur_core")
    assert "examples:" in out and "exit codes:" in out and "130" in out
    assert err == ""


def test_top_level_help_lists_all_commands(capsys):
    _, out, _ = run(capsys, "--help")
    for command in ("deblur", "estimate", "blur", "models", "train", "video"):
        assert f"\n    {command}" in out


def test_no_command_shows_help_and_exits_2(capsys):
    code, _, err = run(capsys)
    assert code == 2
    assert "usage:" in err


def test_unknown_option_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "deblur", "x.png", "--out", tmp_path, "--sharpen-harder")
    assert code == 2
    assert "error: unrecognized arguments: --sharpen-harder" in err
    assert "Traceback" not in err


def test_classical_method_without_kernel_fails_up_front(capsys, tmp_path):
    source = tmp_path / "in.png"
    save_image(texture(24, 24), source)
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "deblur", source, "--out", out_dir, "--method", "wiener")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "needs the blur kernel" in lines[0] and "--kernel" in lines[0]
    assert not out_dir.exists(), "nothing is written before the command line is known to be right"


def test_bad_kernel_spec_is_a_usage_error(capsys, tmp_path):
    source = tmp_path / "in.png"
    save_image(texture(24, 24), source)
    code, _, err = run(capsys, "blur", source, "--out", tmp_path / "out", "--kernel", "gaussian:radius=2")
    assert code == 2
    assert err.startswith("error: ") and "gaussian:sigma=2" in err
    assert "Traceback" not in err


def test_unknown_method_lists_what_is_available(capsys, tmp_path):
    source = tmp_path / "in.png"
    save_image(texture(24, 24), source)
    code, _, err = run(capsys, "deblur", source, "--out", tmp_path / "out", "--method", "no-such-model")
    assert code == 2
    assert err.startswith("error: ") and "no-such-model" in err
    for method in METHODS:
        assert method in err
    assert "Traceback" not in err


def test_missing_default_model_is_explained_or_the_default_model_works(capsys, tmp_path):
    from deblur_core.learned.registry import Registry

    source = tmp_path / "in.png"
    save_image(texture(40, 36), source)
    try:
        Registry().default_name()
        installed = True
    except ValueError:
        installed = False
    code, _, err = run(capsys, "deblur", source, "--out", tmp_path / "out")
    if installed:
        assert code == 0, err
        assert read_rgb(tmp_path / "out" / "in.png").shape == (40, 36, 3)
    else:
        assert code == 2
        assert "No default model is installed" in err and "wiener" in err


# --------------------------------------------------------------------------------------------------
# The acceptance criterion: blur Set5 on purpose, restore it with the same kernel
# --------------------------------------------------------------------------------------------------

SPEC = "gaussian:sigma=2"


@pytest.fixture(scope="module")
def blurred_set5(tmp_path_factory):
    """Set5 blurred by the command line with a Gaussian of sigma 2 and noise 0.005 (seed 1)."""
    sharp_dir = shared_folder("val", "Set5")
    out = tmp_path_factory.mktemp("set5-blurred")
    code = main(["blur", str(sharp_dir), "--out", str(out), "--kernel", SPEC, "--noise", "0.005", "--seed", "1"])
    assert code == 0
    return sharp_dir, out


def test_blur_writes_the_images_and_the_kernel(blurred_set5):
    sharp_dir, out = blurred_set5
    names = sorted(p.name for p in sharp_dir.glob("*.png"))
    assert sorted(p.name for p in out.glob("*.png") if p.name != "kernel.png") == names
    kernel = np.load(out / "kernel.npy")
    np.testing.assert_array_equal(kernel, parse_kernel_spec(SPEC))
    with Image.open(out / "kernel.png") as visible:
        pixels = np.asarray(visible)
    assert visible.mode == "L" and pixels.shape == kernel.shape and pixels.max() == 255
    for name in names:
        sharp, blurred = read_rgb(sharp_dir / name), read_rgb(out / name)
        assert blurred.shape == sharp.shape
        assert psnr(sharp, blurred) < 35.0  # visibly blurred
        # Reflect boundaries: the border keeps the image's brightness (no dark frame).
        assert abs(float(blurred[:3].mean()) - float(sharp[:3].mean())) < 0.03


@pytest.mark.parametrize(
    "method", ["wiener", "richardson-lucy", pytest.param("unsupervised-wiener", marks=pytest.mark.slow)]
)
def test_deblur_with_the_known_kernel_raises_psnr_on_set5(capsys, blurred_set5, tmp_path, method):
    sharp_dir, blurred_dir = blurred_set5
    out = tmp_path / method
    code, _, err = run(capsys, "deblur", blurred_dir, "--out", out, "--method", method, "--kernel", SPEC)
    assert code == 0, err
    gains = {}
    for sharp_path in sorted(sharp_dir.glob("*.png")):
        sharp = read_rgb(sharp_path)
        before = psnr(sharp, read_rgb(blurred_dir / sharp_path.name))
        after = psnr(sharp, read_rgb(out / sharp_path.name))
        gains[sharp_path.name] = after - before
    assert not (out / "kernel.png").exists(), "the blur command's kernel preview is not a photo to restore"
    assert np.mean(list(gains.values())) >= 0.5, gains
    assert min(gains.values()) > 0.0, f"{method} made an image worse: {gains}"


# --------------------------------------------------------------------------------------------------
# Folders, names, formats
# --------------------------------------------------------------------------------------------------


def deblur_fast(capsys, *argv):
    """Deblur with Wiener and a small Gaussian: quick, no TensorFlow."""
    return run(capsys, "deblur", *argv, "--method", "wiener", "--kernel", "gaussian:sigma=1")


def test_folder_round_trip_keeps_sizes_alpha_and_greyscale(capsys, tmp_path):
    src = tmp_path / "in"
    save_image(texture(31, 45, 1), src / "colour.png")
    grey = texture(40, 22, 2).mean(axis=2, keepdims=True).repeat(3, axis=2)
    save_image(grey, src / "grey.png", greyscale=True)
    alpha = np.linspace(0, 1, 33 * 27, dtype=np.float32).reshape(33, 27)
    save_image(texture(33, 27, 3), src / "clear.png", alpha=alpha)
    (src / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    code, _, err = deblur_fast(capsys, src, "--out", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["clear.png", "colour.png", "grey.png"]
    expected = {"colour.png": ((45, 31), "RGB"), "grey.png": ((22, 40), "L"), "clear.png": ((27, 33), "RGBA")}
    for name, (size, mode) in expected.items():
        with Image.open(out / name) as result:
            assert (result.size, result.mode) == (size, mode), name
    with Image.open(out / "clear.png") as result:
        kept = np.asarray(result)[..., 3].astype(np.float32) / 255
    np.testing.assert_allclose(kept, alpha, atol=1 / 255)
    assert "3 of 3 image(s) restored" in err


def test_stem_clash_keeps_the_original_extension(capsys, tmp_path):
    src = tmp_path / "in"
    save_image(texture(24, 24, 1), src / "a.png")
    save_image(texture(24, 24, 2), src / "a.jpg")
    save_image(texture(24, 24, 3), src / "b.png")
    out = tmp_path / "out"
    code, _, err = deblur_fast(capsys, src, "--out", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg.png", "a.png.png", "b.png"]
    # Each result comes from its own source.
    for source, other, result in (("a.png", "a.jpg", "a.png.png"), ("a.jpg", "a.png", "a.jpg.png")):
        restored = read_rgb(out / result)
        assert psnr(read_rgb(src / source), restored) > psnr(read_rgb(src / other), restored) + 3


def test_recursive_keeps_the_subfolder_layout(capsys, tmp_path):
    src = tmp_path / "in"
    save_image(texture(24, 30, 1), src / "top.png")
    save_image(texture(26, 24, 2), src / "sub" / "deep.png")
    save_image(texture(24, 24, 3), src / "sub" / "top.png")  # same name as above, another folder
    flat = tmp_path / "flat"
    code, _, err = deblur_fast(capsys, src, "--out", flat)
    assert code == 0, err
    assert sorted(p.relative_to(flat).as_posix() for p in flat.rglob("*.png")) == ["top.png"]
    deep = tmp_path / "deep"
    code, _, err = deblur_fast(capsys, src, "--out", deep, "--recursive")
    assert code == 0, err
    assert sorted(p.relative_to(deep).as_posix() for p in deep.rglob("*.png")) == [
        "sub/deep.png",
        "sub/top.png",
        "top.png",
    ]
    assert read_rgb(deep / "sub" / "deep.png").shape == (26, 24, 3)


def test_jpeg_output_format(capsys, tmp_path):
    source = tmp_path / "photo.png"
    save_image(texture(30, 40), source)
    code, _, err = deblur_fast(capsys, source, "--out", tmp_path / "out", "--format", "jpeg")
    assert code == 0, err
    with Image.open(tmp_path / "out" / "photo.jpg") as result:
        assert (result.format, result.size) == ("JPEG", (40, 30))


def test_classical_options_are_passed_and_checked(capsys, tmp_path):
    source = tmp_path / "photo.png"
    save_image(texture(30, 40), source)
    code, _, err = run(
        capsys,
        "deblur",
        source,
        "--out",
        tmp_path / "few",
        "--method",
        "richardson-lucy",
        "--kernel",
        "gaussian:sigma=1.5",
        "--iterations",
        "1",
    )
    assert code == 0, err
    code, _, err = run(
        capsys,
        "deblur",
        source,
        "--out",
        tmp_path / "many",
        "--method",
        "richardson-lucy",
        "--kernel",
        "gaussian:sigma=1.5",
        "--iterations",
        "40",
    )
    assert code == 0, err
    assert not np.array_equal(read_rgb(tmp_path / "few" / "photo.png"), read_rgb(tmp_path / "many" / "photo.png"))
    code, _, err = run(
        capsys,
        "deblur",
        source,
        "--out",
        tmp_path / "x",
        "--method",
        "wiener",
        "--kernel",
        "gaussian:sigma=1",
        "--iterations",
        "3",
    )
    assert code == 2 and "--iterations applies to richardson-lucy only" in err


# --------------------------------------------------------------------------------------------------
# Bad files among good ones
# --------------------------------------------------------------------------------------------------

BAD_FILES = {
    "empty.png": b"",
    "half.png": truncated_png(),
    "bomb.png": bomb_png(),
    "notes.png": b"These are my holiday notes, not a picture.\n" * 20,
}


@pytest.mark.parametrize("bad_name", sorted(BAD_FILES))
def test_a_bad_file_is_one_line_and_the_rest_are_processed(capsys, tmp_path, bad_name):
    src = tmp_path / "in"
    save_image(texture(30, 30, 1), src / "good1.png")
    save_image(texture(20, 36, 2), src / "good2.png")
    (src / bad_name).write_bytes(BAD_FILES[bad_name])
    out = tmp_path / "out"
    code, _, err = deblur_fast(capsys, src, "--out", out)
    assert code == 1
    assert "Traceback" not in err
    naming = [line for line in err.splitlines() if bad_name in line]
    assert len(naming) == 1, err
    assert naming[0].startswith(f"skipped {bad_name}: ")
    assert sorted(p.name for p in out.iterdir()) == ["good1.png", "good2.png"]
    assert read_rgb(out / "good2.png").shape == (20, 36, 3)


def test_a_missing_input_file_is_reported(capsys, tmp_path):
    good = tmp_path / "good.png"
    save_image(texture(24, 24), good)
    code, _, err = deblur_fast(capsys, good, tmp_path / "nowhere.png", "--out", tmp_path / "out")
    assert code == 1
    assert "does not exist" in err and "Traceback" not in err
    assert (tmp_path / "out" / "good.png").is_file()


def test_ctrl_c_exits_130_without_a_traceback_or_half_file(capsys, tmp_path, monkeypatch):
    import deblur_core.restoration

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    source = tmp_path / "photo.png"
    save_image(texture(24, 24), source)
    monkeypatch.setattr(deblur_core.restoration, "restore", interrupted)
    code, _, err = deblur_fast(capsys, source, "--out", tmp_path / "out")
    assert code == 130
    assert "interrupted" in err and "Traceback" not in err
    assert list((tmp_path / "out").iterdir()) == []


# --------------------------------------------------------------------------------------------------
# blur
# --------------------------------------------------------------------------------------------------


def test_blur_noise_is_seeded_per_file(capsys, tmp_path):
    src = tmp_path / "in"
    save_image(np.full((40, 40, 3), 0.5, np.float32), src / "flat.png")
    outputs = {}
    for label, seed in (("a", 7), ("b", 7), ("c", 8)):
        code, _, err = run(
            capsys,
            "blur",
            src,
            "--out",
            tmp_path / label,
            "--kernel",
            "gaussian:sigma=1",
            "--noise",
            "0.02",
            "--seed",
            seed,
        )
        assert code == 0, err
        outputs[label] = read_rgb(tmp_path / label / "flat.png")
    np.testing.assert_array_equal(outputs["a"], outputs["b"])
    assert not np.array_equal(outputs["a"], outputs["c"])
    measured = float(np.std(outputs["a"] - 0.5))
    assert 0.015 < measured < 0.025, measured


def test_blur_keeps_greyscale_with_full_noise(capsys, tmp_path):
    source = tmp_path / "grey.png"
    save_image(np.full((48, 48, 3), 0.5, np.float32), source, greyscale=True)
    code, _, err = run(
        capsys, "blur", source, "--out", tmp_path / "out", "--kernel", "defocus:radius=2", "--noise", "0.02"
    )
    assert code == 0, err
    with Image.open(tmp_path / "out" / "grey.png") as result:
        assert result.mode == "L"
        values = np.asarray(result).astype(np.float32) / 255
    assert 0.015 < float(values.std()) < 0.025  # one noise plane, not three averaged away


def test_blur_with_jpeg_and_a_kernel_file(capsys, tmp_path):
    source = tmp_path / "photo.png"
    save_image(texture(40, 40), source)
    kernel_file = tmp_path / "k.npy"
    np.save(kernel_file, np.ones((1, 5), np.float32))
    code, _, err = run(capsys, "blur", source, "--out", tmp_path / "out", "--kernel", kernel_file, "--jpeg", "30")
    assert code == 0, err
    np.testing.assert_allclose(np.load(tmp_path / "out" / "kernel.npy"), parse_kernel_spec(str(kernel_file)))
    code, _, err = run(capsys, "blur", source, "--out", tmp_path / "out", "--kernel", "gaussian:sigma=1", "--jpeg", "0")
    assert code == 2 and "--jpeg" in err


# --------------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------------


def test_models_lists_the_classical_methods_and_what_the_registry_holds(capsys):
    from deblur_core.learned.registry import Registry

    code, out, _ = run(capsys, "models")
    assert code == 0
    for method in (*METHODS, *ESTIMATING):
        assert method in out
    installed = [e.name for e in Registry().list()]
    for name in installed:
        assert f"\n  {name}  [" in out
    if not installed:
        assert "none installed" in out

    code, out, _ = run(capsys, "models", "--json")
    assert code == 0
    listing = json.loads(out)
    assert [c["name"] for c in listing["classical"]] == [*METHODS, *ESTIMATING]
    assert [m["name"] for m in listing["models"]] == installed
    defaults = [m["name"] for m in listing["models"] if m["default"]]
    assert defaults == ([listing["default"]] if listing["default"] else [])


def test_models_reports_a_broken_card_and_still_lists(capsys, private_model_folder):
    private_model_folder.mkdir(parents=True)
    (private_model_folder / "broken.keras").write_bytes(b"not a model")
    (private_model_folder / "broken.json").write_text("{ this is not json")
    code, out, err = run(capsys, "models")
    assert code == 0
    assert "wiener" in out
    assert "broken.json" in err and "Traceback" not in err
    code, out, _ = run(capsys, "models", "--json")
    assert any("broken.json" in p for p in json.loads(out)["problems"])


# --------------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------------


def test_arch_arg_values_are_typed():
    assert train.parse_arch_args(["base_filters=4", "rate=0.5", "residual=true", "act=relu", "extra=none"]) == {
        "base_filters": 4,
        "rate": 0.5,
        "residual": True,
        "act": "relu",
        "extra": None,
    }
    assert train.parse_arch_value("False") is False
    with pytest.raises(console.UsageError, match="KEY=VALUE"):
        train.parse_arch_args(["base_filters"])


def make_training_folder(folder: Path, count: int = 4, size: int = 48) -> Path:
    for i in range(count):
        save_image(texture(size, size + 8 * i, seed=10 + i), folder / f"train{i}.png")
    return folder


TINY_UNET = ("--arch", "unet", "--arch-arg", "base_filters=4", "--arch-arg", "depth=2")
TINY_RUN = ("--epochs", "1", "--steps-per-epoch", "3", "--patch-size", "32", "--batch-size", "2")


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--out", "model.h5"), "must end with .keras"),
        (("--out", "m.keras", "--arch-arg", "depth"), "KEY=VALUE"),
        (("--out", "m.keras", "--loss", "hinge"), "unknown loss 'hinge'"),
        (("--out", "m.keras", "--families", "gaussian,wobble"), "wobble"),
        (("--out", "m.keras", "--epochs", "0"), "--epochs must be at least 1"),
        (("--out", "m.keras", "--sr-scale", "1"), "--sr-scale"),
    ],
)
def test_train_usage_errors(capsys, tmp_path, extra, message):
    data = make_training_folder(tmp_path / "data", count=2)
    progress = tmp_path / "progress.jsonl"
    code, _, err = run(capsys, "train", *TINY_UNET, "--data", data, *extra, "--progress", progress)
    assert code == 2
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    (event,) = read_events(progress)
    assert event["event"] == "error" and message in event["message"]


def test_train_unknown_architecture(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--arch", "resnet9000", "--data", tmp_path, "--out", tmp_path / "m.keras")
    assert code == 2 and "unknown architecture 'resnet9000'" in err and "unet" in err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny training run through the command line: (model path, progress file, preview folder)."""
    root = tmp_path_factory.mktemp("train")
    data = make_training_folder(root / "data")
    model = root / "models" / "tiny.keras"
    progress = root / "progress.jsonl"
    previews = root / "previews"
    code = main(
        [
            "train",
            *TINY_UNET,
            *TINY_RUN,
            "--data",
            str(data),
            "--out",
            str(model),
            "--progress",
            str(progress),
            "--preview-dir",
            str(previews),
            "--description",
            "a tiny test model",
        ]
    )
    assert code == 0
    return model, progress, previews


@pytest.mark.slow
def test_train_writes_model_card_progress_and_previews(trained):
    model, progress, previews = trained
    assert model.is_file()
    card = json.loads(model.with_suffix(".json").read_text("utf-8"))
    assert card["architecture"] == "unet"
    assert card["arch_args"] == {"base_filters": 4, "depth": 2}
    assert card["description"] == "a tiny test model"
    assert np.isfinite(card["validation"]["psnr"]) and 0 < card["validation"]["ssim"] <= 1
    assert card["training"]["epochs_run"] == 1 and card["training"]["patch_size"] == 32
    assert card["input"]["multiple"] == 4
    assert not list(model.parent.glob(".*")), "checkpoints and temporary files are cleaned up"

    events = read_events(progress)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert "epoch" in kinds and "batch" in kinds and "preview" in kinds
    assert events[0]["pid"] == os.getpid() and events[0]["config"]["arch_args"] == {"base_filters": 4, "depth": 2}
    assert all(isinstance(e["time"], float) for e in events)
    epoch = next(e for e in events if e["event"] == "epoch")
    assert epoch["epoch"] == 1 and np.isfinite(epoch["val_psnr"])
    done = events[-1]
    assert done["model"] == str(model) and done["best_val_psnr"] == pytest.approx(card["validation"]["psnr"], abs=0.01)

    preview = next(e for e in events if e["event"] == "preview")
    assert preview["path"] == str(previews / "epoch_001.png")
    strip = read_rgb(previews / "epoch_001.png")
    assert strip.shape == (32, 3 * 32 + 2 * 4, 3)  # blurred | restored | sharp with 4-pixel gaps


@pytest.mark.slow
def test_trained_model_loads_through_the_registry_and_restores(trained, tmp_path):
    from deblur_core.learned.registry import Registry
    from deblur_core.restoration import restore_image

    model, _, _ = trained
    registry = Registry(shipped_dir=model.parent, user_dir=tmp_path / "none")
    entry = registry.get("tiny")
    assert entry.shipped and entry.architecture == "unet"
    image = texture(37, 53)
    restored = restore_image(image, "tiny", registry=registry)
    assert restored.shape == image.shape and restored.dtype == np.float32


@pytest.mark.slow
def test_deblur_and_models_with_a_trained_model(capsys, trained, tmp_path, private_model_folder):
    model, _, _ = trained
    source = tmp_path / "photo.png"
    save_image(texture(37, 53), source)
    code, _, err = run(capsys, "deblur", source, "--out", tmp_path / "out", "--method", model)
    assert code == 0, err
    assert read_rgb(tmp_path / "out" / "photo.png").shape == (37, 53, 3)

    private_model_folder.mkdir(parents=True)
    for suffix in (".keras", ".json"):
        (private_model_folder / f"mine{suffix}").write_bytes(model.with_suffix(suffix).read_bytes())
    code, out, _ = run(capsys, "models")
    assert code == 0
    assert "mine  [yours]" in out and "a tiny test model" in out and "validation: PSNR" in out
    code, out, _ = run(capsys, "models", "--json")
    mine = next(m for m in json.loads(out)["models"] if m["name"] == "mine")
    assert mine["architecture"] == "unet" and mine["parameters"] > 0 and not mine["shipped"]
    assert mine["input"]["frames"] == 1 and mine["validation"]["psnr"] is not None
    code, _, err = run(capsys, "deblur", source, "--out", tmp_path / "by-name", "--method", "mine")
    assert code == 0, err


@pytest.mark.slow
def test_stop_file_stops_after_the_first_batch_and_saves(capsys, tmp_path):
    data = make_training_folder(tmp_path / "data")
    stop = tmp_path / "STOP"
    stop.write_text("")
    model = tmp_path / "stopped.keras"
    progress = tmp_path / "progress.jsonl"
    code, _, err = run(
        capsys,
        "train",
        *TINY_UNET,
        "--epochs",
        "3",
        "--steps-per-epoch",
        "200",
        "--patch-size",
        "32",
        "--batch-size",
        "2",
        "--data",
        data,
        "--out",
        model,
        "--progress",
        progress,
        "--stop-file",
        stop,
    )
    assert code == 0, err
    assert "stopping" in err
    card = json.loads(model.with_suffix(".json").read_text("utf-8"))
    assert card["training"]["stopped_because"] == "stopped on request"
    assert card["training"]["epochs_run"] == 1
    events = read_events(progress)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and "stopping" in kinds and kinds[-1] == "done"
    assert [e["step"] for e in events if e["event"] == "batch"] == [1]


def test_sigterm_is_turned_into_a_stop_request():
    if threading_is_not_main():
        pytest.skip("signal handlers can only be installed from the main thread")
    requests = []
    before = signal.getsignal(signal.SIGTERM)
    with train._graceful_sigterm(lambda: requests.append("stop")):
        os.kill(os.getpid(), signal.SIGTERM)
    assert requests == ["stop"]
    assert signal.getsignal(signal.SIGTERM) == before


def threading_is_not_main() -> bool:
    import threading

    return threading.current_thread() is not threading.main_thread()


def test_train_error_is_one_line_and_logged(capsys, tmp_path):
    data = tmp_path / "data"
    save_image(texture(48, 48), data / "only.png")
    progress = tmp_path / "progress.jsonl"
    code, _, err = run(
        capsys, "train", *TINY_UNET, *TINY_RUN, "--data", data, "--out", tmp_path / "m.keras", "--progress", progress
    )
    assert code == 1
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "at least two" in errors[0]
    events = read_events(progress)
    assert [e["event"] for e in events] == ["start", "error"] and "at least two" in events[1]["message"]


# --------------------------------------------------------------------------------------------------
# Progress display and video
# --------------------------------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_redraws_on_a_terminal_and_prints_lines_elsewhere():
    terminal = FakeTerminal()
    bar = console.ProgressBar(2, terminal, interval=0.0)
    bar.begin(1, "photo.png")
    bar.update(3, 4)
    bar.line("photo.png -> out/photo.png")
    text = terminal.getvalue()
    assert "\r[" in text and "photo.png" in text and "3/4" in text and " 88%" in text
    assert text.endswith("photo.png -> out/photo.png\n")

    log = io.StringIO()
    bar = console.ProgressBar(2, log, interval=0.0)
    bar.begin(0, "a.png")
    bar.update(1, 2)
    bar.line("a.png -> out/a.png")
    assert log.getvalue() == "a.png -> out/a.png\n"


def test_preview_strip_shows_three_panels():
    blurred = np.zeros((8, 8, 9), np.float32)
    blurred[..., 3:6] = 0.25  # the middle frame of a 3-frame clip
    strip = train.preview_strip(blurred, np.full((8, 8, 3), 0.5, np.float32), np.ones((8, 8, 1), np.float32))
    assert strip.shape == (8, 8 * 3 + 8, 3)
    assert np.allclose(strip[:, :8], 0.25) and np.allclose(strip[:, 12:20], 0.5) and np.allclose(strip[:, 24:], 1.0)


def test_video_command_is_delegated(capsys, tmp_path, monkeypatch):
    from deblur_core.cli import video

    seen = {}

    def fake_run_cli(args):
        seen.update(vars(args))
        return 0

    monkeypatch.setattr(video, "run_cli", fake_run_cli)
    code, _, _ = run(
        capsys,
        "video",
        "clip.mp4",
        "--out",
        "o.mp4",
        "--method",
        "wiener",
        "--kernel",
        "gaussian:sigma=1",
        "--blur",
        "motion:length=5",
        "--max-frames",
        "4",
    )
    assert code == 0
    assert {k: seen[k] for k in ("input", "out", "method", "kernel", "blur", "max_frames")} == {
        "input": "clip.mp4",
        "out": "o.mp4",
        "method": "wiener",
        "kernel": "gaussian:sigma=1",
        "blur": "motion:length=5",
        "max_frames": 4,
    }


def test_help_and_the_classical_methods_never_load_tensorflow(tmp_path):
    """The catalogue is read for --help and runs a classical method without importing Keras or TensorFlow."""
    import subprocess
    import sys

    save_image(texture(24, 24), tmp_path / "in.png")
    probe = (
        "import sys\n"
        "from deblur_core.cli import main\n"
        "main(['deblur', '--help'])\n"
        f"code = main(['deblur', {str(tmp_path / 'in.png')!r}, '--out', {str(tmp_path / 'out')!r}, "
        "'--method', 'wiener', '--kernel', 'gaussian:sigma=1'])\n"
        "print('LOADED', code, 'tensorflow' in sys.modules or 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip().splitlines()[-1] == "LOADED 0 False"


def test_an_existing_result_is_never_replaced_without_overwrite(capsys, tmp_path):
    """A second run into the same folder asks first; nothing is touched until --overwrite says so."""
    photo = tmp_path / "photo.png"
    save_image(texture(24, 24), photo)
    out = tmp_path / "out"
    assert deblur_fast(capsys, photo, "--out", out)[0] == 0
    (out / "photo.png").write_bytes(b"my earlier result")
    code, _, err = deblur_fast(capsys, photo, "--out", out)
    assert code == 2
    assert f"error: {out / 'photo.png'} already exists; add --overwrite to replace, or choose another --out." in err
    assert (out / "photo.png").read_bytes() == b"my earlier result"
    code, _, err = deblur_fast(capsys, photo, "--out", out, "--overwrite")
    assert code == 0 and read_rgb(out / "photo.png").shape == (24, 24, 3)


def test_blur_asks_before_replacing_its_results_and_kernel(capsys, tmp_path):
    photo = tmp_path / "photo.png"
    save_image(texture(24, 24), photo)
    out = tmp_path / "blurred"
    assert run(capsys, "blur", photo, "--out", out, "--kernel", "gaussian:sigma=1")[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, err = run(capsys, "blur", photo, "--out", out, "--kernel", "gaussian:sigma=3")
    assert code == 2 and "already exist; add --overwrite" in err and "kernel.npy" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert run(capsys, "blur", photo, "--out", out, "--kernel", "gaussian:sigma=3", "--overwrite")[0] == 0


def test_video_asks_before_replacing_its_output(capsys, tmp_path):
    existing = tmp_path / "sharp.mp4"
    existing.write_bytes(b"an earlier video")
    code, _, err = run(capsys, "video", tmp_path / "clip.mp4", "--out", existing, "--method", "wiener")
    assert code == 2 and f"error: {existing} already exists; add --overwrite" in err
    assert existing.read_bytes() == b"an earlier video"


def test_the_deconvolver_starts_without_waiting_for_its_model_and_a_broken_one_is_still_one_error(
    capsys, monkeypatch, tmp_path
):
    """The learned deconvolver loads its model while its Wiener step runs, so the command does not wait for
    the model first; a model file that will not load still stops the command once, not once per photo."""
    from deblur_core.io import save_image
    from deblur_core.learned import registry as registry_module
    from deblur_core.restoration import get_method

    assert get_method("deconvolver").loads_model_itself and not get_method("wiener").loads_model_itself

    def unreadable(path, card):
        raise ValueError(f"The model file '{path}' could not be read.")

    monkeypatch.setattr(registry_module, "load_model_file", unreadable)
    for name in ("a", "b"):
        save_image(texture(40, 48), tmp_path / f"{name}.png")
    out_dir = tmp_path / "out"
    args = ("deblur", tmp_path / "a.png", tmp_path / "b.png", "--out", out_dir, "--method", "deconvolver")
    code, _, err = run(capsys, *args, "--kernel", "gaussian:sigma=1.5")
    assert code != 0 and "Traceback" not in err
    assert err.count("error: ") == 1 and "could not be read" in err and "skipped" not in err, err
    assert not list(out_dir.glob("*.png"))


def test_a_broken_model_file_is_one_error_for_the_whole_command(capsys, private_model_folder, tmp_path):
    """The model loads beside the first photo's decoding; a file that will not load stops the command once."""
    from deblur_core.io import save_image
    from deblur_core.settings import SHIPPED_MODELS_DIR

    private_model_folder.mkdir(parents=True)
    card = json.loads((SHIPPED_MODELS_DIR / "deblur-unet.json").read_text())
    card["name"] = "broken"
    (private_model_folder / "broken.json").write_text(json.dumps(card))
    (private_model_folder / "broken.keras").write_bytes(b"not a model")
    for name in ("a", "b"):
        save_image(texture(40, 48), tmp_path / f"{name}.png")
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "deblur", tmp_path / "a.png", tmp_path / "b.png", "--out", out_dir, "--method", "broken")
    assert code != 0 and "Traceback" not in err
    assert err.count("error: ") == 1 and "skipped" not in err, err
    assert not list(out_dir.glob("*.png"))


def test_an_approximate_kernel_is_passed_on_as_one(capsys, monkeypatch, tmp_path):
    """--approximate-kernel tells the method the kernel is a guess (restore's kernel_estimated); without it, or without
    a kernel, it is not."""
    from deblur_core import restoration
    from deblur_core.io import save_image

    seen = []
    real = restoration.restore
    monkeypatch.setattr(restoration, "restore", lambda *a, **kw: seen.append(kw["kernel_estimated"]) or real(*a, **kw))
    save_image(texture(40, 48), tmp_path / "a.png")
    for extra, out in (([], "exact"), (["--approximate-kernel"], "guess")):
        args = ("deblur", tmp_path / "a.png", "--out", tmp_path / out, "--method", "wiener")
        code, _, err = run(capsys, *args, "--kernel", "gaussian:sigma=1.5", *extra)
        assert code == 0, err
    code, _, err = run(capsys, "deblur", tmp_path / "a.png", "--out", tmp_path / "blind", "--approximate-kernel")
    assert code == 0, err
    assert seen == [False, True, False]


def test_fit_kernel_fits_the_kernel_to_each_photo_and_says_so(capsys, monkeypatch, tmp_path):
    """--fit-kernel hands restore's fit_kernel on (not without a kernel) and marks the kernel approximate; the kernel
    used is reported as fitted when the fit was kept."""
    from deblur_core import restoration
    from deblur_core.classical.fit import fit_kernel
    from deblur_core.degrade import blur
    from deblur_core.io import load_image, save_image
    from deblur_core.kernels import gaussian_kernel

    seen = []
    real = restoration.restore
    monkeypatch.setattr(
        restoration,
        "restore",
        lambda *a, **kw: seen.append((kw["fit_kernel"], kw["kernel_estimated"])) or real(*a, **kw),
    )
    save_image(blur(texture(160, 160), gaussian_kernel(2.0)), tmp_path / "a.png")
    args = ("deblur", tmp_path / "a.png", "--out", tmp_path / "fit", "--method", "wiener", "--fit-kernel")
    code, out, err = run(capsys, *args, "--kernel", "gaussian:sigma=2.6")
    assert code == 0, err
    expected = fit_kernel(load_image(tmp_path / "a.png").rgb, gaussian_kernel(2.6))
    h, w = expected.kernel.shape
    assert f"kernel {'fitted' if expected.fitted else 'given'}, {w} x {h} px" in out + err, err
    code, _, err = run(capsys, "deblur", tmp_path / "a.png", "--out", tmp_path / "blind", "--fit-kernel")
    assert code == 0, err
    # A kernel fitted to the photo is a guess made better: it is run as an approximate one.
    assert seen == [(True, True), (False, False)]
