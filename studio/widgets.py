"""Building blocks the pages share: the kernel sliders, the method picker and the result view."""

from __future__ import annotations

import numpy as np
import streamlit as st

from deblur_core.metrics import format_psnr, format_ssim
from studio import images
from studio.methods import MethodChoice, MethodMenu
from studio.slider import before_after_html
from studio.tasks import KERNEL_KINDS, KernelSettings, Restored

KIND_LABELS = {
    "motion": "Motion (camera moved in a line)",
    "gaussian": "Gaussian (soft focus)",
    "defocus": "Defocus (out-of-focus disc)",
    "shake": "Camera shake (hand-held)",
}


# The kernel sliders' ranges and steps: (low, high, step) per setting of KernelSettings.
KERNEL_SLIDERS = {
    "length": (3, 61, 1),
    "angle": (0, 179, 1),
    "sigma": (0.5, 8.0, 0.1),
    "radius": (1.0, 20.0, 0.5),
}
KIND_SETTINGS = {"motion": ("length", "angle"), "gaussian": ("sigma",), "defocus": ("radius",)}


def _start(key: str, value):
    """A widget's starting value, or None where the session already holds one (a preset: passing both only warns)."""
    return None if key in st.session_state else value


def _kernel_slider(prefix: str, name: str, label: str, value: float, help_text: str | None = None):
    """One slider of :func:`kernel_controls`, with its range and step from :data:`KERNEL_SLIDERS`."""
    low, high, step = KERNEL_SLIDERS[name]
    key = f"{prefix}_{name}"
    start = int(value) if isinstance(step, int) else float(value)
    return st.slider(label, low, high, _start(key, start), step, key=key, help=help_text)


def kernel_controls(prefix: str, defaults: KernelSettings | None = None) -> KernelSettings:
    """Sliders that shape a blur kernel; returns the settings. Keys start with ``prefix``."""
    d = defaults or KernelSettings()
    kind = st.selectbox(
        "Blur type",
        KERNEL_KINDS,
        index=_start(f"{prefix}_kind", KERNEL_KINDS.index(d.kind)),
        format_func=KIND_LABELS.get,
        key=f"{prefix}_kind",
    )
    settings = {"kind": kind}
    if kind == "motion":
        settings["length"] = _kernel_slider(prefix, "length", "Length (px)", d.length, "How far the camera moved.")
        settings["angle"] = _kernel_slider(prefix, "angle", "Angle (°)", d.angle, "0° is horizontal, 90° vertical.")
    elif kind == "gaussian":
        settings["sigma"] = _kernel_slider(prefix, "sigma", "Sigma (px)", d.sigma)
    elif kind == "defocus":
        settings["radius"] = _kernel_slider(prefix, "radius", "Radius (px)", d.radius)
    else:
        settings["size"] = st.slider("Size (px)", 7, 51, int(d.size), 2, key=f"{prefix}_size")
        settings["seed"] = st.number_input(
            "Shake pattern", 0, 9999, int(d.seed), key=f"{prefix}_seed", help="Each number draws another trajectory."
        )
    return KernelSettings(**settings)


def slider_settings(kind: str, parameters: dict[str, float]) -> KernelSettings:
    """The kernel sliders' settings nearest a fitted kernel (``deblur_core.classical.estimate.nearest_fit``).

    Each value is rounded to its slider's step and kept within its range; a motion angle is taken modulo 180°.
    """
    values = {}
    for name in KIND_SETTINGS[kind]:
        low, high, step = KERNEL_SLIDERS[name]
        value = round(parameters[name] / step) * step
        if name == "angle":
            value %= 180
        value = min(max(value, low), high)
        values[name] = int(value) if isinstance(step, int) else round(float(value), 1)
    return KernelSettings(kind=kind, **values)


def preset_kernel_controls(prefix: str, settings: KernelSettings) -> None:
    """Set the sliders of :func:`kernel_controls` with ``prefix`` to ``settings``; call it before they are drawn."""
    st.session_state[f"{prefix}_kind"] = settings.kind
    for name in KIND_SETTINGS.get(settings.kind, ("size", "seed")):
        st.session_state[f"{prefix}_{name}"] = getattr(settings, name)


def show_kernel(kernel: np.ndarray, caption: str) -> None:
    """The kernel enlarged with nearest-neighbour, so each of its pixels is a visible square."""
    h, w = kernel.shape
    st.image(images.kernel_picture(kernel), caption=f"{caption} ({w} × {h} px, enlarged)", width=168)


def method_picker(prefix: str, menu: MethodMenu, default: MethodChoice | None = None) -> tuple[MethodChoice, dict]:
    """A selectbox of the methods with the chosen one's description; returns the choice and its options."""
    labels = [c.label for c in menu.choices]
    start = default or menu.default
    index = labels.index(start.label) if start.label in labels else 0
    texts = {c.label: c.picker_text for c in menu.choices}
    key = f"{prefix}_method"
    if st.session_state.get(key) in labels:  # chosen before, or set by a button (see _start)
        index = None
    label = st.selectbox("Method", labels, index=index, key=key, format_func=texts.get)
    choice = menu.by_label(label)
    st.caption(choice.description)
    if choice.weak:
        st.warning(choice.weak_warning(), icon=":material/trending_down:")
    if choice.note:
        st.info(choice.note)
    return choice, option_controls(prefix, choice, "photo")


def option_controls(prefix: str, choice: MethodChoice, takes: str) -> dict:
    """A control for each option the catalogue offers for ``takes`` (``photo`` or ``frames``); returns the values.

    A choice that means "let the method decide" (Wiener's ``auto``) is left out of the returned options.
    Keys are ``<prefix>_<option name>``.
    """
    options: dict = {}
    for option in choice.options:
        if takes not in option.offered_for:
            continue
        key, help_text = f"{prefix}_{option.name}", option.app_help or None
        if option.choices:
            value = st.select_slider(
                option.title, options=list(option.choices), value=option.start, key=key, help=help_text
            )
        else:
            low, high, step = option.widget
            value = st.slider(option.title, low, high, option.start, step, key=key, help=help_text)
        if option.automatic is None or value != option.automatic:
            options[option.name] = value
    return options


def delta_args(value: float, digits: int, unit: str = "") -> dict:
    """``st.metric`` arguments for a change: signed, or grey with no arrow when it rounds to zero (no red "-0.000")."""
    text = f"{value:+.{digits}f}"
    if float(text) == 0:
        return {"delta": f"{0:.{digits}f}{unit}", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": text + unit}


def metric_row(result: Restored, has_truth: bool) -> None:
    """PSNR and SSIM (or sharpness without ground truth) before and after, with the gain, and the runtime."""
    cols = st.columns(3)
    if has_truth and result.psnr_out is not None:
        gain_db = result.psnr_out - result.psnr_in
        gain_ssim = result.ssim_out - result.ssim_in
        cols[0].metric(
            "PSNR",
            format_psnr(result.psnr_out),
            **delta_args(gain_db, 2, " dB"),
            help=f"Blurred input: {format_psnr(result.psnr_in)}. Higher is closer to the sharp original.",
        )
        cols[1].metric(
            "SSIM",
            format_ssim(result.ssim_out),
            **delta_args(gain_ssim, 3),
            help=f"Blurred input: {format_ssim(result.ssim_in)}. 1 means identical structure.",
        )
    else:
        gain = result.sharp_out - result.sharp_in
        cols[0].metric(
            "Sharpness before",
            f"{result.sharp_in:.3f}",
            help="A no-reference score from 0 (flat) to 1 (crisp), for photos without a sharp original.",
        )
        cols[1].metric(
            "Sharpness after",
            f"{result.sharp_out:.3f}",
            **delta_args(gain, 3),
            help="Noise and halos raise the score too, so look at the picture as well.",
        )
    cols[2].metric("Runtime", f"{result.seconds:.2f} s", help="Time the method took on the full picture.")
    if has_truth and result.psnr_out is not None:
        st.caption(
            f"Blurred input: PSNR {format_psnr(result.psnr_in)}, SSIM {format_ssim(result.ssim_in)}. "
            "The delta is the gain of the result over the blurred input."
        )
    if result.note:
        st.caption(result.note)


def _upsized(picture: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A picture brought to ``shape`` (height, width) by nearest-neighbour, for side-by-side views only."""
    if picture.shape[:2] == tuple(shape):
        return picture
    from PIL import Image

    return np.asarray(Image.fromarray(picture).resize((shape[1], shape[0]), Image.Resampling.NEAREST))


KERNEL_SOURCE_TEXT = {
    "given": "the blur kernel it was given",
    "fitted": "the blur kernel shaped with the sliders, fitted to the picture",
    "estimated": "the blur kernel it estimated from the picture",
}


def kernel_used(result: Restored) -> None:
    """The kernel the method worked with, as the result reports it (nothing for a blind method)."""
    if result.kernel is None:
        return
    source = KERNEL_SOURCE_TEXT.get(result.kernel_source, "a blur kernel")
    with st.expander(f"Blur kernel used: {source}", expanded=result.kernel_source == "estimated"):
        show_kernel(result.kernel, f"Kernel {result.kernel_source}")


def result_view(
    prefix: str,
    blurred: np.ndarray,
    result: Restored,
    truth: np.ndarray | None,
    choice: MethodChoice,
    blurred_label: str = "Blurred",
) -> None:
    """Pictures side by side, the before/after slider, the zoom, the difference map and the metrics."""
    output = result.output
    metric_row(result, truth is not None)
    kernel_used(result)

    prev_in = images.preview(blurred)
    prev_out = images.preview(output)
    cols = st.columns(3 if truth is not None else 2)
    cols[0].image(prev_in.pixels, caption=blurred_label, width="stretch")
    cols[1].image(prev_out.pixels, caption=f"Deblurred: {choice.label}", width="stretch")
    if truth is not None:
        cols[2].image(images.preview(truth).pixels, caption="Ground truth (sharp original)", width="stretch")
    notes = {n for n in (prev_in.note(), prev_out.note()) if n}
    for note in sorted(notes):
        st.caption(note)

    st.markdown("**Before / after**: drag the handle (or focus it and use the arrow keys).")
    slide = images.preview(output, images.SLIDER_MAX_SIDE)
    slide_out = slide.pixels
    slide_in = _upsized(images.preview(blurred, images.SLIDER_MAX_SIDE).pixels, slide_out.shape[:2])
    st.iframe(
        before_after_html(slide_in, slide_out, blurred_label, "Deblurred"),
        height="content",
    )
    if slide.shown is not None:
        st.caption("The slider shows the same middle part; use the zoom below for any other region.")
    elif slide.scaled:
        st.caption(
            f"Slider pictures scaled to {slide_out.shape[1]} × {slide_out.shape[0]} px; "
            "use the zoom below for full-resolution detail."
        )
    zoom_view(prefix, blurred, output, truth, "Input" if blurred_label == "Your photo" else "Blurred")
    if truth is not None and truth.shape == output.shape:
        diff = images.difference_map(images.preview(output).pixels / 255.0, images.preview(truth).pixels / 255.0)
        with st.expander("Difference map |result − ground truth|", expanded=False):
            st.image(diff, width="stretch", caption="Where the result still differs from the sharp original.")
            st.image(images.colour_bar(), width=256)
            st.caption(
                "Colour scale (viridis, readable with colour-blindness): dark purple = no difference, yellow = 0.25 or more (a quarter of the full brightness range)."
            )


@st.fragment
def zoom_view(
    prefix: str, blurred: np.ndarray, output: np.ndarray, truth: np.ndarray | None, input_label: str = "Blurred"
) -> None:
    """The same region from each picture, enlarged with nearest-neighbour; moving it reruns only this part."""
    st.markdown("**Zoom**: the same region of each picture at full resolution.")
    c1, c2, c3 = st.columns(3)
    cx = c1.slider("Across (%)", 0, 100, 50, key=f"{prefix}_zoom_x") / 100
    cy = c2.slider("Down (%)", 0, 100, 50, key=f"{prefix}_zoom_y") / 100
    zoom = c3.select_slider(
        "Zoom", options=[1, 2, 3, 4, 6, 8], value=3, format_func=lambda z: f"{z}×", key=f"{prefix}_zoom"
    )
    scale = max(1, round(output.shape[1] / blurred.shape[1]))
    pictures = [(input_label, blurred, zoom * scale), ("Deblurred", output, zoom)]
    if truth is not None:
        pictures.append(("Ground truth", truth, zoom * max(1, round(output.shape[1] / truth.shape[1]))))
    view = 320
    cols = st.columns(len(pictures))
    for col, (caption, picture, z) in zip(cols, pictures, strict=True):
        col.image(images.zoom_crop(picture, cx, cy, z, view=view), caption=f"{caption}, {z}×", width="stretch")


def csv_download(label: str, table, file_name: str, key: str) -> None:
    """A download button for a table (a pandas DataFrame) as CSV; clicking it does not rerun the page."""
    st.download_button(
        label,
        table.to_csv(index=False).encode("utf-8"),
        file_name=file_name,
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )
