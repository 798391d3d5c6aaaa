"""Shared test fixtures."""

import os
from pathlib import Path

import pytest

from deblur_core.settings import data_dir

# The shared research images live beside the project, at ../shared/data (see its README);
# DEBLUR_STUDIO_DATA points elsewhere, as it does for the app and the benchmark.
SHARED_DATA = data_dir()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared image data folder (``../shared/data`` from the project root, or ``$DEBLUR_STUDIO_DATA``).

    A fresh clone has no such folder, so tests that need it are skipped with the reason; under CI
    (the ``CI`` environment variable set) the folder must be there and its absence is a failure.
    """
    if not SHARED_DATA.is_dir():
        message = (
            f"the shared image data folder {SHARED_DATA} is absent; "
            "these tests need the public benchmark images at ../shared/data from the project root"
        )
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must provide it)")
        pytest.skip(message)
    return SHARED_DATA
