"""The app's shared machinery: one registry, one work queue and loaded models per server; session state.

Pages call these helpers; the helpers call ``deblur_core``. Objects made with ``st.cache_resource``
are shared by every visitor of the server, so each of them is safe to use from several threads.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from deblur_core import settings
from deblur_core.io import ImageLoadError
from deblur_core.learned.registry import Registry
from deblur_core.progress import Cancelled
from deblur_core.restoration import get_method
from studio import router
from studio.methods import MethodChoice, MethodMenu, method_menu
from studio.model_loader import ModelLoader
from studio.work_queue import Job, WorkQueue

log = logging.getLogger("deblur_studio")

APP_NAME = "Deblur Studio"


def keep_keras_state_between_reruns() -> None:
    """Stop Streamlit from calling ``keras.backend.clear_session()`` after every script run.

    Streamlit does that to free the models a script builds on each run. Here models are loaded once
    per server and shared by every visitor, and clearing Keras' global state after every rerun (each
    slider move, each progress refresh) costs up to a second of CPU while other visitors' models
    are predicting in worker threads. Closing pyplot figures, the other half of that clean-up, is kept.
    """
    from streamlit.runtime.scriptrunner import script_runner

    current = getattr(script_runner, "_clean_problem_modules", None)
    if current is None or getattr(current, "keeps_keras_state", False):
        return

    def clean_problem_modules() -> None:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            with contextlib.suppress(Exception):
                pyplot.close("all")

    clean_problem_modules.keeps_keras_state = True  # type: ignore[attr-defined]
    script_runner._clean_problem_modules = clean_problem_modules


@st.cache_resource(show_spinner=False)
def _registry(shipped: str, user: str) -> Registry:
    return Registry(Path(shipped), Path(user))


def get_registry() -> Registry:
    """The server's model registry (one per shipped/user folder pair)."""
    return _registry(str(settings.shipped_models_dir()), str(settings.user_models_dir()))


@st.cache_resource(show_spinner=False)
def _queue(slots: int, cache_mb: int) -> WorkQueue:
    return WorkQueue(slots, cache_mb * 1024 * 1024)


def get_queue() -> WorkQueue:
    """The server-wide work queue (one slot per core) with its result cache."""
    return _queue(settings.workers(), settings.cache_megabytes())


def get_menu(image_size: tuple[int, int] | None = None) -> MethodMenu:
    """The methods on offer for a picture of ``image_size`` (height, width)."""
    return method_menu(get_registry(), image_size)


def load_model(choice: MethodChoice) -> None:
    """Load the model a choice runs, once per server (a visible spinner the first time); others need nothing.

    The models live in the server's registry, the one model cache (:meth:`Registry.runner`), so a model
    that falls out of it is really freed.
    """
    if choice.model is None:
        return
    registry = get_registry()
    entry = registry.get(choice.model)
    if str(entry.path) in registry.loaded():
        return
    with st.spinner(f"Loading the model {choice.model} (once per server)…"):
        registry.runner(entry)


@st.cache_resource(show_spinner=False)
def _model_loader() -> ModelLoader:
    return ModelLoader()


def model_ready(choice: MethodChoice) -> bool:
    """Whether the model ``choice`` runs is loaded (True for a classical method); if not, it starts loading.

    The load runs in the background, once per server, so the page can finish drawing and show
    :func:`model_loading_panel` instead of waiting blank for TensorFlow.
    """
    if choice.model is None:
        return True
    registry = get_registry()
    loader = _model_loader()
    ready = loader.ready(registry, registry.get(choice.model))
    method = get_method(choice.method)
    exact = method.exact_model if method is not None else None
    if ready and exact is not None and exact in registry.names():
        # The network the method runs with a kernel known exactly: loaded next, without keeping the page waiting.
        loader.ready(registry, registry.get(exact))
    return ready


MODEL_LOAD_TYPICAL_S = 15.0
"""About how long a first model load takes on a small server (TensorFlow's import included): the bar's scale."""


@st.fragment(run_every=0.5)
def model_loading_panel(choice: MethodChoice, what: str) -> None:
    """A progress bar while the model of ``choice`` loads in the background; the whole page redraws when it is ready."""
    registry = get_registry()
    entry = registry.get(choice.model)
    loader = _model_loader()
    if loader.ready(registry, entry, retry=False) or st.session_state.pop(REST_OF_PAGE_PENDING, False):
        st.rerun(scope="app")
    failure = loader.failure(entry)
    if failure is not None:
        st.error(f"The model {choice.model} could not be loaded ({failure}). The other methods still work.")
        return
    elapsed = loader.seconds(entry)
    st.progress(
        min(0.95, elapsed / MODEL_LOAD_TYPICAL_S),
        text=f"Loading the model {choice.model} for {what} (once per server)… {elapsed:.0f} s",
    )


FIRST_DRAW_DONE = "_first_draw_done"
REST_OF_PAGE_PENDING = "_rest_of_page_pending"


def draw_rest_of_page_on_next_tick() -> None:
    """Call right after :func:`model_loading_panel`: on a visitor's first page while a model loads, end the
    page there, and let the bar's next tick (half a second later) redraw the whole page with its controls.

    The browser fetches the code of each kind of control the first time it meets one (radio buttons, file
    uploader, select box...) and shows the elements that arrived together at once, so a first page sent
    whole shows its title and bar only when all of that has come: about 0.6 s later on two cores. Later
    runs of the session draw the whole page at once.
    """
    if st.session_state.get(FIRST_DRAW_DONE):
        return
    st.session_state[FIRST_DRAW_DONE] = True
    st.session_state[REST_OF_PAGE_PENDING] = True
    router.end_page()


# -- running work ------------------------------------------------------------------------------------


def _format_wait(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    return f"about {seconds / 60:.0f} min"


def waiting_text(place: int, running: int, seconds: float) -> str:
    """Where a waiting job stands, in words: the jobs ahead of it and the estimated wait."""
    ahead = place - 1
    if running == 0 and ahead == 0:
        return "starting…"
    busy = f"{running} job(s) running" + (f" and {ahead} waiting before yours" if ahead else "")
    turn = "you are next" if place == 1 else f"you are number {place} in line"
    return f"the server has {busy}; {turn} (wait {_format_wait(seconds)})."


def wait_for(job: Job, label: str) -> Any:
    """Show the job's place in line, then its progress, until it finishes; return its result.

    The job runs in the work queue's own thread: if this page is rerun or left meanwhile, the job
    still finishes and its result is cached for the next run.
    """
    queue = get_queue()
    if not job.done:
        slot = st.empty()
        while not job.done:
            place = queue.place(job)
            if place:
                slot.info(
                    f"{label}: {waiting_text(place, queue.running, queue.estimate_wait(job))}",
                    icon=":material/hourglass_top:",
                )
            else:
                fraction = job.progress()
                slot.progress(min(1.0, fraction), text=f"{label}… {fraction:.0%}")
            job.wait(0.15)
        slot.empty()
    return job.outcome()


def run_job(key: str, fn: Callable, label: str, *, kind: str = "", megapixels: float = 0.0) -> Any:
    """Submit ``fn(on_progress, cancel)`` to the server's queue under ``key`` and wait for it with feedback.

    ``kind`` and ``megapixels`` describe the work, so that waits are estimated from jobs like it.
    """
    return wait_for(get_queue().submit(key, fn, label, kind=kind, megapixels=megapixels), label)


@contextlib.contextmanager
def friendly_errors(action: str) -> Iterator[None]:
    """Show a problem as one sentence in an error box, never a traceback.

    A ``ValueError`` (which includes ``ImageLoadError``) carries a sentence meant for the visitor;
    anything else is logged in full on the server and reported in plain words.
    """
    try:
        yield
    except (ValueError, ImageLoadError) as exc:
        st.error(str(exc))
    except Cancelled:
        st.warning(f"{action[:1].upper()}{action[1:]} was cancelled.")
    except MemoryError:
        log.exception("Out of memory while %s", action)
        st.error(f"The server ran out of memory while {action}. Try a smaller picture or fewer at once.")
    except Exception:
        log.exception("Unexpected error while %s", action)
        st.error(
            f"Something went wrong while {action}. The details are in the server log; "
            "please try again or choose another method."
        )


# -- the current input, shared between pages ---------------------------------------------------------


@dataclass
class CurrentInput:
    """The picture chosen on the Deblur page, for the Compare page."""

    name: str
    blurred: np.ndarray
    truth: np.ndarray | None
    kernel: np.ndarray | None
    kernel_spec: str | None
    description: str
    key_parts: tuple  # identifies the input and kernel in the result cache (see restore_job)
    kernel_approximate: bool = False  # the kernel is a guess shaped with the sliders, not the blur known exactly


CURRENT_INPUT = "studio_current_input"


def set_current_input(current: CurrentInput) -> None:
    st.session_state[CURRENT_INPUT] = current


def get_current_input() -> CurrentInput | None:
    value = st.session_state.get(CURRENT_INPUT)
    return value if isinstance(value, CurrentInput) else None


# -- uploads -------------------------------------------------------------------------------------------


@dataclass
class Upload:
    """An uploaded picture, decoded, with a content key for caches."""

    name: str
    key: str
    loaded: Any  # deblur_core.io.LoadedImage

    @property
    def rgb(self) -> np.ndarray:
        return self.loaded.rgb

    @property
    def stem(self) -> str:
        stem = Path(self.name).stem
        return stem or "image"


def decode_uploads(files: list, memo_key: str) -> tuple[list[Upload], list[str]]:
    """Decode uploaded files in memory; returns the usable ones and one sentence per refused file.

    Decoded pictures are kept in the session (keyed by upload) so a rerun does not decode again.
    Nothing is written to disk.
    """
    from deblur_core.io import load_image
    from studio.tasks import digest

    memo: dict = st.session_state.setdefault(memo_key, {})
    fresh: dict = {}
    good: list[Upload] = []
    problems: list[str] = []
    for file in files or []:
        file_id = getattr(file, "file_id", None) or file.name
        if file_id in memo:
            item = memo[file_id]
        else:
            data = file.getvalue()
            try:
                loaded = load_image(data, name=file.name)
                item = Upload(file.name, digest(data), loaded)
            except ImageLoadError as exc:
                item = str(exc)
            except ValueError as exc:
                item = f"{file.name}: {exc}"
        fresh[file_id] = item
        if isinstance(item, Upload):
            good.append(item)
        else:
            problems.append(item)
    st.session_state[memo_key] = fresh
    return good, problems


def restore_job(
    image, choice: MethodChoice, kernel, truth, options, key_parts, estimate=None, kernel_approximate: bool = False
) -> Any:
    """Restore ``image`` with ``choice`` through the server's queue, or fetch the cached result.

    ``key_parts`` identify the input (its content keys and kernel, or the estimate's key when an
    ``estimate`` made beforehand is handed to a method that estimates the kernel), so the same picture,
    method and settings are computed once on this server, whichever page or visitor asks.
    ``kernel_approximate``: the kernel is a guess (shaped by hand), not the blur known exactly.
    """
    from studio.tasks import digest, restore_picture

    registry = get_registry()
    load_model(choice)
    kernel_approximate = kernel_approximate and choice.needs_kernel  # only a method that takes a kernel reads it
    key = digest("restore", *key_parts, choice.cache_id(), sorted((options or {}).items()), kernel_approximate)
    return run_job(
        key,
        lambda on_progress, cancel: restore_picture(
            image,
            choice,
            kernel=kernel,
            truth=truth,
            registry=registry,
            options=options,
            estimate=estimate,
            kernel_approximate=kernel_approximate,
            on_progress=on_progress,
            cancel=cancel,
        ),
        f"Deblurring with {choice.label}",
        kind=f"restore|{choice.cache_id()}|truth={truth is not None}"
        + ("|estimate given" if estimate is not None else ""),
        megapixels=image.shape[0] * image.shape[1] / 1e6,
    )


ESTIMATES = "studio_kernel_estimates"
ESTIMATES_KEPT = 12  # a few photos times a few settings; each estimate holds kernels of at most 51 x 51 px


def estimate_key(image_key: str, settings) -> str:
    """The cache key of the estimate of one photo (by its content key) with ``settings`` (tasks.EstimateSettings)."""
    from studio.tasks import digest

    return digest("estimate", image_key, settings)


def estimate_job(image: np.ndarray, image_key: str, settings) -> Any:
    """The blur kernel of a photo estimated with ``settings``, through the server's queue with its progress.

    Kept in the session per (photo, largest size, region), so a rerun shows it again without estimating.
    """
    from deblur_core.classical.regions import REGION
    from studio.tasks import estimate_blur

    key = estimate_key(image_key, settings)
    kept: dict = st.session_state.setdefault(ESTIMATES, {})
    if key in kept:
        return kept[key]
    box = settings.box(image.shape[0], image.shape[1])
    side = box[2] if box is not None else min(REGION, *image.shape[:2])  # the square it picks itself
    found = run_job(
        key,
        lambda on_progress, cancel: estimate_blur(image, settings, on_progress, cancel),
        "Estimating the blur kernel",
        kind=f"estimate|{settings.max_size}",
        megapixels=side * side / 1e6,  # the work is on the square it estimates from, whatever the photo's size
    )
    kept[key] = found
    while len(kept) > ESTIMATES_KEPT:
        kept.pop(next(iter(kept)))
    return found
