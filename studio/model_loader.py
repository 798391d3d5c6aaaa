"""Models loaded in the background, so a fresh server draws its pages at once. This module never imports streamlit.

The first load of a model imports TensorFlow and reads the file: seconds that a page must not spend
blank. :class:`ModelLoader` does it in a thread of its own, once per model file for the whole server,
and keeps a lock-protected record that pages poll (from an ``st.fragment``) until the model is ready.
The thread never calls streamlit.
"""

from __future__ import annotations

import logging
import threading
import time

from deblur_core.learned.registry import ModelEntry, Registry

log = logging.getLogger("deblur_studio")


START_DELAY_S = 1.0
"""How long a load waits before it starts: importing TensorFlow holds Python's interpreter lock for seconds,
so the page that asked for the model is sent to the browser first."""


class ModelLoader:
    """Starts at most one background load per model file and says how each is going."""

    def __init__(self, start_delay_s: float = START_DELAY_S) -> None:
        self.start_delay_s = start_delay_s
        self._lock = threading.Lock()
        self._loads: dict[str, tuple[threading.Thread, float]] = {}
        self._failed: dict[str, str] = {}

    def ready(self, registry: Registry, entry: ModelEntry, *, retry: bool = True) -> bool:
        """Whether the model is loaded in ``registry``; if not, its load is started unless one is under way.

        A model the registry has let go of (it keeps a few) is simply loaded again; after a failed load,
        ``retry=False`` leaves it failed.
        """
        key = str(entry.path)
        if key in registry.loaded():
            return True
        with self._lock:
            running = self._loads.get(key)
            under_way = running is not None and running[0].is_alive()
            if under_way or (key in self._failed and not retry):
                return False
            self._failed.pop(key, None)
            loading = threading.Timer(self.start_delay_s, self._load, args=(registry, entry, key))
            loading.name, loading.daemon = f"load {entry.name}", True
            self._loads[key] = (loading, time.monotonic())
            loading.start()
        return False

    def _load(self, registry: Registry, entry: ModelEntry, key: str) -> None:
        try:
            registry.runner(entry)
        except Exception as exc:  # noqa: BLE001 - recorded for the page to say in one sentence
            log.exception("Loading the model %s failed", entry.name)
            with self._lock:
                self._failed[key] = " ".join(str(exc).split()) or type(exc).__name__

    def seconds(self, entry: ModelEntry) -> float:
        """How long the model's load has been running (0 when none was started)."""
        with self._lock:
            running = self._loads.get(str(entry.path))
        return 0.0 if running is None else time.monotonic() - running[1]

    def failure(self, entry: ModelEntry) -> str | None:
        """Why the model's last load failed, or None."""
        with self._lock:
            return self._failed.get(str(entry.path))
