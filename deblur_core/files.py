"""Files: atomic writing (a reader never sees a half-written file, a crash leaves the old one), JSON, unusable files."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


class UnusableFileError(ValueError):
    """A file that cannot be used; the message starts with the file's name.

    Parameters
    ----------
    filename : str
        Name shown to the user, e.g. ``"photo.png"``.
    reason : str
        One sentence saying what is wrong and, where possible, what to do.
    """

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason

    def __reduce__(self):
        return (type(self), (self.filename, self.reason))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    return atomic_write_with(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: object) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def atomic_write_with(path: str | Path, writer: Callable[[str], object], suffix: str | None = None) -> Path:
    """Call ``writer(tmp_path)`` to produce the file, then move it onto ``path`` in one step.

    ``suffix`` is the temporary file's ending (some writers, such as Keras, insist on one); it
    defaults to the target's own suffix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A hidden name (leading dot) so folder listings such as the model registry never pick it up.
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        # mkstemp creates the file private (0600); give it the permissions a normal write would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def json_safe(value):
    """Replace NaN and infinity (not valid JSON) with None, recursively; paths become strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return json_safe(value.item())
    return value
