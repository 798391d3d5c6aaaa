"""Training-data zips: path tricks and zip bombs are refused, non-images skipped, layouts detected."""

from __future__ import annotations

import io
import stat
import zipfile

import numpy as np
import pytest

from deblur_core.io import encode_image
from deblur_core.training.uploads import UnsafeZipError, ZipLimits, extract_zip, inspect_zip


def _png(seed: int, size: int = 40) -> bytes:
    rng = np.random.default_rng(seed)
    return encode_image(rng.random((size, size, 3)).astype(np.float32))


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_plain_sharp_images_are_accepted_and_extracted(tmp_path):
    data = _zip({"photos/a.png": _png(1), "photos/b.png": _png(2), "photos/c.png": _png(3)})
    report = inspect_zip(data)
    assert report.layout == "sharp" and not report.paired
    assert sorted(report.images.values()) == ["photos/a.png", "photos/b.png", "photos/c.png"]
    assert report.pixels == 3 * 40 * 40
    root = extract_zip(data, tmp_path / "data", report)
    assert sorted(p.name for p in root.rglob("*.png")) == ["a.png", "b.png", "c.png"]
    assert (root / "photos" / "a.png").read_bytes() == _png(1)


def test_member_climbing_out_with_dotdot_is_refused(tmp_path):
    data = _zip({"a.png": _png(1), "../evil.png": _png(2), "b.png": _png(3)})
    with pytest.raises(UnsafeZipError, match=r"\.\./evil\.png.*outside"):
        inspect_zip(data)
    with pytest.raises(UnsafeZipError):
        extract_zip(data, tmp_path / "data")
    assert not (tmp_path / "evil.png").exists()
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("name", ["/etc/evil.png", "C:/evil.png", "\\\\server\\evil.png"])
def test_absolute_member_paths_are_refused(name):
    with pytest.raises(UnsafeZipError, match="absolute"):
        inspect_zip(_zip({"a.png": _png(1), name: _png(2)}))


def test_symbolic_link_member_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("a.png", _png(1))
        zf.writestr("b.png", _png(2))
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(UnsafeZipError, match="link.png.*symbolic link"):
        inspect_zip(buffer.getvalue())


def test_zip_bomb_with_a_huge_ratio_is_refused_without_unpacking_it():
    bomb = b"\0" * (50 * 1024 * 1024)  # 50 MB of zeros compress about 1000:1
    data = _zip({"a.png": _png(1), "b.png": _png(2), "big.bmp": bomb})
    assert len(data) < 200_000
    with pytest.raises(UnsafeZipError, match="big.bmp.*zip bomb"):
        inspect_zip(data)


def test_total_size_and_member_count_limits():
    data = _zip({f"{i}.png": _png(i) for i in range(6)})
    with pytest.raises(UnsafeZipError, match="6 members; at most 5"):
        inspect_zip(data, ZipLimits(max_members=5))
    with pytest.raises(UnsafeZipError, match="unpacks to more than"):
        inspect_zip(data, ZipLimits(max_total_bytes=len(_png(0)) * 3))
    with pytest.raises(UnsafeZipError, match="megapixels"):
        inspect_zip(data, ZipLimits(max_total_pixels=3 * 40 * 40))


def test_non_image_members_are_skipped_with_their_names():
    data = _zip(
        {
            "a.png": _png(1),
            "b.png": _png(2),
            "notes.txt": b"hello",
            "fake.png": b"this is not a png at all",
            "__MACOSX/._a.png": b"junk",
        }
    )
    report = inspect_zip(data)
    assert sorted(report.images) == ["a.png", "b.png"]
    skipped = dict(report.skipped)
    assert "not an image" in skipped["notes.txt"]
    assert "fake.png" in skipped
    assert "__MACOSX/._a.png" not in skipped  # archiver junk is dropped silently
    assert "2 file(s) skipped" in report.describe()


def test_too_few_usable_images_is_a_clear_error():
    data = _zip({"a.png": _png(1), "broken.png": b"\x89PNG\r\n\x1a\nnope"})
    with pytest.raises(UnsafeZipError, match=r"1 usable image.*broken\.png"):
        inspect_zip(data)
    with pytest.raises(UnsafeZipError, match="not a readable zip"):
        inspect_zip(b"PK\x03\x04 certainly not a zip")


def test_kaggle_paired_layout_is_detected_and_pairs_match_find_pairs(tmp_path):
    from deblur_core.training.data import find_pairs

    members = {"readme.md": b"blur dataset"}
    for i in range(3):
        members[f"blur-dataset/sharp/{i}_IPHONE_S.jpg"] = _png(i)
        members[f"blur-dataset/motion_blurred/{i}_IPHONE_M.jpg"] = _png(10 + i)
        members[f"blur-dataset/defocused_blurred/{i}_IPHONE_F.jpg"] = _png(20 + i)
    members["blur-dataset/motion_blurred/orphan_M.jpg"] = _png(99)
    members["elsewhere/x.png"] = _png(98)
    data = _zip(members)
    report = inspect_zip(data)
    assert report.layout == "kaggle" and report.paired
    assert report.root == "blur-dataset"
    assert report.pairs == 6
    assert any(name == "elsewhere/x.png" for name, _ in report.skipped)
    root = extract_zip(data, tmp_path / "data", report)
    pairs = find_pairs(root)  # the paired folders land at the top of the job's folder
    assert len(pairs) == report.pairs
    assert all(b.parent.name.endswith("_blurred") and s.parent.name == "sharp" for b, s in pairs)


def test_frames_paired_layout_at_the_top_level(tmp_path):
    members = {}
    for i in range(2):
        members[f"good_frames/f{i}.png"] = _png(i)
        members[f"bad_frames/f{i}.png"] = _png(5 + i)
    report = inspect_zip(_zip(members))
    assert (report.layout, report.root, report.pairs) == ("frames", "", 2)


def test_paired_layout_without_matching_names_is_refused():
    members = {"sharp/a_S.png": _png(1), "sharp/b_S.png": _png(2), "motion_blurred/z_M.png": _png(3)}
    with pytest.raises(UnsafeZipError, match="paired layout but only 0"):
        inspect_zip(_zip(members))


def test_report_for_other_bytes_is_not_trusted(tmp_path):
    good = _zip({"a.png": _png(1), "b.png": _png(2)})
    bad = _zip({"a.png": _png(1), "../b.png": _png(2)})
    report = inspect_zip(good)
    with pytest.raises(UnsafeZipError):
        extract_zip(bad, tmp_path / "data", report)
