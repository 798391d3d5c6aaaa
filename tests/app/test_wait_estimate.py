"""Honest waiting: estimates from measured job times per kind of work and megapixel, updated while waiting."""

from __future__ import annotations

import time

import pytest

from studio.services import waiting_text
from studio.wait_estimate import JobTimes, wait_seconds
from studio.work_queue import WorkQueue


def test_job_times_are_kept_per_kind_and_megapixel():
    times = JobTimes(default_seconds=3.0)
    assert times.expected("model", 2.0) == 3.0  # nothing measured yet
    times.record("model", 2.0, 4.0)  # 2 s per megapixel
    times.record("wiener", 1.0, 0.5)
    assert times.expected("model", 6.0) == pytest.approx(12.0)  # three times the picture, three times the time
    assert times.expected("wiener", 4.0) == pytest.approx(2.0)
    assert times.expected("never-seen", 1.0) == pytest.approx((2.0 + 0.5) / 2)  # from all kinds together


def test_the_wait_is_what_the_running_jobs_have_left_then_the_jobs_ahead_slot_by_slot():
    assert wait_seconds(2, [], []) == 0.0
    assert wait_seconds(1, [(10.0, 4.0)], []) == pytest.approx(6.0)
    assert wait_seconds(2, [(10.0, 4.0), (10.0, 8.0)], [5.0]) == pytest.approx(6.0)
    assert wait_seconds(2, [(10.0, 4.0), (10.0, 8.0)], [5.0, 1.0]) == pytest.approx(7.0)
    assert wait_seconds(1, [(2.0, 5.0)], []) == pytest.approx(0.2)  # overdue: a tenth of its time more


def test_the_waiting_line_never_says_busy_with_zero_jobs():
    assert waiting_text(1, 0, 0.0) == "starting…"
    assert waiting_text(1, 2, 4.2) == "the server has 2 job(s) running; you are next (wait about 4 s)."
    assert waiting_text(3, 2, 90) == (
        "the server has 2 job(s) running and 2 waiting before yours; you are number 3 in line (wait about 2 min)."
    )


def _sleeper(seconds: float):
    def work(_on_progress, _cancel) -> float:
        time.sleep(seconds)
        return seconds

    return work


RATE_S_PER_MP = 0.4  # the fake method's speed: sleeps, so the machine's load does not change it


def test_estimates_follow_measured_times_and_update_while_waiting():
    """Eight jobs of different sizes on two slots: each wait, estimated at submission, within a factor 1.5."""
    queue = WorkQueue(2)
    for i, mp in enumerate((0.5, 1.0)):  # two measurements of the method teach its speed
        queue.run(f"warm{i}", _sleeper(RATE_S_PER_MP * mp), kind="fake", megapixels=mp)
    sizes = [1.0, 0.5, 1.5, 0.5, 1.0, 0.5, 1.0, 0.5]
    jobs, estimates = [], []
    for i, mp in enumerate(sizes):
        job = queue.submit(f"job{i}", _sleeper(RATE_S_PER_MP * mp), kind="fake", megapixels=mp)
        jobs.append(job)
        estimates.append(queue.estimate_wait(job))
    last = jobs[-1]
    later = []
    while not last.done:
        if last.started is None:
            later.append(queue.estimate_wait(last))
        time.sleep(0.05)
    for job, estimate in zip(jobs, estimates, strict=True):
        real = job.started - job.submitted
        if real < 0.1:
            assert estimate < 0.2, (estimate, real)  # a job that started at once was told so
        else:
            assert real / 1.5 <= estimate <= real * 1.5, (estimate, real)
    assert later[0] > later[-1] and later == sorted(later, reverse=True)  # counts down as the line moves
