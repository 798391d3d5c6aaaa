"""How long a job in the queue will wait: from measured job times per kind of work and megapixel.

Pure bookkeeping (no threads, no streamlit): :class:`JobTimes` keeps the recent measurements,
:func:`wait_seconds` turns the jobs running and the jobs ahead into the moment a slot frees for this one.
"""

from __future__ import annotations

import collections
import heapq
from collections.abc import Iterable

MIN_MEGAPIXELS = 0.05
"""Smaller jobs are counted as this size: a job has a cost of its own, however small its picture."""


class JobTimes:
    """Recent job times per kind of work (a method, say), kept as seconds per megapixel.

    A kind never measured is estimated from all kinds together, and before any measurement at all
    from ``default_seconds`` per job.
    """

    def __init__(self, keep: int = 30, default_seconds: float = 3.0) -> None:
        self.default_seconds = float(default_seconds)
        self._rates: dict[str, collections.deque[float]] = {}
        self._all: collections.deque[float] = collections.deque(maxlen=keep)
        self._keep = keep

    def record(self, kind: str, megapixels: float, seconds: float) -> None:
        """One finished job of ``kind`` on ``megapixels`` that took ``seconds``."""
        rate = float(seconds) / max(float(megapixels), MIN_MEGAPIXELS)
        self._rates.setdefault(kind, collections.deque(maxlen=self._keep)).append(rate)
        self._all.append(rate)

    def expected(self, kind: str, megapixels: float) -> float:
        """Seconds a job of ``kind`` on ``megapixels`` is expected to take."""
        rates = self._rates.get(kind) or self._all
        if not rates:
            return self.default_seconds
        return sum(rates) / len(rates) * max(float(megapixels), MIN_MEGAPIXELS)


def wait_seconds(slots: int, running: Iterable[tuple[float, float]], ahead: Iterable[float]) -> float:
    """Seconds until a job gets a slot: the running jobs finish, then the jobs ahead take the free slots in order.

    Parameters
    ----------
    slots : int
        Jobs that run at the same time.
    running : iterable of (expected seconds, seconds elapsed)
        The jobs running now; one past its expected time is taken to need a tenth of it more.
    ahead : iterable of float
        Expected seconds of each job waiting before this one, first in line first.

    Examples
    --------
    >>> wait_seconds(2, [(10.0, 4.0), (10.0, 8.0)], [5.0])
    6.0
    """
    free = [max(expected - elapsed, expected / 10) for expected, elapsed in running]
    free += [0.0] * max(0, slots - len(free))
    heapq.heapify(free)
    for expected in ahead:
        heapq.heappush(free, heapq.heappop(free) + expected)
    return float(free[0]) if free else 0.0
