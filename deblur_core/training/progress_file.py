"""The trainer's progress file: one JSON event per line, written by the trainer and read by anyone.

``python -m deblur_core train --progress FILE`` appends events with :class:`EventLog` (``start``,
``batch``, ``epoch``, ``preview``, ``stopping``, ``done``, ``error``), flushed at every line, so the web
app, a restarted server or another program can follow a run from the file alone: :func:`read_progress`
reads what was appended since the last call and leaves out a line still being written, and
:func:`summarize` folds the events into a :class:`Progress` for display.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from deblur_core.files import json_safe

__all__ = ["EventLog", "Progress", "read_progress", "summarize"]

_PROGRESS_LOCK = threading.Lock()
_PROGRESS_CACHE: dict[str, tuple[int, int, list[dict]]] = {}


class EventLog:
    """Appends one JSON object per line to a progress file, flushed at every write (or does nothing)."""

    def __init__(self, path: str | None) -> None:
        self._handle = None
        self._lock = threading.Lock()
        if path:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            self._handle = target.open("a", encoding="utf-8")

    def write(self, event: str, **fields) -> None:
        if self._handle is None:
            return
        record = json_safe({"event": event, "time": round(time.time(), 3), **fields})
        with self._lock:
            self._handle.write(json.dumps(record, allow_nan=False) + "\n")
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def read_progress(path: str | Path) -> list[dict]:
    """The events in the job's progress file, in order.

    A last line that is still being written is left out until it is complete; lines that are not
    JSON objects are skipped. The file is read incrementally: each call reads only what was
    appended since the last one.
    """
    path = Path(path)
    key = str(path)
    with _PROGRESS_LOCK:
        try:
            st = path.stat()
        except OSError:
            _PROGRESS_CACHE.pop(key, None)
            return []
        inode, offset, events = _PROGRESS_CACHE.get(key, (st.st_ino, 0, []))
        if inode != st.st_ino or st.st_size < offset:  # the file was replaced or truncated
            offset, events = 0, []
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except OSError:
            return list(events)
        end = chunk.rfind(b"\n")
        if end >= 0:
            for line in chunk[:end].split(b"\n"):
                event = _parse_line(line)
                if event is not None:
                    events.append(event)
            offset += end + 1
        _PROGRESS_CACHE[key] = (st.st_ino, offset, events)
        result = list(events)
    tail = _parse_line(chunk[end + 1 :])  # a complete object that only lacks its newline
    if tail is not None:
        result.append(tail)
    return result


def _parse_line(line: bytes) -> dict | None:
    line = line.strip()
    if not line:
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


@dataclass
class Progress:
    """A job's progress file, summarised for display.

    ``epochs`` holds one row per finished epoch (``epoch``, ``loss``, ``val_loss``, ``val_psnr``,
    ``val_ssim``, ...); ``previews`` maps an epoch to its preview image files.
    """

    start: dict = field(default_factory=dict)
    epochs: list[dict] = field(default_factory=list)
    last_batch: dict = field(default_factory=dict)
    previews: dict[int, dict] = field(default_factory=dict)
    done: dict | None = None
    error: dict | None = None
    steps_done: int = 0
    steps_total: int = 0
    points: list[tuple[float, int]] = field(default_factory=list)  # (wall time, steps done) per report

    @property
    def fraction(self) -> float:
        """Share of the planned steps done, in [0, 1]."""
        if self.done is not None:
            return 1.0
        return min(1.0, self.steps_done / self.steps_total) if self.steps_total else 0.0

    @property
    def steps_per_s(self) -> float | None:
        """Training speed over the last minute of reports (validation and saving included).

        Falls back on the trainer's own figure for the current epoch while there are too few reports.
        """
        if len(self.points) >= 2:
            t1, d1 = self.points[-1]
            earlier = [(t, d) for t, d in self.points[:-1] if t1 - t <= 60 and d < d1] or [
                p for p in self.points[:-1] if p[1] < d1
            ][-1:]
            if earlier and t1 > earlier[0][0]:
                return (d1 - earlier[0][1]) / (t1 - earlier[0][0])
        value = self.last_batch.get("steps_per_s")
        return float(value) if isinstance(value, (int, float)) and value > 0 else None

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current speed, from the last report; None without an estimate."""
        rate = self.steps_per_s
        if self.done is not None:
            return 0.0
        if not rate or not self.steps_total:
            return None
        return max(0.0, self.steps_total - self.steps_done) / rate


def summarize(events: list[dict]) -> Progress:
    """Fold a list of progress events into a :class:`Progress`."""
    progress = Progress()
    for order, event in enumerate(events):
        kind = event.get("event")
        event = {**event, "_order": order}
        if isinstance(event.get("done"), (int, float)) and not isinstance(event.get("done"), bool):
            progress.steps_done = int(event["done"])
            if isinstance(event.get("time"), (int, float)):
                progress.points.append((float(event["time"]), progress.steps_done))
        if isinstance(event.get("total"), (int, float)):
            progress.steps_total = int(event["total"])
        if kind == "start":
            progress.start = event
        elif kind == "batch":
            progress.last_batch = event
        elif kind == "epoch":
            progress.epochs = [e for e in progress.epochs if e.get("epoch") != event.get("epoch")] + [event]
        elif kind == "preview":
            with contextlib.suppress(TypeError, ValueError):
                progress.previews[int(event.get("epoch", 0))] = event
        elif kind == "done":
            progress.done = event
        elif kind == "error":
            progress.error = event
    return progress
