"""The benchmark runs end to end on a tiny data folder and reports what it measured."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from deblur_core.bench import publish, report, stills
from deblur_core.io import save_image
from deblur_core.kernels import motion_kernel


@pytest.fixture()
def tiny_data(tmp_path):
    rng = np.random.default_rng(3)
    from skimage import data as skdata

    base = skdata.astronaut().astype(np.float32) / 255.0
    for folder, count, size in (("val/Set5", 2, 64), ("train/BSD100", 2, 160), ("levin09/sharp", 1, 48)):
        for i in range(count):
            y, x = rng.integers(0, 512 - size, 2)
            save_image(base[y : y + size, x : x + size], tmp_path / folder / f"im{i}.png")
    (tmp_path / "levin09" / "kernels").mkdir(parents=True)
    np.save(tmp_path / "levin09" / "kernels" / "kernel_1.npy", motion_kernel(7, 20))
    return tmp_path


def test_degradations_cover_every_family(tiny_data):
    degs = stills.degradations(tiny_data)
    families = {f for f, _, _ in degs}
    assert families == {"gaussian", "defocus", "motion", "levin"}
    assert len(degs) == 3 + 2 + 6 + 1
    for _, _, k in degs:
        assert k.dtype == np.float32 and abs(float(k.sum()) - 1) < 1e-5 and k.shape[0] % 2 == 1


def test_blurred_cases_are_reproducible(tiny_data):
    img = np.full((32, 32, 3), 0.5, np.float32)
    a = stills.make_blurred(img, motion_kernel(5, 0), ("Set5", "x", "m"))
    b = stills.make_blurred(img, motion_kernel(5, 0), ("Set5", "x", "m"))
    c = stills.make_blurred(img, motion_kernel(5, 0), ("Set5", "y", "m"))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.allclose(a * 255, np.round(a * 255), atol=1e-3)  # rounded to 8 bits


def test_quick_benchmark_writes_report_and_csv(tiny_data, tmp_path, monkeypatch):
    from deblur_core.learned import registry

    # An empty registry: the benchmark then compares the classical methods only.
    monkeypatch.setattr(registry, "_DEFAULT_REGISTRY", registry.Registry(tmp_path / "none", tmp_path / "none2"))
    out, csv_path = tmp_path / "B.md", tmp_path / "r" / "results.csv"
    assert (
        publish.main(["--data", str(tiny_data), "--quick", "--no-speed", "--out", str(out), "--csv", str(csv_path)])
        == 0
    )
    text = out.read_text()
    assert "| wiener (true kernel) |" in text and "NSR =" in text
    with csv_path.open() as fh:
        rows = list(csv.DictReader(fh))
    methods = {r["method"] for r in rows}
    assert {"blurred input", "wiener (true kernel)", "richardson-lucy (true kernel)"} <= methods
    wiener = np.mean([float(r["psnr"]) for r in rows if r["method"] == "wiener (true kernel)"])
    blurred = np.mean([float(r["psnr"]) for r in rows if r["method"] == "blurred input"])
    assert wiener > blurred  # with the true kernel, deconvolution must help on average


def test_missing_data_is_reported_not_crashed(tmp_path, capsys):
    assert publish.main(["--data", str(tmp_path / "absent"), "--quick"]) == 2
    assert "not there" in capsys.readouterr().err


def _entry(name, card, frames=1, shipped=True):
    from types import SimpleNamespace

    clips = card.get("training", {}).get("clips", False)
    return SimpleNamespace(name=name, card=card, shipped=shipped, suits_photos=lambda: frames == 1 and not clips)


def test_still_models_leave_video_models_to_the_video_section():
    entries = [
        _entry("still", {"training": {"clips": False}}),
        _entry("video-unet1", {"training": {"clips": True}}),
        _entry("video-unet3", {"training": {"clips": True}}, frames=3),
        _entry("mine", {"training": {}}, shipped=False),
    ]
    registry = type("R", (), {"list": lambda self: entries})()
    assert [e.name for e in stills.still_models(registry)] == ["still"]


def test_learning_curve_lists_sampled_epochs_with_first_and_last():
    history = [
        {
            "epoch": e,
            "lr": 1e-3 / e,
            "loss": 0.1 / e,
            "val_psnr": 20 + e / 10,
            "val_ssim": 0.5,
            "val_blurred_psnr": 19.0,
        }
        for e in range(1, 13)
    ]
    card = {"training": {"history": history, "steps_per_epoch": 200, "batch_size": 8, "patch_size": 128}}
    lines = report.learning_curve(_entry("m", card), every=5)
    rows = [line for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert [int(r.split("|")[1]) for r in rows] == [1, 5, 10, 12]
    assert "| 12 | 8.33e-05 | 0.0083 | 21.20 | 0.500 | 19.00 |" in rows
    assert "200 steps of 8 crops of 128 px" in lines[0]
    assert report.learning_curve(_entry("m", {"training": {}})) == []


def test_command_line_runs_report_their_own_peak_memory(tmp_path):
    save_image(np.full((40, 40, 3), 0.5, np.float32), tmp_path / "in.png")
    wall, peak_mb, code, _ = stills.run_cli_measured(
        ["blur", str(tmp_path / "in.png"), "--out", str(tmp_path / "out"), "--kernel", "gaussian:sigma=1"]
    )
    assert code == 0 and (tmp_path / "out" / "in.png").is_file()
    assert 20 < peak_mb < 4096 and wall > 0  # a Python process with numpy loaded, in megabytes
    _, _, code, err = stills.run_cli_measured(["deblur", str(tmp_path / "missing.png"), "--out", str(tmp_path / "o")])
    assert code != 0 and err.strip()


def test_a_measured_command_reports_its_own_peak_not_the_benchmarks(tmp_path):
    """A child started by a large process must not report the parent's memory as its own."""
    import sys

    import numpy as np

    from deblur_core.bench.stills import run_cli_measured

    if not sys.platform.startswith("linux"):
        pytest.skip("VmHWM is Linux's")
    ballast = np.ones((3000, 1024, 1024), np.uint8)  # 3 GB resident in this process
    wall, peak_mb, code, err = run_cli_measured(["models"])
    assert code == 0, err
    assert ballast[::4096].sum() > 0 and 0 < peak_mb < 2000, peak_mb


def test_the_deconvolvers_learning_curve_shows_the_wrong_kernel_scores_where_the_run_measured_them():
    from types import SimpleNamespace

    from deblur_core.bench import deconvolver

    history = [{"step": 0, "psnr": 27.0, "perturbed": 25.5}, {"step": 1000, "psnr": 27.25, "perturbed": 25.75}]
    card = {
        "training": {"history": history},
        "validation": {
            "photos": 30,
            "wiener_psnr": 26.5,
            "blurred_psnr": 23.5,
            "perturbed_kernels": {"wiener_psnr": 25.0},
        },
    }
    registry = SimpleNamespace(names=lambda: ["deconv-unet"], get=lambda name: SimpleNamespace(card=card))
    text = "\n".join(deconvolver.curve(registry))
    assert "| 1000 | 27.25 | +0.75 | 25.75 | +0.75 |" in text and "Wiener (auto) with those kernels: 25.00 dB" in text
    # An older card, measured with the true kernels only, keeps the three columns.
    card["training"]["history"] = [{"step": 0, "psnr": 27.0}]
    assert "| 0 | 27.00 | +0.50 |" in "\n".join(deconvolver.curve(registry))
    # The network for kernels known exactly gets a curve of its own where it is installed.
    assert deconvolver.curve(registry, "deconv-unet-exact") == []
    card["training"]["started_from"] = "models/deconv-unet.keras"
    both = SimpleNamespace(
        names=lambda: ["deconv-unet", "deconv-unet-exact"], get=lambda name: SimpleNamespace(card=card)
    )
    exact = "\n".join(deconvolver.curve(both, "deconv-unet-exact"))
    assert "(`deconv-unet-exact`)" in exact and "Fine-tuned from `models/deconv-unet.keras` on true kernels" in exact
