"""HEIC/HEIF photos: decoded upright, colour-managed and at full depth, and restored by the command line."""

from __future__ import annotations

import numpy as np
import pytest

from deblur_core.cli import main
from deblur_core.io import IMAGE_SUFFIXES, load_image, probe_image, read_rgb
from tests.heic_photos import band_photo, heic_10_bit, heic_bytes, icc_with_swapped_primaries


def red_side(rgb: np.ndarray) -> str:
    """Which edge of an RGB float image holds the red band: top, bottom, left or right."""
    redness = rgb[..., 0] - rgb[..., 2]
    edges = {
        "top": redness[:3].mean(),
        "bottom": redness[-3:].mean(),
        "left": redness[:, :3].mean(),
        "right": redness[:, -3:].mean(),
    }
    return max(edges, key=edges.get)


def test_an_upright_heic_is_read_as_it_was_written():
    pixels = band_photo(48, 80)
    loaded = load_image(heic_bytes(pixels), name="photo.heic")
    assert loaded.format == "HEIF" and loaded.bit_depth == 8
    assert loaded.rgb.shape == (48, 80, 3) and loaded.rgb.dtype == np.float32
    assert red_side(loaded.rgb) == "top"
    # HEVC is lossy; at quality 95 the picture is still the one written.
    assert np.abs(loaded.rgb - pixels / 255.0).mean() < 0.02


@pytest.mark.parametrize(
    ("orientation", "shape", "side"),
    [(3, (48, 80), "bottom"), (6, (80, 48), "right"), (8, (80, 48), "left")],
)
def test_the_orientation_is_applied_once(orientation, shape, side):
    """A photo taken sideways comes out upright: turned by the file's rotation, and not turned a second time."""
    loaded = load_image(heic_bytes(band_photo(48, 80), orientation=orientation), name="sideways.heic")
    assert loaded.rgb.shape[:2] == shape
    assert red_side(loaded.rgb) == side


def test_the_colour_profile_is_converted_to_srgb():
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 255
    loaded = load_image(heic_bytes(red, icc=icc_with_swapped_primaries()), name="profiled.heic")
    # In that profile the first channel is blue, so sRGB sees blue.
    mean = loaded.rgb.reshape(-1, 3).mean(axis=0)
    assert mean[2] > 0.8 and mean[0] < 0.2, mean


def test_a_10_bit_heic_keeps_its_depth():
    height, width = 32, 96
    ramp = np.linspace(0, 65535, height * width * 3).reshape(height, width, 3).astype(np.uint16)
    loaded = load_image(heic_10_bit(ramp), name="deep.heic")
    assert loaded.bit_depth == 16 and loaded.rgb.shape == (height, width, 3)
    # An 8-bit read has at most 256 levels; this ramp has 1024 of them at 10 bits.
    assert len(np.unique(loaded.rgb)) > 512
    ten_bit = np.round(ramp / 65535.0 * 1023) / 1023
    assert np.abs(loaded.rgb - ten_bit).max() < 3 / 1023


def test_heic_is_an_image_file_for_folders_uploads_and_probes(tmp_path):
    assert ".heic" in IMAGE_SUFFIXES and ".heif" in IMAGE_SUFFIXES
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(heic_bytes(band_photo(48, 80), orientation=6))
    assert probe_image(path) == (48, 80)  # width x height, upright


def test_the_command_line_restores_a_heic_photo_upright_at_its_size(capsys, tmp_path, monkeypatch):
    """A folder from a phone: its HEIC photo is found, restored with the default model and written as PNG."""
    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(tmp_path / "user-models"))
    shots = tmp_path / "phone"
    shots.mkdir()
    (shots / "IMG_0002.HEIC").write_bytes(heic_bytes(band_photo(48, 80), orientation=6))
    code = main(["deblur", str(shots), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0, err
    restored = read_rgb(tmp_path / "out" / "IMG_0002.png")
    assert restored.shape == (80, 48, 3)
    assert red_side(restored) == "right"
