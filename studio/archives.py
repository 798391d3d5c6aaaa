"""Zip files in and out, entirely in memory.

:func:`build_zip` packs several results into one download. :func:`read_image_zip` opens a zip that a
visitor uploads and defends against what an untrusted archive can do: a zip bomb (a small file that
expands to gigabytes), member names that climb out of a folder (``../../etc/passwd``) or are
absolute, too many members, members that lie about their size, and files that are not images.
Nothing is ever extracted to disk. This module never imports streamlit.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from deblur_core.io import ImageLoadError, LoadedImage, load_image

MAX_MEMBERS = 200
MAX_MEMBER_BYTES = 40 * 1024 * 1024
MAX_TOTAL_BYTES = 400 * 1024 * 1024
MAX_RATIO = 200
"""A member that expands more than this many times its compressed size is treated as a zip bomb."""

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db")


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name`` with ``-2``, ``-3``... before its suffix if already ``taken``; adds it to ``taken``."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}.{suffix}" if dot else f"{stem}-{n}"
    taken.add(candidate)
    return candidate


def build_zip(files: list[tuple[str, bytes]]) -> bytes:
    """A zip of ``(name, data)`` pairs; repeated names get a number. PNGs are stored, not recompressed."""
    buffer = io.BytesIO()
    taken: set[str] = set()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files:
            safe = PurePosixPath(name.replace("\\", "/")).name or "image.png"
            # PNG data is already compressed; deflating it again costs time and saves nothing.
            method = zipfile.ZIP_STORED if safe.lower().endswith(".png") else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(unique_name(safe, taken), date_time=(2020, 1, 1, 0, 0, 0)), data, method)
    return buffer.getvalue()


@dataclass
class ZipContents:
    """The images found in an uploaded zip and a sentence for each member that was skipped."""

    images: list[LoadedImage] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _unsafe_name(name: str) -> bool:
    """A member name that is absolute or climbs out of the archive's folder."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return True
    return ".." in posixpath.normpath(normal).split("/")


def read_image_zip(
    data: bytes,
    *,
    name: str = "upload.zip",
    max_members: int = MAX_MEMBERS,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_pixels: int | None = None,
) -> ZipContents:
    """The images in a zip archive, read into memory only, with every risky member refused.

    Parameters
    ----------
    data : bytes
        The uploaded archive.
    name : str
        The archive's name, for messages.
    max_members, max_member_bytes, max_total_bytes : int
        Limits on the number of members and their uncompressed sizes.
    max_pixels : int, optional
        Largest image accepted (``deblur_core.io.DEFAULT_MAX_PIXELS`` if omitted).

    Returns
    -------
    ZipContents
        The decoded images (named after their members) and one sentence per skipped member.

    Raises
    ------
    ValueError
        The file is not a zip, has too many members, expands beyond the limits (a zip bomb) or holds
        no usable image. The message says which and what to do.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValueError(f"{name}: this is not a zip archive; pack your sharp images into a .zip file.") from None
    contents = ZipContents()
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not any(j in m.filename for j in _JUNK)]
        if len(members) > max_members:
            raise ValueError(f"{name} holds {len(members)} files; at most {max_members} are accepted at once.")
        declared = sum(m.file_size for m in members)
        if declared > max_total_bytes:
            raise ValueError(
                f"{name} would expand to {declared / 2**20:.0f} MB; at most {max_total_bytes / 2**20:.0f} MB "
                "are accepted. Send fewer or smaller images."
            )
        total = 0
        for member in members:
            label = member.filename
            if _unsafe_name(label):
                contents.skipped.append(f"{label}: skipped, its path points outside the archive.")
                continue
            if member.flag_bits & 0x1:
                contents.skipped.append(f"{label}: skipped, it is encrypted.")
                continue
            if not label.lower().endswith(_IMAGE_SUFFIXES):
                contents.skipped.append(f"{label}: skipped, not an image (PNG, JPEG, WebP, BMP, TIFF or GIF).")
                continue
            if member.file_size > max_member_bytes:
                contents.skipped.append(
                    f"{label}: skipped, it is {member.file_size / 2**20:.0f} MB; at most "
                    f"{max_member_bytes / 2**20:.0f} MB per image."
                )
                continue
            if member.compress_size and member.file_size / member.compress_size > MAX_RATIO:
                raise ValueError(
                    f"{name}: {label} expands {member.file_size // member.compress_size} times, which is how "
                    "zip bombs work; the archive was refused."
                )
            # Read at most one byte more than declared: a member that lies about its size is caught
            # without ever holding more than the limit in memory.
            try:
                with archive.open(member) as handle:
                    payload = handle.read(member.file_size + 1)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
                contents.skipped.append(f"{label}: skipped, it cannot be unpacked ({exc}).")
                continue
            if len(payload) > member.file_size:
                raise ValueError(f"{name}: {label} holds more data than its header says; the archive was refused.")
            total += len(payload)
            if total > max_total_bytes:
                raise ValueError(f"{name} expands beyond {max_total_bytes / 2**20:.0f} MB; the archive was refused.")
            short = PurePosixPath(label.replace("\\", "/")).name
            try:
                kwargs = {"max_pixels": max_pixels} if max_pixels else {}
                contents.images.append(load_image(payload, name=short, **kwargs))
            except ImageLoadError as exc:
                contents.skipped.append(f"{label}: skipped: {exc.reason}")
    if not contents.images:
        detail = f" ({contents.skipped[0]})" if contents.skipped else ""
        raise ValueError(f"{name} holds no usable image{detail}.")
    return contents
