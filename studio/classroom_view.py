"""The Classroom page's frame: kept settings, the navigation row, the picture, the layout, the cached results.

The steps themselves are in :mod:`studio.classroom_steps`. Every result here is computed by
:mod:`deblur_core.classical.teaching` and cached per picture and setting (``st.cache_data``), so a
slider moved back to a value it had redraws at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from deblur_core import kernels, metrics
from deblur_core.classical import teaching
from deblur_core.image import to_uint8
from deblur_core.io import IMAGE_SUFFIXES
from deblur_core.metrics import format_psnr
from studio import classroom, samples, services
from studio.classroom import STEPS
from studio.tasks import KernelSettings, digest

IMAGE_TYPES = [suffix.lstrip(".") for suffix in IMAGE_SUFFIXES]

P = "classroom_"
# Every control's value, kept while its step is not shown (Streamlit forgets the state of widgets it does not draw).
DEFAULTS = {
    P + "step": 0,
    P + "projector": False,
    P + "source": "A sample",
    P + "sample": samples.DEFAULT_SAMPLE,
    P + "kind": "motion",
    P + "length": 15,
    P + "angle": 30,
    P + "sigma": 2.0,
    P + "radius": 5.0,
    P + "size": 21,
    P + "mark": False,
    P + "noise": 3.0,
    P + "inverse_noise": 0.5,
    P + "nsr": 0.001,
    P + "iterations": 10,
    P + "show": "The results",
    P + "puzzle": 1,
    P + "revealed": False,
    P + "q_kind": "gaussian",
    P + "q_length": 15,
    P + "q_angle": 0,
    P + "q_sigma": 2.0,
    P + "q_radius": 5.0,
}
KIND_LABELS = {"motion": "Motion", "gaussian": "Gaussian", "defocus": "Defocus", "shake": "Camera shake"}


@dataclass(frozen=True)
class Lesson:
    """The picture, the blur and the noise the steps share."""

    key: str  # names the picture in the caches
    sharp: np.ndarray
    blur: KernelSettings
    noise: float  # grey levels out of 255
    projector: bool

    @property
    def spec(self) -> str:
        return self.blur.spec()

    @property
    def chart_height(self) -> int:
        return 380 if self.projector else 300


def keep_state() -> None:
    """Give every control its default once, and keep the values of the controls of the steps not shown."""
    for key, value in DEFAULTS.items():
        st.session_state[key] = st.session_state.get(key, value)


def style(projector: bool) -> None:
    """Room for a whole step on one screen; the Projector option enlarges the type and the pictures."""
    css = (
        ".block-container {padding-top: 2.2rem; padding-bottom: 0.5rem;}"
        "[data-testid='stImage'] img {max-height: 40vh; object-fit: contain;}"
        ".st-key-classroom_grid [data-testid='stImage'] img {max-height: 24vh;}"
        "h3 {padding-top: 0.2rem !important;}"
    )
    if projector:
        # zoom scales the type, the controls and the pictures alike, and the layout reflows to fit the width.
        css += (
            ".block-container {zoom: 1.35; padding-top: 1.6rem;}"
            # Plotly measures its box itself and is confused by zoom: undo it there (the charts grow by their height).
            "[data-testid='stPlotlyChart'] {zoom: 0.7407;}"
            "[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'] {display: none;}"
            "[data-testid='stImage'] img {max-height: 36vh;}"
            ".st-key-classroom_grid [data-testid='stImage'] img {max-height: 19vh;}"
            # A projector of 1280 x 720 has less height for the same words: enlarge less there.
            "@media (max-height: 900px) {.block-container {zoom: 1.12;} [data-testid='stPlotlyChart'] {zoom: 0.893;}"
            " [data-testid='stImage'] img {max-height: 34vh;}"
            " .st-key-classroom_grid [data-testid='stImage'] img {max-height: 17vh;}}"
        )
    st.html(f"<style>{css}</style>")


def _go(delta: int) -> None:
    st.session_state[P + "step"] = min(max(st.session_state[P + "step"] + delta, 0), len(STEPS) - 1)


def navigation():
    """Back, the step list, Next and the Projector toggle; returns the step shown (0-7) and a slot for the picture."""
    back, pick, forward, projector, picture = st.columns([0.8, 3, 0.8, 1.2, 1.2], vertical_alignment="center")
    step = st.session_state[P + "step"]
    back.button("Back", key=P + "back", on_click=_go, args=(-1,), disabled=step == 0, width="stretch")
    pick.selectbox(
        "Step",
        range(len(STEPS)),
        format_func=lambda i: f"Step {i + 1} of {len(STEPS)}: {STEPS[i]}",
        key=P + "step",
        label_visibility="collapsed",
    )
    forward.button("Next", key=P + "next", on_click=_go, args=(1,), disabled=step == len(STEPS) - 1, width="stretch")
    projector.toggle("Projector", key=P + "projector", help="Larger type and pictures, no sidebar: for a big screen.")
    return st.session_state[P + "step"], picture


@st.cache_data(show_spinner=False, max_entries=8)
def _prepared(key: str, _rgb: np.ndarray) -> np.ndarray:
    return classroom.lesson_picture(_rgb)


def picture_choice(container) -> tuple[str, np.ndarray]:
    """The picture to teach with, chosen in a popover in ``container``: (cache key, pixels at most 512 px).

    An unusable upload is explained in one sentence and the lesson goes on with the sample.
    """
    popover = container.popover("Picture", icon=":material/image:", width="stretch")
    with popover:
        source = st.radio("Teach with", ["A sample", "My own picture"], key=P + "source")
        name = st.selectbox(
            "Sample", list(samples.SAMPLES), format_func=lambda k: samples.SAMPLES[k].title, key=P + "sample"
        )
        file = None
        if source == "My own picture":
            file = st.file_uploader("Your picture", type=IMAGE_TYPES, key=P + "upload")
    key, rgb, title = _chosen(file, name)
    popover.caption(
        f"Picture: {title}, {rgb.shape[1]} × {rgb.shape[0]} px (scaled to at most 512 px for quick redraws)."
    )
    return key, rgb


def _chosen(file, sample: str) -> tuple[str, np.ndarray, str]:
    """The decoded upload, if it is usable (else a message), or the sample."""
    if file is not None:
        uploads, problems = services.decode_uploads([file], P + "decoded")
        for problem in problems:
            st.error(f"{problem} The lesson uses the sample instead.")
        if uploads:
            try:
                return uploads[0].key, _prepared(uploads[0].key, uploads[0].rgb), uploads[0].name
            except ValueError as exc:
                st.error(f"{uploads[0].name}: {exc}")
    key = digest("sample", sample)
    return key, _prepared(key, samples.sample_image(sample)), samples.SAMPLES[sample].title


def lesson(key: str, sharp: np.ndarray) -> Lesson:
    """The shared settings, from the controls' kept values."""
    state = st.session_state
    kind = state[P + "kind"]
    blur = KernelSettings(
        kind=kind,
        length=state[P + "length"],
        angle=state[P + "angle"],
        sigma=state[P + "sigma"],
        radius=state[P + "radius"],
        size=state[P + "size"],
    )
    return Lesson(key, sharp, blur, float(state[P + "noise"]), bool(state[P + "projector"]))


def intro(step: int, text: str) -> None:
    st.markdown(f"### {step + 1}. {STEPS[step]}")
    st.markdown(text)


def show(column, picture: np.ndarray, caption: str) -> None:
    column.image(picture if picture.dtype == np.uint8 else to_uint8(picture), caption=caption, width="stretch")


def plot(column, figure, key: str) -> None:
    column.plotly_chart(figure, key=key, config={"displaylogo": False, "displayModeBar": False})


# -- cached results, keyed by the picture and the settings --------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def blurred(key: str, _sharp: np.ndarray, spec: str, noise: float = 0.0) -> np.ndarray:
    """The lesson's picture blurred periodically with ``spec`` and ``noise`` grey levels of noise (seed 0)."""
    clean = teaching.circular_blur(_sharp, kernels.parse_kernel_spec(spec))
    return classroom.add_noise(clean, noise) if noise > 0 else clean


@st.cache_data(show_spinner=False, max_entries=64)
def spectrum(key: str, _image: np.ndarray) -> np.ndarray:
    return classroom.spectrum_picture(teaching.log_spectrum(_image))


@st.cache_data(show_spinner=False, max_entries=32)
def transfer(spec: str, shape: tuple[int, int]) -> np.ndarray:
    return teaching.transfer_function(kernels.parse_kernel_spec(spec), shape)


@st.cache_data(show_spinner=False, max_entries=32)
def power(key: str, _image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return teaching.radial_power(_image)


@st.cache_data(show_spinner=False, max_entries=32)
def inverse(key: str, _sharp: np.ndarray, spec: str, noise: float) -> np.ndarray:
    return teaching.inverse_filter(blurred(key, _sharp, spec, noise), kernels.parse_kernel_spec(spec))


@st.cache_data(show_spinner=False, max_entries=16)
def nsr_curve(key: str, _sharp: np.ndarray, spec: str, noise: float) -> np.ndarray:
    data = blurred(key, _sharp, spec, noise)
    return teaching.psnr_vs_nsr(_sharp, data, kernels.parse_kernel_spec(spec), classroom.NSR_CHOICES)


@st.cache_data(show_spinner=False, max_entries=64)
def wiener(key: str, _sharp: np.ndarray, spec: str, noise: float, nsr: float) -> np.ndarray:
    return teaching.wiener_filter(blurred(key, _sharp, spec, noise), kernels.parse_kernel_spec(spec), nsr)


@st.cache_data(show_spinner=False, max_entries=8)
def lucy(key: str, _sharp: np.ndarray, spec: str, noise: float) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """PSNR after every Richardson-Lucy iteration, and the pictures at the slider's stops (uint8)."""
    data = blurred(key, _sharp, spec, noise)
    stops = classroom.ITERATION_CHOICES
    curve, pictures = teaching.psnr_vs_iterations(_sharp, data, kernels.parse_kernel_spec(spec), stops[-1], stops)
    return curve, {n: to_uint8(p) for n, p in pictures.items()}


def psnr_text(sharp: np.ndarray, picture: np.ndarray) -> str:
    return f"PSNR {format_psnr(metrics.psnr(sharp, picture))}"
