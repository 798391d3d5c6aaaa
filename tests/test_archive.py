"""deblur_core.io.archive: a zip of images read in memory, every risky member skipped or refused."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from deblur_core.io import encode_image
from deblur_core.io.archive import UnsafeZipError, read_image_zip


def _png(size=(24, 32), value=0.5) -> bytes:
    return encode_image(np.full((*size, 3), value, np.float32))


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_reads_images_and_explains_every_skipped_member():
    data = _zip(
        {
            "set/a.png": _png(),
            "set/b.png": _png(value=0.25),
            "../../evil.png": _png(),
            "/abs/x.png": _png(),
            "notes.txt": b"hello",
            "broken.png": b"not really a png",
            "__MACOSX/._a.png": b"junk",
        }
    )
    contents = read_image_zip(data, name="set.zip")
    assert [img.name for img in contents.images] == ["a.png", "b.png"]
    assert contents.images[0].rgb.shape == (24, 32, 3)
    skipped = "\n".join(contents.skipped)
    assert "../../evil.png: skipped, its path points outside" in skipped
    assert "/abs/x.png: skipped, its path points outside" in skipped
    assert "notes.txt: skipped, not an image" in skipped
    assert "broken.png: skipped" in skipped
    assert "__MACOSX" not in skipped


def test_zip_bomb_is_refused_before_it_is_unpacked():
    bomb = _zip({"big.png": b"\0" * (20 * 1024 * 1024)})  # 20 MB of zeros packs into ~20 kB
    with pytest.raises(UnsafeZipError, match="zip bomb"):
        read_image_zip(bomb, name="bomb.zip")


def test_zip_limits_are_sentences():
    with pytest.raises(UnsafeZipError, match="not a readable zip archive"):
        read_image_zip(b"plain text", name="x.zip")
    with pytest.raises(UnsafeZipError, match="holds 3 files; at most 2"):
        read_image_zip(_zip({f"{i}.png": _png() for i in range(3)}), max_members=2)
    with pytest.raises(UnsafeZipError, match="would expand to"):
        read_image_zip(_zip({"a.png": _png()}), max_total_bytes=10)
    with pytest.raises(UnsafeZipError, match="holds no usable image"):
        read_image_zip(_zip({"a.txt": b"x"}))
    too_big = read_image_zip(_zip({"a.png": _png(), "b.png": _png((64, 64))}), max_pixels=24 * 32)
    assert [i.name for i in too_big.images] == ["a.png"]
    assert "b.png: skipped" in too_big.skipped[0]
