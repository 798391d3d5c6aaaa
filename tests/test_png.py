import io
import zlib

import numpy as np
import pytest
from PIL import Image

from deblur_core.io import png as png_module
from deblur_core.io.png import encode_png


@pytest.mark.parametrize(
    ("shape", "mode"), [((37, 53), "L"), ((37, 53, 2), "LA"), ((37, 53, 3), "RGB"), ((5, 7, 4), "RGBA")]
)
def test_every_colour_type_decodes_to_the_same_pixels(shape, mode):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    back = Image.open(io.BytesIO(encode_png(pixels)))
    assert back.mode == mode
    np.testing.assert_array_equal(np.asarray(back), pixels)


def test_a_photo_cut_into_many_bands_is_one_valid_stream_of_the_same_size_as_pillows(monkeypatch):
    from skimage import data

    photo = data.astronaut()
    monkeypatch.setattr(png_module, "BAND_BYTES", 20_000)  # 13 rows a band: 40 bands compressed apart
    encoded = encode_png(photo, workers=3)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encoded))), photo)
    reference = io.BytesIO()
    Image.fromarray(photo).save(reference, "PNG", compress_level=3)
    # Paeth rows and bands compressed apart cost little against Pillow's adaptive filter at the same level.
    assert len(encoded) < 1.05 * len(reference.getvalue())
    # The chunks' checksums hold (Pillow's decoder above does not check IDAT's CRC).
    pos = 8
    while pos < len(encoded):
        length = int.from_bytes(encoded[pos : pos + 4], "big")
        kind_and_data = encoded[pos + 4 : pos + 8 + length]
        assert zlib.crc32(kind_and_data) == int.from_bytes(encoded[pos + 8 + length : pos + 12 + length], "big")
        pos += 12 + length
    assert pos == len(encoded) and encoded.endswith(b"IEND\xae\x42\x60\x82")


def test_the_edges_of_the_byte_range_and_a_single_pixel_survive():
    # Neighbours 0 and 255 side by side and above each other: the filter's differences wrap around a byte.
    extremes = np.array([[0, 255, 0, 255], [255, 0, 255, 0], [1, 254, 128, 127]], np.uint8)
    for pixels in (
        np.dstack([extremes, extremes[::-1], 255 - extremes]),
        np.array([[[255, 0, 7]]], np.uint8),
        extremes[:1, :1],
    ):
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encode_png(pixels)))), pixels)


@pytest.mark.parametrize(
    "bad", [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 5), np.uint8), np.zeros((0, 4), np.uint8)]
)
def test_anything_but_a_non_empty_8_bit_image_is_refused_with_a_sentence(bad):
    with pytest.raises(ValueError, match="uint8"):
        encode_png(bad)
