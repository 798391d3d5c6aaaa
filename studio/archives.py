"""Zip files for downloads, built in memory: :func:`build_zip` packs several results into one.

Uploaded zips are read by :func:`deblur_core.io.archive.read_image_zip`. This module never imports
streamlit.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath


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
