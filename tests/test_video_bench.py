"""deblur_core.bench.video: held-out clips, the table and the CSV, and clean skips."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from skimage import data as skdata

from deblur_core.bench import video as video_bench
from deblur_core.io import save_image
from deblur_core.settings import data_dir

SHARED = data_dir()


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    folder = root / "val" / "Set5"
    folder.mkdir(parents=True)
    for name, image in (("coffee", skdata.coffee()), ("cat", skdata.chelsea())):
        save_image(image[100:180, 100:180].astype(np.float32) / 255.0, folder / f"{name}.png")
    return root


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> Path:
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import save_model

    folder = tmp_path_factory.mktemp("models")
    for name, frames in (("video-unet3", 3), ("video-unet1", 1)):
        args = {"frames": frames, "base_filters": 4, "depth": 2}
        save_model(build("unet", **args), folder / f"{name}.keras", {"architecture": "unet", "arch_args": args})
    return folder


def test_clips_are_reproducible_and_blurred(tiny_data):
    a = video_bench.make_clips(tiny_data, samples=2, size=48, seed=1)
    b = video_bench.make_clips(tiny_data, samples=2, size=48, seed=1)
    assert len(a) == 4 and [c["image"] for c in a] == ["cat", "cat", "coffee", "coffee"]
    assert all(c["blurred"].shape == (48, 48, 9) and c["sharp"].shape == (48, 48, 3) for c in a)
    assert all(np.array_equal(x["blurred"], y["blurred"]) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0]["blurred"], a[1]["blurred"])  # another path for each sample


def test_benchmark_writes_the_table_and_every_clip(tiny_data, tiny_models, tmp_path, capsys):
    out = tmp_path / "video.md"
    code = video_bench.main(
        ["--data", str(tiny_data), "--models", str(tiny_models), "--samples", "2", "--size", "48", "--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    report = out.read_text()
    assert printed == report
    assert "| video-unet3 | 3 |" in report and "| video-unet1 | 1 |" in report and "| blurred input | – |" in report
    assert "No default still-image model is installed" in report
    with out.with_suffix(".csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 * 3  # 4 clips x (blurred, video-unet3, video-unet1)
    by_clip = {}
    for r in rows:
        by_clip.setdefault((r["image"], r["clip"]), {})[r["method"]] = float(r["psnr"])
    # Untrained residual U-Nets start as the identity: they measure like the blurred input.
    for scores in by_clip.values():
        assert scores["video-unet3"] == pytest.approx(scores["blurred input"], abs=0.01)
        assert scores["video-unet1"] == pytest.approx(scores["blurred input"], abs=0.01)


def test_benchmark_skips_cleanly_without_data_or_models(tmp_path, tiny_data, capsys):
    assert video_bench.main(["--data", str(tmp_path / "nowhere")]) == 0
    assert "skipped" in capsys.readouterr().err
    empty = tmp_path / "models"
    empty.mkdir()
    assert video_bench.main(["--data", str(tiny_data), "--models", str(empty)]) == 0
    assert "skipped: neither video-unet3 nor video-unet1" in capsys.readouterr().err


def test_the_evaluation_sets_are_there_for_the_published_numbers():
    if not (SHARED / "val").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the shared data folder at {SHARED}.")
        pytest.skip(f"the shared data folder {SHARED} is absent")
    clips = video_bench.make_clips(SHARED, samples=1, size=64)
    assert len(clips) >= 19 and {c["set"] for c in clips} == {"Set5", "Set14"}
