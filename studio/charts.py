"""Axes for the app's bar charts: a baseline a reader can trust. This module never imports streamlit."""

from __future__ import annotations

import math
from collections.abc import Iterable


def psnr_axis(values: Iterable[float], step: float = 1.0) -> tuple[float, float]:
    """The y range of a PSNR bar chart: from a whole ``step`` at least half a step below the lowest bar.

    PSNR bars from zero would all look alike, and a baseline of 95 % of the lowest value (21.35 dB) is a
    number nobody reads; a round baseline a little below the lowest bar keeps the differences visible and
    honest. The top leaves a tenth of the span free for labels.

    Examples
    --------
    >>> psnr_axis([22.47, 26.84, 25.97])
    (21.0, 27.42)
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return 0.0, 1.0
    low = step * math.floor((min(finite) - step / 2) / step)
    high = max(finite)
    return low, round(high + (high - low) / 10, 2)
