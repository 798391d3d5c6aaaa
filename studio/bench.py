"""A benchmark run in a background thread: blur a set of sharp images, restore each with several methods.

The thread never touches streamlit. It reports through a lock-protected record that the page polls
(:meth:`BenchmarkRun.snapshot`), sends each restoration through the server's work queue (so a
benchmark waits its turn like everyone else), and stops between steps when cancelled.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from deblur_core import metrics
from deblur_core.learned.registry import Registry
from deblur_core.progress import Cancelled
from studio.methods import MethodChoice
from studio.tasks import blur_picture, digest, restore_picture
from studio.work_queue import Job, WorkQueue

log = logging.getLogger(__name__)

BLURRED = "blurred input (no restoration)"


@dataclass
class Snapshot:
    """A consistent copy of a run's record."""

    status: str  # "running", "finished", "cancelled" or "failed"
    done: int
    total: int
    current: str
    rows: list[dict]
    message: str
    elapsed: float

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def active(self) -> bool:
        return self.status == "running"


@dataclass
class BenchmarkRun:
    """One benchmark: ``images`` (name, sharp RGB) x ``choices``, with a known blur and noise."""

    images: list[tuple[str, np.ndarray]]
    kernel: np.ndarray
    kernel_spec: str
    noise: float
    choices: list[MethodChoice]
    registry: Registry
    queue: WorkQueue
    seed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _status: str = "running"
    _done: int = 0
    _current: str = "starting"
    _rows: list[dict] = field(default_factory=list)
    _message: str = ""
    _job: Job | None = None
    _started: float = field(default_factory=time.monotonic)
    _ended: float | None = None
    _thread: threading.Thread | None = None

    @property
    def total(self) -> int:
        return len(self.images) * len(self.choices)

    def start(self) -> BenchmarkRun:
        self._thread = threading.Thread(target=self._run, name="deblur-benchmark", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop after the current step (the running restoration is asked to stop too)."""
        self._cancel.set()
        with self._lock:
            job = self._job
        if job is not None:
            self.queue.cancel(job)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def snapshot(self) -> Snapshot:
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            return Snapshot(
                self._status,
                self._done,
                self.total,
                self._current,
                [dict(r) for r in self._rows],
                self._message,
                end - self._started,
            )

    # -- the thread ----------------------------------------------------------------------------------
    def _set(self, **values) -> None:
        with self._lock:
            for name, value in values.items():
                setattr(self, f"_{name}", value)

    def _run(self) -> None:
        try:
            for name, sharp in self.images:
                if self._cancel.is_set():
                    break
                blurred = blur_picture(sharp, self.kernel, self.noise, seed=self.seed)
                base = {
                    "image": name,
                    "method": BLURRED,
                    "PSNR (dB)": round(metrics.psnr(sharp, blurred), 2),
                    "SSIM": round(metrics.ssim(sharp, blurred), 4),
                    "seconds": 0.0,
                }
                with self._lock:
                    self._rows.append(base)
                blur_key = digest("bench", digest(sharp), self.kernel_spec, self.noise, self.seed)
                for choice in self.choices:
                    if self._cancel.is_set():
                        break
                    self._set(current=f"{choice.label} on {name}")
                    row = self._one(name, sharp, blurred, blur_key, choice)
                    with self._lock:
                        self._rows.append(row)
                        self._done += 1
            status = "cancelled" if self._cancel.is_set() else "finished"
            self._set(status=status, current="", ended=time.monotonic())
        except Cancelled:
            self._set(status="cancelled", current="", ended=time.monotonic())
        except ValueError as exc:
            self._set(status="failed", message=str(exc), current="", ended=time.monotonic())
        except Exception as exc:  # noqa: BLE001 - reported to the page as a sentence, logged in full
            log.exception("Benchmark failed")
            self._set(status="failed", message=f"The benchmark stopped: {type(exc).__name__}.", ended=time.monotonic())

    def _one(self, name: str, sharp: np.ndarray, blurred: np.ndarray, blur_key: str, choice: MethodChoice) -> dict:
        key = digest("bench-restore", blur_key, choice.cache_id())
        job = self.queue.submit(
            key,
            lambda on_progress, cancel: restore_picture(
                blurred,
                choice,
                kernel=self.kernel,
                truth=sharp,
                registry=self.registry,
                on_progress=on_progress,
                cancel=cancel,
            ),
            f"benchmark: {choice.label} on {name}",
        )
        self._set(job=job)
        while not job.wait(0.2):
            if self._cancel.is_set():
                self.queue.cancel(job)
        self._set(job=None)
        res = job.outcome()
        return {
            "image": name,
            "method": choice.label,
            "PSNR (dB)": round(res.psnr_out, 2) if res.psnr_out is not None else float("nan"),
            "SSIM": round(res.ssim_out, 4) if res.ssim_out is not None else float("nan"),
            "seconds": round(res.seconds, 3),
        }
