"""The worked example a first visitor sees without a click: a sample blurred on purpose and restored.

It is computed once per server and method (``st.cache_data``), so a class arriving at once costs a
single computation; the visitors who arrive while it runs wait for that one result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from deblur_core import settings
from studio import samples, services
from studio.methods import MethodChoice
from studio.tasks import KernelSettings, Restored, blur_picture, digest, restore_picture

EXAMPLE_SAMPLE = samples.DEFAULT_SAMPLE
EXAMPLE_KERNEL = KernelSettings(kind="motion", length=15, angle=30)
EXAMPLE_NOISE = 1.0 / 255.0


@dataclass
class Example:
    sharp: np.ndarray
    blurred: np.ndarray
    kernel: np.ndarray
    result: Restored


@st.cache_data(show_spinner=False, max_entries=4)
def _example(method: str, upscale: bool, version: str, shipped: str, user: str) -> Example:
    choice = services.get_menu().by_method(method)
    if choice is None:
        raise ValueError(f"The method {method} is no longer available.")
    sharp = samples.sample_image(EXAMPLE_SAMPLE)
    kernel = EXAMPLE_KERNEL.kernel()
    blurred = blur_picture(sharp, kernel, EXAMPLE_NOISE, seed=0)
    registry = services.get_registry()
    key = digest("example", EXAMPLE_SAMPLE, EXAMPLE_KERNEL.spec(), EXAMPLE_NOISE, choice.cache_id())
    result = services.get_queue().run(
        key,
        lambda on_progress, cancel: restore_picture(
            blurred,
            choice,
            kernel=kernel,
            truth=sharp,
            registry=registry,
            on_progress=on_progress,
            cancel=cancel,
        ),
        "the worked example",
    )
    return Example(np.asarray(sharp), blurred, kernel, result)


def worked_example(choice: MethodChoice) -> Example:
    """The example restored with ``choice`` (cached per server)."""
    return _example(
        choice.method,
        choice.upscale,
        choice.version,
        str(settings.shipped_models_dir()),
        str(settings.user_models_dir()),
    )
