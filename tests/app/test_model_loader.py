"""Background model loads: once per model, the page polls, a model let go of is loaded again, a failure is said."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from deblur_core.learned.registry import ModelEntry
from studio.model_loader import ModelLoader


class FakeRegistry:
    """Counts loads; each takes ``seconds``; ``fail`` makes them raise."""

    def __init__(self, seconds: float = 0.2, fail: str = "") -> None:
        self.seconds, self.fail = seconds, fail
        self.loads = 0
        self.held: list[str] = []
        self.lock = threading.Lock()

    def loaded(self) -> list[str]:
        with self.lock:
            return list(self.held)

    def runner(self, entry: ModelEntry) -> None:
        with self.lock:
            self.loads += 1
        time.sleep(self.seconds)
        if self.fail:
            raise ValueError(self.fail)
        with self.lock:
            self.held.append(str(entry.path))


ENTRY = ModelEntry("tiny", Path("/models/tiny.keras"), {"architecture": "unet", "input": {}}, shipped=True)


def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_model_loads_once_in_the_background_however_many_visitors_ask():
    registry, loader = FakeRegistry(), ModelLoader(start_delay_s=0.05)
    started = time.monotonic()
    answers = [loader.ready(registry, ENTRY) for _ in range(20)]
    assert time.monotonic() - started < 0.1  # asking never waits for the load
    assert not any(answers)
    _until(lambda: loader.ready(registry, ENTRY))
    assert registry.loads == 1 and loader.seconds(ENTRY) > 0 and loader.failure(ENTRY) is None


def test_a_model_the_registry_let_go_of_is_loaded_again():
    registry, loader = FakeRegistry(0.01), ModelLoader(start_delay_s=0.0)
    loader.ready(registry, ENTRY)
    _until(lambda: loader.ready(registry, ENTRY))
    registry.held.clear()  # evicted to make room for other models
    assert not loader.ready(registry, ENTRY)
    _until(lambda: loader.ready(registry, ENTRY))
    assert registry.loads == 2


def test_a_failed_load_is_said_and_not_retried_by_the_polling_page():
    registry, loader = FakeRegistry(0.01, fail="the file is damaged"), ModelLoader(start_delay_s=0.0)
    loader.ready(registry, ENTRY)
    _until(lambda: loader.failure(ENTRY) is not None)
    assert loader.failure(ENTRY) == "the file is damaged"
    assert not loader.ready(registry, ENTRY, retry=False) and registry.loads == 1
    assert not loader.ready(registry, ENTRY)  # a new visit tries again
    _until(lambda: registry.loads == 2)
