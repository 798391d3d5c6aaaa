"""Untrusted zip archives, read in memory with every member checked before a byte of it is used.

A visitor's archive can attack whoever unpacks it: member names that are absolute or climb out of
the folder (``../../etc/passwd``), symbolic links, encrypted members, zip bombs (a small file that
expands to gigabytes, or a member that unpacks to more than its header says), and sheer size. The
helpers here are the one guard against all of that: :func:`open_archive`, :func:`member_path`,
:func:`check_member`, :func:`check_ratio` and :func:`read_member`. Both uploads use them: the training
zip (:mod:`deblur_core.training.uploads`, which refuses a tricky archive as a whole) and the
benchmark's zip of sharp images (:func:`read_image_zip`, which skips what it cannot use). Nothing
is ever extracted here.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from deblur_core.io.decode import ALLOWED_TEXT, IMAGE_SUFFIXES, ImageLoadError, LoadedImage, load_image

__all__ = [
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "UnsafeZipError",
    "ZipContents",
    "check_member",
    "check_ratio",
    "is_junk",
    "member_path",
    "open_archive",
    "read_image_zip",
    "read_member",
]

# The limits of read_image_zip (an archive of sharp images read into memory for a benchmark).
MAX_MEMBERS = 200
MAX_MEMBER_BYTES = 40 * 1024 * 1024
MAX_TOTAL_BYTES = 400 * 1024 * 1024
MAX_RATIO = 200.0
"""A member over 1 MB that expands more than this many times its compressed size is a zip bomb."""
_RATIO_FLOOR = 1024 * 1024  # below this a member cannot hurt, whatever its ratio (a flat PNG packs well)

# Files that archivers add and that are never data; skipped without a word.
_JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$|\._)", re.IGNORECASE)


class UnsafeZipError(ValueError):
    """The archive is refused as a whole (a path trick, a zip bomb, too large, not a zip)."""


def open_archive(data: bytes, name: str = "This file") -> zipfile.ZipFile:
    """The archive in ``data``, opened in memory; an :class:`UnsafeZipError` naming ``name`` if it is not a zip."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnsafeZipError(f"{name} is not a readable zip archive; pack the images into a .zip file.") from None


def is_junk(name: str) -> bool:
    """Whether a member is archiver clutter (``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``...)."""
    return bool(_JUNK.search(name))


def member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's path, refusing absolute names, drive letters, ``..`` and odd characters."""
    raw = info.filename
    name = raw.replace("\\", "/")
    if "\x00" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UnsafeZipError(f"The archive member '{raw}' has an absolute path; such archives are refused.")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafeZipError(
            f"The archive member '{raw}' points outside the archive ('..'); such archives are refused."
        )
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    """Whether the member is a symbolic link (Unix mode bits in the high word of external_attr)."""
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode)


def check_member(info: zipfile.ZipInfo) -> PurePosixPath:
    """:func:`member_path`, and refuse symbolic links and encrypted members too."""
    path = member_path(info)
    if _is_symlink(info):
        raise UnsafeZipError(f"The archive member '{info.filename}' is a symbolic link; such archives are refused.")
    if info.flag_bits & 0x1:
        raise UnsafeZipError(f"The archive member '{info.filename}' is encrypted; use an unencrypted zip.")
    return path


def check_ratio(info: zipfile.ZipInfo, max_ratio: float = MAX_RATIO) -> None:
    """Refuse a member over 1 MB that claims to expand more than ``max_ratio`` times (a zip bomb)."""
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > _RATIO_FLOOR and ratio > max_ratio:
        raise UnsafeZipError(
            f"The archive member '{info.filename}' is compressed {ratio:.0f}:1, more than the {max_ratio:.0f}:1 "
            "that real images reach; the archive looks like a zip bomb and is refused."
        )


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read a member, never more than ``limit`` bytes whatever its header claims."""
    out = bytearray()
    with zf.open(info) as handle:
        while True:
            chunk = handle.read(min(1 << 20, limit + 1 - len(out)))
            if not chunk:
                break
            out += chunk
            if len(out) > limit:
                raise UnsafeZipError(
                    f"The archive member '{info.filename}' unpacks to more than its header says; the archive is refused."
                )
    return bytes(out)


# -- a zip of images, read into memory -------------------------------------------------------------


@dataclass
class ZipContents:
    """The images found in an uploaded zip and a sentence for each member that was skipped."""

    images: list[LoadedImage] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _skip_reason(member: zipfile.ZipInfo, max_member_bytes: int) -> str | None:
    """Why a member of an image zip is left out, or None when it is to be read."""
    try:
        member_path(member)
    except UnsafeZipError:
        return "its path points outside the archive"
    if member.flag_bits & 0x1:
        return "it is encrypted"
    if _is_symlink(member):
        return "it is a symbolic link"
    if not member.filename.lower().endswith(IMAGE_SUFFIXES):
        return f"not an image ({ALLOWED_TEXT})"
    if member.file_size > max_member_bytes:
        return f"it is {member.file_size / 2**20:.0f} MB; at most {max_member_bytes / 2**20:.0f} MB per image"
    return None


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
    UnsafeZipError
        (a ValueError) The file is not a zip, has too many members, expands beyond the limits (a zip
        bomb) or holds no usable image. The message says which and what to do.
    """
    contents = ZipContents()
    with open_archive(data, name) as archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not is_junk(m.filename)]
        if len(members) > max_members:
            raise UnsafeZipError(f"{name} holds {len(members)} files; at most {max_members} are accepted at once.")
        declared = sum(m.file_size for m in members)
        if declared > max_total_bytes:
            raise UnsafeZipError(
                f"{name} would expand to {declared / 2**20:.0f} MB; at most {max_total_bytes / 2**20:.0f} MB "
                "are accepted. Send fewer or smaller images."
            )
        total = 0
        for member in members:
            label = member.filename
            why = _skip_reason(member, max_member_bytes)
            if why:
                contents.skipped.append(f"{label}: skipped, {why}.")
                continue
            check_ratio(member)
            try:
                payload = read_member(archive, member, member.file_size)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                contents.skipped.append(f"{label}: skipped, it cannot be unpacked ({exc}).")
                continue
            total += len(payload)
            if total > max_total_bytes:
                raise UnsafeZipError(
                    f"{name} expands beyond {max_total_bytes / 2**20:.0f} MB; the archive was refused."
                )
            short = PurePosixPath(label.replace("\\", "/")).name
            try:
                kwargs = {"max_pixels": max_pixels} if max_pixels else {}
                contents.images.append(load_image(payload, name=short, **kwargs))
            except ImageLoadError as exc:
                contents.skipped.append(f"{label}: skipped: {exc.reason}")
    if not contents.images:
        detail = f" ({contents.skipped[0]})" if contents.skipped else ""
        raise UnsafeZipError(f"{name} holds no usable image{detail}.")
    return contents
