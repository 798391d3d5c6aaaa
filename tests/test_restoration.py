"""deblur_core.restoration: the method catalogue, the Restoration result and restore()."""

from __future__ import annotations

import numpy as np
import pytest

from deblur_core.degrade import blur
from deblur_core.kernels import gaussian_kernel
from deblur_core.progress import Cancelled
from deblur_core.restoration import restore

KERNEL_METHODS = ("wiener", "richardson-lucy", "unsupervised-wiener")


def texture(height: int = 40, width: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.uniform(0, 1, (height, width, 3)), 0, 1).astype(np.float32)


@pytest.mark.parametrize("method", KERNEL_METHODS)
def test_restore_passes_cancel_to_every_method(method):
    """A stop request reaches the method itself, so even the slowest one can be stopped."""
    kernel = gaussian_kernel(1.5)
    blurred = blur(texture(), kernel)
    asked = []

    def cancel() -> bool:
        asked.append(True)
        return True

    with pytest.raises(Cancelled):
        restore(blurred, method, kernel=kernel, cancel=cancel)
    assert asked, "the method never asked whether to stop"
