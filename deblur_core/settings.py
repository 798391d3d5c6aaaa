"""Every setting Deblur Studio reads from the environment, and the default folders.

One place for every ``DEBLUR_STUDIO_*`` variable, so that the command line, the web app, the
benchmark and the tests agree on where things are. Each function reads the environment when it is
called (not at import), so a test or a server can change a variable and be heard at once.

===============================  ==========================================================
``DEBLUR_STUDIO_MODELS``         the user model folder (``~/.deblur-studio/models``)
``DEBLUR_STUDIO_SHIPPED_MODELS`` the shipped model folder the web app lists (``models/``)
``DEBLUR_STUDIO_JOBS``           training jobs (``jobs/`` beside the user model folder)
``DEBLUR_STUDIO_DATA``           the public research images (``../shared/data`` beside the project)
``DEBLUR_STUDIO_WORKERS``        the web app's worker threads (one per CPU core)
``DEBLUR_STUDIO_CACHE_MB``       the web app's result cache, in MB (1536)
``DEBLUR_STUDIO_VIDEO_SAMPLE``   ``frames,height,width`` of the Video page's sample clip (48,360,640)
===============================  ==========================================================
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MODELS_DIR = PROJECT_ROOT / "models"
"""The models that ship with the project (read-only)."""

MODELS_ENV = "DEBLUR_STUDIO_MODELS"
SHIPPED_MODELS_ENV = "DEBLUR_STUDIO_SHIPPED_MODELS"
JOBS_ENV = "DEBLUR_STUDIO_JOBS"
DATA_ENV = "DEBLUR_STUDIO_DATA"
WORKERS_ENV = "DEBLUR_STUDIO_WORKERS"
CACHE_MB_ENV = "DEBLUR_STUDIO_CACHE_MB"
VIDEO_SAMPLE_ENV = "DEBLUR_STUDIO_VIDEO_SAMPLE"

DEFAULT_CACHE_MB = 1536
DEFAULT_VIDEO_SAMPLE = (48, (360, 640))


def _path(variable: str) -> Path | None:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else None


def user_models_dir() -> Path:
    """The user model folder: ``$DEBLUR_STUDIO_MODELS`` or ``~/.deblur-studio/models``."""
    return _path(MODELS_ENV) or Path.home() / ".deblur-studio" / "models"


def shipped_models_dir() -> Path:
    """The shipped model folder the web app lists: ``$DEBLUR_STUDIO_SHIPPED_MODELS`` or the project's ``models/``."""
    return _path(SHIPPED_MODELS_ENV) or SHIPPED_MODELS_DIR


def jobs_dir() -> Path:
    """The training jobs folder: ``$DEBLUR_STUDIO_JOBS``, or ``jobs/`` beside the user model folder."""
    return _path(JOBS_ENV) or user_models_dir().parent / "jobs"


def data_dir() -> Path:
    """The public research images: ``$DEBLUR_STUDIO_DATA`` or ``../shared/data`` beside the project."""
    value = os.environ.get(DATA_ENV)
    return Path(value) if value else PROJECT_ROOT.parent / "shared" / "data"


def workers() -> int:
    """Computations the web app runs at the same time: ``$DEBLUR_STUDIO_WORKERS`` or one per CPU core."""
    value = os.environ.get(WORKERS_ENV, "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, os.cpu_count() or 1)


def cache_megabytes() -> int:
    """The web app's result cache: ``$DEBLUR_STUDIO_CACHE_MB`` megabytes, 1536 by default."""
    value = os.environ.get(CACHE_MB_ENV, "")
    return int(value) if value.isdigit() else DEFAULT_CACHE_MB


def video_sample() -> tuple[int, tuple[int, int]]:
    """Frames and (height, width) of the Video page's sample clip; ``$DEBLUR_STUDIO_VIDEO_SAMPLE`` can shrink it."""
    text = os.environ.get(VIDEO_SAMPLE_ENV, "")
    try:
        frames, height, width = (int(v) for v in text.split(","))
        if frames >= 1 and min(height, width) >= 16:
            return frames, (height, width)
    except ValueError:
        pass
    return DEFAULT_VIDEO_SAMPLE
