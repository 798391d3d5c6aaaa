"""The server-wide work queue: one worker per CPU core, first come first served, results cached.

Every heavy computation of the app (a deblur, a metric on a large photo, one step of a benchmark)
is a :class:`Job` submitted here. A fixed set of worker threads runs the jobs in the order they
arrived, so thirty visitors pressing "Deblur" at once share the machine fairly instead of fighting
over it; each sees their place in line and an estimate of the wait.

Jobs run in the queue's own threads, never in a page's script thread. A click that reruns or
leaves the page therefore cannot kill a computation halfway: the job finishes, its result lands in
the cache, and the next run of the page picks it up by its key. Jobs with the same key are
computed once, whoever asks.

This module never imports streamlit; the pages reach it through :mod:`studio.services`.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deblur_core.progress import CancelFn, Cancelled, ProgressFn
from studio.wait_estimate import JobTimes, wait_seconds

log = logging.getLogger(__name__)

JobFn = Callable[[ProgressFn, CancelFn], Any]

_DEFAULT_SECONDS = 3.0  # the estimate before any job has finished


@dataclass(eq=False)  # jobs are compared by identity: the queue keeps them in sets
class Job:
    """One unit of work and its lock-protected progress record."""

    key: str
    label: str
    fn: JobFn
    kind: str = ""  # what sort of work (a method): jobs of one kind are timed together
    megapixels: float = 0.0  # how big the picture is, so a large photo is expected to take longer
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    done_steps: int = 0
    total_steps: int = 0
    result: Any = None
    error: BaseException | None = None
    cancel_requested: bool = False
    _event: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- called from the worker ------------------------------------------------------------------
    def report(self, done: int, total: int, _info: Any = None) -> None:
        """Progress callback handed to the computation (``on_progress(done, total, info)``)."""
        with self._lock:
            self.done_steps, self.total_steps = int(done), int(total)

    def is_cancelled(self) -> bool:
        """Cancel callback handed to the computation."""
        return self.cancel_requested

    # -- called from anywhere ----------------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the job to stop; a job not yet started is dropped."""
        self.cancel_requested = True

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    def progress(self) -> float:
        """Fraction done, 0 to 1 (0 until the computation reports)."""
        with self._lock:
            if self.done:
                return 1.0
            return self.done_steps / self.total_steps if self.total_steps else 0.0

    @property
    def seconds(self) -> float | None:
        """How long the computation ran, once it finished."""
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started

    def outcome(self) -> Any:
        """The result, or raise the job's error. Call only once :attr:`done`."""
        if self.error is not None:
            raise self.error
        return self.result


def nbytes_of(value: Any) -> int:
    """Approximate memory held by a result: the numpy arrays and bytes inside it."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, dict):
        return sum(nbytes_of(v) for v in value.values()) + 64
    if isinstance(value, (list, tuple)):
        return sum(nbytes_of(v) for v in value) + 64
    if hasattr(value, "__dict__"):
        return sum(nbytes_of(v) for v in vars(value).values()) + 64
    return 64


class WorkQueue:
    """Runs jobs on ``slots`` worker threads in arrival order and caches their results.

    Parameters
    ----------
    slots : int
        Number of jobs running at the same time (one per CPU core).
    cache_bytes : int
        Memory budget of the result cache; the least recently used results are dropped beyond it.
    """

    def __init__(self, slots: int, cache_bytes: int = 1 << 30) -> None:
        if slots < 1:
            raise ValueError("The work queue needs at least one slot.")
        self.slots = int(slots)
        self.cache_bytes = int(cache_bytes)
        self._cond = threading.Condition()
        self._pending: collections.deque[Job] = collections.deque()
        self._running: set[Job] = set()
        self._inflight: dict[str, Job] = {}
        self._results: collections.OrderedDict[str, tuple[Any, int, float]] = collections.OrderedDict()
        self._cached_bytes = 0
        self._times = JobTimes(default_seconds=_DEFAULT_SECONDS)
        self._workers: list[threading.Thread] = []

    # -- cache ---------------------------------------------------------------------------------------
    def cached(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` if a result for ``key`` is cached (and mark it recently used)."""
        with self._cond:
            if key in self._results:
                self._results.move_to_end(key)
                return True, self._results[key][0]
        return False, None

    def cached_seconds(self, key: str) -> float | None:
        """How long the cached result for ``key`` took to compute."""
        with self._cond:
            entry = self._results.get(key)
            return None if entry is None else entry[2]

    def _store(self, key: str, value: Any, seconds: float) -> None:
        size = nbytes_of(value)
        if size > self.cache_bytes:
            return  # too big to keep; the job's own result is still handed to its waiters
        if key in self._results:
            self._cached_bytes -= self._results.pop(key)[1]
        self._results[key] = (value, size, seconds)
        self._cached_bytes += size
        while self._cached_bytes > self.cache_bytes and self._results:
            _, (_, dropped, _) = self._results.popitem(last=False)
            self._cached_bytes -= dropped

    @property
    def cached_bytes(self) -> int:
        with self._cond:
            return self._cached_bytes

    # -- submitting ----------------------------------------------------------------------------------
    def submit(self, key: str, fn: JobFn, label: str = "", *, kind: str = "", megapixels: float = 0.0) -> Job:
        """Queue ``fn(on_progress, cancel)`` under ``key``; an equal job already cached or queued is reused.

        A cached result comes back as a finished job at once. ``kind`` and ``megapixels`` say what the job
        is, so that its wait and the waits behind it are estimated from jobs like it.
        """
        with self._cond:
            if key in self._results:
                self._results.move_to_end(key)
                value, _, seconds = self._results[key]
                job = Job(key, label or key, fn, result=value)
                job.started, job.finished = 0.0, seconds
                job._event.set()
                return job
            job = self._inflight.get(key)
            if job is not None and not job.cancel_requested:
                return job
            job = Job(key, label or key, fn, kind=kind, megapixels=float(megapixels))
            self._inflight[key] = job
            self._pending.append(job)
            self._start_workers()
            self._cond.notify()
            return job

    def run(
        self, key: str, fn: JobFn, label: str = "", timeout: float | None = None, *, kind: str = "", megapixels=0.0
    ) -> Any:
        """Submit and wait: the result of ``fn``, or its exception raised here."""
        job = self.submit(key, fn, label, kind=kind, megapixels=megapixels)
        if not job.wait(timeout):
            raise TimeoutError(f"'{job.label}' did not finish within {timeout} s.")
        return job.outcome()

    def cancel(self, job: Job) -> None:
        """Cancel ``job``: one still waiting leaves the line at once; a running one is asked to stop."""
        job.cancel()
        with self._cond:
            if job in self._pending:
                self._pending.remove(job)
                job.error = Cancelled(f"'{job.label}' was cancelled.")
                self._finish(job)

    # -- where a job stands -------------------------------------------------------------------------
    def place(self, job: Job) -> int:
        """1 for the next job to start, 2 for the one after...; 0 once the job is running or done."""
        with self._cond:
            for i, pending in enumerate(self._pending):
                if pending is job:
                    return i + 1
            return 0

    @property
    def waiting(self) -> int:
        """How many jobs wait for a free slot."""
        with self._cond:
            return len(self._pending)

    @property
    def running(self) -> int:
        """How many jobs are running now."""
        with self._cond:
            return len(self._running)

    def estimate_wait(self, job: Job) -> float:
        """Seconds until ``job`` starts: what the running jobs have left, then the jobs ahead, slot by slot.

        Each job's time comes from the measured times of its kind of work per megapixel; ask again while
        waiting and the answer follows the jobs as they finish.
        """
        now = time.monotonic()
        with self._cond:
            if job not in self._pending:
                return 0.0
            running = [(self._times.expected(r.kind, r.megapixels), now - (r.started or now)) for r in self._running]
            ahead = []
            for pending in self._pending:
                if pending is job:
                    break
                ahead.append(self._times.expected(pending.kind, pending.megapixels))
        return wait_seconds(self.slots, running, ahead)

    # -- workers -------------------------------------------------------------------------------------
    def _start_workers(self) -> None:
        self._workers = [t for t in self._workers if t.is_alive()]
        while len(self._workers) < self.slots:
            thread = threading.Thread(target=self._work, name=f"deblur-worker-{len(self._workers)}", daemon=True)
            self._workers.append(thread)
            thread.start()

    def _next_job(self) -> Job:
        with self._cond:
            while True:
                while self._pending and self._pending[0].cancel_requested:
                    dropped = self._pending.popleft()
                    dropped.error = Cancelled(f"'{dropped.label}' was cancelled.")
                    self._finish(dropped)
                if self._pending:
                    job = self._pending.popleft()
                    self._running.add(job)
                    job.started = time.monotonic()
                    return job
                self._cond.wait()

    def _finish(self, job: Job) -> None:
        """Under the lock: forget the job as in flight and wake its waiters."""
        job.finished = time.monotonic()
        self._running.discard(job)
        if self._inflight.get(job.key) is job:
            del self._inflight[job.key]
        job._event.set()

    def _work(self) -> None:
        while True:
            job = self._next_job()
            try:
                result = job.fn(job.report, job.is_cancelled)
            except Cancelled as exc:
                job.error = exc
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the job
                if job.cancel_requested:
                    job.error = Cancelled(f"'{job.label}' was cancelled.")
                else:
                    job.error = exc
                    if not isinstance(exc, ValueError):
                        log.exception("Job '%s' failed", job.label)
            else:
                job.result = result
            with self._cond:
                seconds = time.monotonic() - (job.started or time.monotonic())
                if job.error is None:
                    self._times.record(job.kind, job.megapixels, seconds)
                    self._store(job.key, job.result, seconds)
                self._finish(job)
                self._cond.notify_all()
