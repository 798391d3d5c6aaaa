"""How long work reports its progress and is asked to stop: one convention for the whole library.

Every long computation (a deconvolution, a model on a large photo, a video, a training run) takes two
optional callables:

- ``on_progress(done, total, info)``: called as the work advances; ``info`` is a dict (a ``message``
  for people, or fields such as ``frame`` or ``stage``). It never changes the result.
- ``cancel()``: returns True to ask the work to stop; the work then raises :class:`Cancelled`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

ProgressFn = Callable[[int, int, dict], object]
"""``on_progress(done, total, info)``."""

CancelFn = Callable[[], bool]
"""``cancel()``: True asks the work to stop."""


class Cancelled(Exception):
    """Raised when a ``cancel`` callable asked a long computation to stop."""


def check_callbacks(on_progress: object, cancel: object) -> None:
    """Refuse anything but a function (or None) for ``on_progress`` and ``cancel``."""
    for fn, name in ((on_progress, "on_progress"), (cancel, "cancel")):
        if fn is not None and not callable(fn):
            raise ValueError(f"{name} must be a function or None; got {type(fn).__name__}.")


def check_cancel(cancel: CancelFn | None, message: str = "Stopped on request.") -> None:
    """Raise :class:`Cancelled` with ``message`` if ``cancel`` asks to stop."""
    if cancel is not None and cancel():
        raise Cancelled(message)


def format_duration(seconds: float | None, unknown: str = "?") -> str:
    """A time span for people: ``42 s``, ``3 min 05 s`` or ``1 h 02 min``; ``unknown`` when there is no estimate."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return unknown
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
