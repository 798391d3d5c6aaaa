"""Tests for deblur_core.io: every source mode decodes to float32 RGB in [0, 1], and bad files are refused."""

from __future__ import annotations

import io
import pickle
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile, ImageOps

from deblur_core.image import to_uint8
from deblur_core.io import (
    ALLOWED_FORMATS,
    DEFAULT_MAX_PIXELS,
    MIN_SIDE,
    ImageLoadError,
    LoadedImage,
    encode_image,
    load_image,
    output_like,
    read_rgb,
    save_image,
)
from tests.heic_photos import icc_with_swapped_primaries

# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def pil_bytes(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    """Encode a Pillow image."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, idat: bytes, extra: bytes = b"") -> bytes:
    """A PNG assembled by hand, so that the header can say anything (16-bit RGB, 200 megapixels...)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + extra
        + png_chunk(b"IDAT", zlib.compress(idat))
        + png_chunk(b"IEND", b"")
    )


def png16(samples: np.ndarray, colour_type: int, extra: bytes = b"") -> bytes:
    """A 16-bit PNG from an H x W x C array of uint16 samples (filter type 0 on every row)."""
    samples = np.asarray(samples, dtype=">u2")
    rows = b"".join(b"\x00" + row.tobytes() for row in samples)
    return raw_png(samples.shape[1], samples.shape[0], 16, colour_type, rows, extra)


def level_image() -> np.ndarray:
    """16 x 16 x 3 uint8 image holding every level 0..255 in each channel."""
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    return np.stack([levels, levels[::-1], levels.T], axis=2)


def noise_image(height: int = 64, width: int = 64, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Seeded uint8 noise (compresses badly, so half a PNG of it is clearly truncated)."""
    rng = np.random.default_rng(seed)
    shape = (height, width, channels) if channels > 1 else (height, width)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def assert_convention(loaded: LoadedImage) -> None:
    """float32, H x W x 3, values in [0, 1]; alpha float32 H x W in [0, 1] or None."""
    rgb = loaded.rgb
    assert rgb.dtype == np.float32
    assert rgb.ndim == 3 and rgb.shape[2] == 3
    assert float(rgb.min()) >= 0.0 and float(rgb.max()) <= 1.0
    if loaded.alpha is not None:
        assert loaded.alpha.dtype == np.float32
        assert loaded.alpha.shape == rgb.shape[:2]
        assert float(loaded.alpha.min()) >= 0.0 and float(loaded.alpha.max()) <= 1.0
    if loaded.greyscale:
        np.testing.assert_array_equal(rgb[..., 0], rgb[..., 1])
        np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])


# --------------------------------------------------------------------------------------------------
# Round trips and sources
# --------------------------------------------------------------------------------------------------


def test_png_round_trip_is_exact_for_every_uint8_level():
    levels = level_image()
    rgb = levels.astype(np.float32) / 255
    data = encode_image(rgb)
    assert Image.open(io.BytesIO(data)).mode == "RGB"
    loaded = load_image(data, name="levels.png")
    assert_convention(loaded)
    np.testing.assert_array_equal(to_uint8(loaded.rgb), levels)
    np.testing.assert_allclose(loaded.rgb, rgb, atol=1e-7)
    assert (loaded.format, loaded.bit_depth, loaded.greyscale, loaded.alpha) == ("PNG", 8, False, None)


def test_bytes_path_and_file_object_sources_agree(tmp_path):
    data = pil_bytes(Image.fromarray(noise_image(16, 24)))
    path = tmp_path / "noise.png"
    path.write_bytes(data)
    from_bytes = load_image(data)
    from_str = load_image(str(path))
    from_path = load_image(path)
    stream = io.BytesIO(data)
    stream.seek(len(data))  # a file object is read from its start, wherever it was left
    from_stream = load_image(stream, name="upload.png")
    with path.open("rb") as handle:
        from_handle = load_image(handle)
    for loaded in (from_str, from_path, from_stream, from_handle):
        np.testing.assert_array_equal(loaded.rgb, from_bytes.rgb)
    assert from_bytes.rgb.shape == (16, 24, 3)
    assert (from_str.name, from_path.name, from_stream.name, from_handle.name) == (
        "noise.png",
        "noise.png",
        "upload.png",
        "noise.png",
    )
    np.testing.assert_array_equal(read_rgb(bytearray(data)), from_bytes.rgb)


def test_megapixels_and_constants():
    loaded = load_image(pil_bytes(Image.new("RGB", (1000, 500))))
    assert loaded.megapixels == pytest.approx(0.5)
    assert (loaded.width, loaded.height) == (1000, 500)
    assert DEFAULT_MAX_PIXELS == 24_000_000 and MIN_SIDE == 8
    assert ALLOWED_FORMATS == ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF", "HEIF")


# --------------------------------------------------------------------------------------------------
# Every source mode
# --------------------------------------------------------------------------------------------------


def _mode_1():
    image = Image.new("1", (8, 8), 0)
    image.putpixel((0, 0), 1)
    expected = np.zeros((8, 8), np.float32)
    expected[0, 0] = 1.0
    return pil_bytes(image), expected, None, True, 8


def _mode_l():
    grey = noise_image(8, 8, 1)
    return pil_bytes(Image.fromarray(grey)), grey / 255, None, True, 8


def _mode_la():
    grey, alpha = noise_image(8, 8, 1, seed=1), noise_image(8, 8, 1, seed=2)
    return pil_bytes(Image.fromarray(np.stack([grey, alpha], axis=2))), grey / 255, alpha / 255, True, 8


def _mode_p():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    image.putpixel((1, 0), 1)
    expected = np.tile(np.array([10, 20, 30], np.float32) / 255, (8, 8, 1))
    expected[0, 1] = np.array([200, 100, 50], np.float32) / 255
    return pil_bytes(image), expected, None, False, 8


def _mode_p_transparent():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    image.putpixel((1, 0), 1)
    alpha = np.zeros((8, 8), np.float32)
    alpha[0, 1] = 1.0
    expected = np.tile(np.array([10, 20, 30], np.float32) / 255, (8, 8, 1))
    expected[0, 1] = np.array([200, 100, 50], np.float32) / 255
    return pil_bytes(image, transparency=0), expected, alpha, False, 8


def _mode_rgb():
    rgb = noise_image(8, 8)
    return pil_bytes(Image.fromarray(rgb)), rgb / 255, None, False, 8


def _mode_rgba():
    rgba = noise_image(8, 8, 4)
    return pil_bytes(Image.fromarray(rgba)), rgba[..., :3] / 255, rgba[..., 3] / 255, False, 8


def _mode_cmyk():
    image = Image.new("CMYK", (8, 8), (0, 255, 0, 0))  # full magenta ink
    expected = np.tile(np.array([1.0, 0.0, 1.0], np.float32), (8, 8, 1))
    return pil_bytes(image, "TIFF"), expected, None, False, 8


_GREY16 = np.array([0, 1, 256, 32768, 65534, 65535, 1000, 50000] * 8, dtype=np.uint16).reshape(8, 8)


def _mode_i16_png():
    return pil_bytes(Image.fromarray(_GREY16)), _GREY16 / 65535, None, True, 16


def _mode_i16b_tiff():
    image = Image.new("I;16B", (8, 8))
    image.frombytes(_GREY16.astype(">u2").tobytes())
    return pil_bytes(image, "TIFF"), _GREY16 / 65535, None, True, 16


def _mode_i32_tiff():
    values = np.array([-5, 0, 1, 32768, 65535, 70000, 255, 12345] * 8, dtype=np.int32).reshape(8, 8)
    return pil_bytes(Image.fromarray(values), "TIFF"), np.clip(values, 0, 65535) / 65535, None, True, 16


def _mode_f_unit():
    values = np.linspace(0.0, 1.0, 64, dtype=np.float32).reshape(8, 8)
    return pil_bytes(Image.fromarray(values), "TIFF"), values, None, True, 16


def _mode_f_8bit_scale():
    values = np.linspace(0.0, 255.0, 64, dtype=np.float32).reshape(8, 8)
    return pil_bytes(Image.fromarray(values), "TIFF"), values / 255, None, True, 16


_RGB16 = np.random.default_rng(3).integers(0, 65536, (8, 8, 4)).astype(np.uint16)
_RGB16[0, 0] = (65535, 32768, 1, 0)


def _mode_rgb16_png():
    return png16(_RGB16[..., :3], colour_type=2), _RGB16[..., :3] / 65535, None, False, 16


def _mode_rgba16_png():
    return png16(_RGB16, colour_type=6), _RGB16[..., :3] / 65535, _RGB16[..., 3] / 65535, False, 16


def _mode_rgb16_tiff():
    cv2 = pytest.importorskip("cv2")
    ok, encoded = cv2.imencode(".tiff", np.ascontiguousarray(_RGB16[..., 2::-1]))  # OpenCV writes BGR
    assert ok
    return encoded.tobytes(), _RGB16[..., :3] / 65535, None, False, 16


def _mode_la16_png():
    samples = np.stack([_GREY16, _GREY16[::-1]], axis=2)
    # Pillow reads 16-bit grey + alpha at 8 bits; the test allows for that below.
    return png16(samples, colour_type=4), (_GREY16 >> 8) / 255, (_GREY16[::-1] >> 8) / 255, True, 16


def _gif_first_frame():
    first = Image.new("RGB", (8, 8), (255, 0, 0))
    second = Image.new("RGB", (8, 8), (0, 0, 255))
    data = pil_bytes(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    return data, np.tile(np.array([1.0, 0.0, 0.0], np.float32), (8, 8, 1)), None, False, 8


MODE_CASES = {
    "1": _mode_1,
    "L": _mode_l,
    "LA": _mode_la,
    "P": _mode_p,
    "P-transparency": _mode_p_transparent,
    "RGB": _mode_rgb,
    "RGBA": _mode_rgba,
    "CMYK-tiff": _mode_cmyk,
    "I;16-png": _mode_i16_png,
    "I;16B-tiff": _mode_i16b_tiff,
    "I-tiff": _mode_i32_tiff,
    "F-unit": _mode_f_unit,
    "F-0-255": _mode_f_8bit_scale,
    "RGB16-png": _mode_rgb16_png,
    "RGBA16-png": _mode_rgba16_png,
    "RGB16-tiff": _mode_rgb16_tiff,
    "LA16-png": _mode_la16_png,
    "GIF-first-frame": _gif_first_frame,
}


@pytest.mark.parametrize("case", MODE_CASES.values(), ids=MODE_CASES.keys())
def test_every_mode_decodes_to_float_rgb(case):
    data, expected, expected_alpha, greyscale, bit_depth = case()
    loaded = load_image(data, name="mode-test")
    assert_convention(loaded)
    expected = np.asarray(expected, np.float32)
    if expected.ndim == 2:
        expected = np.repeat(expected[..., None], 3, axis=2)
    np.testing.assert_allclose(loaded.rgb, expected, atol=2e-6)
    if expected_alpha is None:
        assert loaded.alpha is None
    else:
        np.testing.assert_allclose(loaded.alpha, expected_alpha, atol=2e-6)
    assert loaded.greyscale is greyscale
    assert loaded.bit_depth == bit_depth


def test_sixteen_bit_values_are_scaled_not_clipped():
    loaded = load_image(pil_bytes(Image.fromarray(_GREY16)))
    row = loaded.rgb[0, :, 0]
    assert row[5] == 1.0  # 65535
    assert row[3] == pytest.approx(0.5, abs=1e-4)  # 32768
    assert 0 < row[1] < 1 / 255  # 1 survives as a value no 8-bit image can hold


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "BMP", "TIFF"])
def test_other_allowed_formats_load(fmt):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[:, 8:] = (200, 40, 90)
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    loaded = load_image(pil_bytes(Image.fromarray(rgb), fmt, **options))
    assert_convention(loaded)
    assert loaded.format == fmt
    np.testing.assert_allclose(loaded.rgb[4, 12], np.array([200, 40, 90]) / 255, atol=0.05)
    np.testing.assert_allclose(loaded.rgb[4, 2], 0.0, atol=0.05)


# --------------------------------------------------------------------------------------------------
# EXIF orientation and colour profiles
# --------------------------------------------------------------------------------------------------


def test_exif_orientation_6_rotates_jpeg():
    stored = np.zeros((16, 32, 3), np.uint8)  # 32 wide, 16 tall
    stored[:, :16] = (255, 0, 0)  # left half red
    stored[:, 16:] = (0, 0, 255)  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # the stored left edge is the visual top
    data = pil_bytes(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())
    loaded = load_image(data, name="portrait.jpg")
    assert loaded.rgb.shape == (32, 16, 3)
    top, bottom = loaded.rgb[2:14].mean(axis=(0, 1)), loaded.rgb[18:30].mean(axis=(0, 1))
    assert top[0] > 0.9 and top[2] < 0.1
    assert bottom[2] > 0.9 and bottom[0] < 0.1


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(orientation):
    stored = noise_image(8, 12)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = pil_bytes(Image.fromarray(stored), exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    np.testing.assert_array_equal(to_uint8(load_image(data).rgb), expected)


def test_sixteen_bit_rgb_is_rotated_too():
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = _RGB16[:, :5, :3]  # 5 wide, 8 tall
    loaded = load_image(png16(stored, colour_type=2, extra=png_chunk(b"eXIf", exif.tobytes()[6:])), min_side=1)
    np.testing.assert_allclose(loaded.rgb, np.rot90(stored, k=-1) / 65535, atol=2e-6)


def test_srgb_profile_leaves_pixels_unchanged():
    rgb = noise_image(8, 8)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    loaded = load_image(pil_bytes(Image.fromarray(rgb), icc_profile=icc))
    np.testing.assert_array_equal(to_uint8(loaded.rgb), rgb)


def test_embedded_profile_is_converted_to_srgb():
    red = Image.new("RGB", (8, 8), (255, 0, 0))
    loaded = load_image(pil_bytes(red, icc_profile=icc_with_swapped_primaries()))
    assert_convention(loaded)
    # In that profile the first channel is blue, so sRGB sees blue.
    assert loaded.rgb[0, 0, 2] > 0.9 and loaded.rgb[0, 0, 0] < 0.1


@pytest.mark.parametrize(
    "icc",
    [
        ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes(),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("XYZ")).tobytes(),
        b"this is not an ICC profile",
    ],
    ids=["lab", "xyz", "garbage"],
)
def test_unusable_profile_is_ignored(icc):
    rgb = noise_image(8, 8)
    loaded = load_image(pil_bytes(Image.fromarray(rgb), icc_profile=icc))
    np.testing.assert_array_equal(to_uint8(loaded.rgb), rgb)


def test_sixteen_bit_rgb_keeps_precision_with_srgb_profile():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    iccp = png_chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(icc))
    loaded = load_image(png16(_RGB16[..., :3], colour_type=2, extra=iccp))
    np.testing.assert_allclose(loaded.rgb, _RGB16[..., :3] / 65535, atol=2e-6)


# --------------------------------------------------------------------------------------------------
# Writing back: alpha, greyscale, JPEG
# --------------------------------------------------------------------------------------------------


def test_output_like_preserves_alpha():
    rgba = noise_image(8, 10, 4, seed=5)
    loaded = load_image(pil_bytes(Image.fromarray(rgba)))
    written = Image.open(io.BytesIO(output_like(loaded, loaded.rgb)))
    assert written.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(written), rgba)


def test_output_like_preserves_grey_alpha():
    la = noise_image(8, 8, 2, seed=6)
    loaded = load_image(pil_bytes(Image.fromarray(la)))
    written = Image.open(io.BytesIO(output_like(loaded, loaded.rgb)))
    assert written.mode == "LA"
    np.testing.assert_array_equal(np.asarray(written), la)


def test_greyscale_round_trip_gives_mode_l():
    grey = noise_image(12, 9, 1, seed=7)
    loaded = load_image(pil_bytes(Image.fromarray(grey)))
    assert loaded.greyscale
    written = Image.open(io.BytesIO(output_like(loaded, loaded.rgb)))
    assert written.mode == "L"
    np.testing.assert_array_equal(np.asarray(written), grey)


def test_sixteen_bit_grey_is_written_as_8_bit_l():
    loaded = load_image(pil_bytes(Image.fromarray(_GREY16)))
    written = Image.open(io.BytesIO(output_like(loaded, loaded.rgb)))
    assert written.mode == "L"
    np.testing.assert_array_equal(np.asarray(written), to_uint8(_GREY16 / 65535))


def test_output_like_resizes_alpha_for_an_upscaled_result():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[:, :4, 3] = 0
    loaded = load_image(pil_bytes(Image.fromarray(rgba)))
    bigger = np.zeros((16, 16, 3), np.float32)
    written = np.asarray(Image.open(io.BytesIO(output_like(loaded, bigger))))
    assert written.shape == (16, 16, 4)
    assert written[:, 0, 3].max() == 0 and written[:, -1, 3].min() == 255


def test_jpeg_drops_alpha_onto_white():
    rgb = np.zeros((16, 16, 3), np.float32)
    alpha = np.ones((16, 16), np.float32)
    alpha[:, :8] = 0.0
    written = Image.open(io.BytesIO(encode_image(rgb, alpha=alpha, format="jpeg")))
    assert written.format == "JPEG" and written.mode == "RGB"
    pixels = np.asarray(written).astype(int)
    assert pixels[:, :6].min() >= 250  # transparent -> white
    assert pixels[:, 10:].max() <= 5  # opaque black stays black


def test_jpeg_quality_changes_size():
    rgb = noise_image(32, 32).astype(np.float32) / 255
    low, high = encode_image(rgb, format="jpeg", quality=20), encode_image(rgb, format="JPG", quality=95)
    assert len(low) < len(high)
    assert Image.open(io.BytesIO(high)).format == "JPEG"


def test_greyscale_jpeg_is_mode_l():
    rgb = np.full((8, 8, 3), 0.5, np.float32)
    written = Image.open(io.BytesIO(encode_image(rgb, greyscale=True, format="jpeg")))
    assert written.mode == "L"


def test_save_image_picks_format_from_suffix_and_writes_atomically(tmp_path):
    rgb = level_image().astype(np.float32) / 255
    png_path = save_image(rgb, tmp_path / "out" / "result.png")
    jpg_path = save_image(rgb, tmp_path / "result.JPG")
    forced = save_image(rgb, tmp_path / "result.bin", format="png")
    grey = save_image(rgb, tmp_path / "grey.png", greyscale=True)
    assert isinstance(png_path, Path) and png_path == tmp_path / "out" / "result.png"
    assert Image.open(png_path).format == "PNG"
    np.testing.assert_array_equal(np.asarray(Image.open(png_path)), level_image())
    assert Image.open(jpg_path).format == "JPEG"
    assert Image.open(forced).format == "PNG"
    assert Image.open(grey).mode == "L"
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_save_image_refuses_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="png"):
        save_image(np.zeros((8, 8, 3), np.float32), tmp_path / "result.gif")
    assert not (tmp_path / "result.gif").exists()


def test_to_uint8_rounds_half_up_and_clips():
    values = np.array([-0.5, 0.0, 0.49 / 255, 0.5 / 255, 1.5 / 255, 254.5 / 255, 1.0, 2.0], np.float32)
    np.testing.assert_array_equal(to_uint8(values), [0, 0, 0, 1, 2, 255, 255, 255])
    assert to_uint8(np.zeros((2, 3, 3), np.float64)).dtype == np.uint8


@pytest.mark.parametrize(
    "bad",
    [np.zeros((4, 4, 3), np.uint8), np.array([[np.nan, 0.5]], np.float32)],
    ids=["uint8", "nan"],
)
def test_to_uint8_refuses_bad_input(bad):
    with pytest.raises(ValueError):
        to_uint8(bad)


@pytest.mark.parametrize(
    ("rgb", "kwargs"),
    [
        (np.zeros((8, 8), np.float32), {}),
        (np.zeros((8, 8, 4), np.float32), {}),
        (np.zeros((8, 8, 3), np.uint8), {}),
        (np.zeros((8, 8, 3), np.float32), {"alpha": np.ones((4, 4), np.float32)}),
        (np.zeros((8, 8, 3), np.float32), {"format": "gif"}),
        (np.zeros((8, 8, 3), np.float32), {"format": "jpeg", "quality": 0}),
        (np.zeros((8, 8, 3), np.float32), {"format": "jpeg", "quality": 101}),
    ],
    ids=["2d", "4-channels", "uint8", "alpha-size", "gif", "quality-0", "quality-101"],
)
def test_encode_image_refuses_bad_arguments(rgb, kwargs):
    with pytest.raises(ValueError):
        encode_image(rgb, **kwargs)


# --------------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------------


def assert_refused(source, label: str, fragment: str, **kwargs) -> ImageLoadError:
    """load_image raises ImageLoadError with a one-line message that starts with the name."""
    with pytest.raises(ImageLoadError) as info:
        load_image(source, **kwargs)
    message = str(info.value)
    assert message.startswith(f"{label}: "), message
    assert fragment in message, message
    assert "Traceback" not in message and "\n" not in message
    assert message.endswith(".")
    return info.value


def test_refuses_empty_bytes_and_empty_file(tmp_path):
    assert_refused(b"", "photo.png", "the file is empty.", name="photo.png")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert_refused(empty, "empty.png", "the file is empty.")
    assert_refused(io.BytesIO(), "image", "the file is empty.")


def test_refuses_missing_path_and_folder(tmp_path):
    assert_refused(tmp_path / "nowhere.png", "nowhere.png", "does not exist")
    folder = tmp_path / "album.png"
    folder.mkdir()
    assert_refused(folder, "album.png", "folder")


def test_refuses_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is a shopping list, not a picture\n")
    error = assert_refused(path, "notes.png", "not a PNG, JPEG, WebP, BMP, TIFF, GIF or HEIC image")
    assert isinstance(error, ValueError)


def test_refuses_truncated_png():
    data = pil_bytes(Image.fromarray(noise_image()))
    assert_refused(data[: len(data) // 2], "half.png", "truncated", name="half.png")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("fmt", ["JPEG", "BMP", "TIFF", "GIF", "WEBP"])
def test_refuses_truncated_files_of_every_format(fmt):
    data = pil_bytes(Image.fromarray(noise_image()), fmt)
    assert_refused(data[: len(data) // 2], "half", "damaged", name="half")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(("width", "height"), [(20000, 10000), (10000, 10000)], ids=["200MP", "100MP"])
def test_refuses_decompression_bomb_quickly(width, height):
    data = raw_png(width, height, 8, 2, b"\x00" * 64)  # a few bytes of pixel data behind a huge header
    assert len(data) < 200
    started = time.perf_counter()
    assert_refused(data, "bomb.png", "megapixels", name="bomb.png")
    assert time.perf_counter() - started < 1.0
    assert Image.MAX_IMAGE_PIXELS is not None


def test_refuses_image_above_limit_from_header_alone():
    # 6000 x 5000 in the header, almost nothing inside: refused before any pixel is decoded.
    data = raw_png(6000, 5000, 8, 2, b"\x00" * 16)
    started = time.perf_counter()
    with pytest.raises(ImageLoadError) as info:
        load_image(data, name="photo.png")
    assert time.perf_counter() - started < 1.0
    assert str(info.value) == "photo.png: the image is 30.0 megapixels; the limit is 24 megapixels. Shrink it first."


def test_refuses_image_above_custom_limit_without_resizing():
    data = pil_bytes(Image.new("RGB", (64, 64)))
    assert_refused(data, "big.png", "the limit is 0.001 megapixels. Shrink it first.", name="big.png", max_pixels=1000)
    assert load_image(data, max_pixels=64 * 64).rgb.shape == (64, 64, 3)


def test_refuses_tiny_image():
    data = pil_bytes(Image.new("RGB", (4, 4)))
    assert_refused(data, "tiny.png", "4 x 4 pixels; each side must be at least 8 pixels", name="tiny.png")
    assert load_image(data, min_side=4).rgb.shape == (4, 4, 3)


def _ppm() -> bytes:
    return pil_bytes(Image.new("RGB", (16, 16)), "PPM")


def _ico() -> bytes:
    return pil_bytes(Image.new("RGB", (16, 16)), "ICO")


UNSUPPORTED = {
    "psd": b"8BPS\x00\x01" + b"\x00" * 6 + b"\x00\x03\x00\x00\x00\x10\x00\x00\x00\x10\x00\x08\x00\x03" + b"\x00" * 64,
    "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\nshowpage\n",
    "ppm": _ppm,
    "ico": _ico,
}


@pytest.mark.parametrize("kind", UNSUPPORTED.keys())
def test_refuses_formats_outside_the_whitelist(kind):
    data = UNSUPPORTED[kind]
    data = data() if callable(data) else data
    assert_refused(data, f"picture.{kind}", "not a PNG, JPEG", name=f"picture.{kind}")


def test_load_error_pickles_and_keeps_parts():
    error = ImageLoadError("photo.png", "the file is empty.")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == "photo.png: the file is empty."
    assert (copy.filename, copy.reason) == ("photo.png", "the file is empty.")


def test_bad_limits_are_programming_errors():
    data = pil_bytes(Image.new("RGB", (8, 8)))
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(data, max_pixels=0)
    with pytest.raises(ValueError, match="min_side"):
        load_image(data, min_side=0)
    with pytest.raises(TypeError):
        load_image(12345)
