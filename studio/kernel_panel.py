"""The Deblur page's kernel panel: the blur kernel estimated from the photo, where it came from, and how to steer it.

For a method that estimates the kernel, the panel shows the estimate (enlarged, its size, the confidence in
words, which candidate won, the seconds, and the region it used on a thumbnail of the photo), the controls
that steer it (the largest kernel size, an automatic region or a square of the visitor's choice, and
Re-estimate), and a button that hands the estimate over to the kernel sliders. The estimate runs on the
server's work queue with its progress, and is kept in the session per photo and settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from deblur_core.classical.estimate import MAX_ESTIMATE_SIZE, KernelEstimate, nearest_fit
from deblur_core.classical.regions import MIN_REGION, REGION
from studio import images, services, widgets
from studio.methods import MethodChoice
from studio.tasks import EstimateSettings

SOURCE_TEXT = {
    "estimated": "estimated from the photo's edges",
    "gaussian fit": "a Gaussian fitted to the estimate",
    "disk fit": "a defocus disc fitted to the estimate",
    "line fit": "a motion line fitted to the estimate",
    "no blur found": "no clear blur found: left as it was",
    "unsure": "too uncertain to use (two estimates disagree, or the kernel does not fit the rest): left as it was",
}
USED_COLOUR = (255, 176, 0)  # amber: the region the estimate shown was made from
CHOSEN_COLOUR = (0, 200, 255)  # cyan: the square being chosen, before Re-estimate
AUTOMATIC, CHOSEN = "Automatic", "A square I choose"


@dataclass(frozen=True)
class TakeOver:
    """Where "Take over with the sliders" goes: the method that takes a kernel, and the widgets it sets."""

    choice: MethodChoice  # the method that takes the kernel (the learned deconvolver)
    method_key: str  # the session key of the page's method picker
    sliders: str  # the prefix of the page's kernel sliders (widgets.kernel_controls)


def source_text(found: KernelEstimate) -> str:
    """Where the kernel came from, in words for people."""
    if found.fallback and found.source not in SOURCE_TEXT:
        return SOURCE_TEXT["no blur found"]
    return SOURCE_TEXT.get(found.source, found.source)


def _square_controls(
    prefix: str, height: int, width: int, start: tuple[float, float, int] | None
) -> tuple[float, float, int] | None:
    """Centre across and down (% of the photo) and the side (px) of the square to estimate from; None if it cannot be chosen."""
    shorter = min(height, width)
    if shorter <= MIN_REGION:
        st.caption(f"The photo is {width} × {height} px, too small to choose a part of it: all of it is used.")
        return None
    across, down, side = start or (0.5, 0.5, REGION)
    c1, c2, c3 = st.columns(3)
    across = c1.slider("Centre across (%)", 0, 100, round(across * 100), key=f"{prefix}_across")
    down = c2.slider("Centre down (%)", 0, 100, round(down * 100), key=f"{prefix}_down")
    side = c3.slider(
        "Side (px)",
        MIN_REGION,
        shorter,
        min(max(int(side), MIN_REGION), shorter),
        key=f"{prefix}_side",
        help=f"Larger squares hold more edges but take longer; at least {MIN_REGION} px.",
    )
    return across / 100, down / 100, int(side)


def steer_controls(prefix: str, height: int, width: int, start: EstimateSettings) -> EstimateSettings:
    """The largest kernel size and the region to estimate from, starting at ``start``; returns the settings they describe."""
    max_size = st.slider(
        "Largest kernel size (px)",
        5,
        MAX_ESTIMATE_SIZE,
        start.max_size,
        2,
        key=f"{prefix}_max_size",
        help="The widest blur the estimate may find. Larger sizes find longer blurs but take longer and may pick up texture.",
    )
    mode = st.radio(
        "Region to estimate from",
        [AUTOMATIC, CHOSEN],
        index=0 if start.square is None else 1,
        horizontal=True,
        key=f"{prefix}_region",
        help="Automatic picks the most edge-rich part with the fewest clipped highlights.",
    )
    square = _square_controls(prefix, height, width, start.square) if mode == CHOSEN else None
    return EstimateSettings(max_size=int(max_size), square=square)


def _thumbnail(image: np.ndarray, found: KernelEstimate, current: EstimateSettings) -> None:
    """The photo, small, with the region the estimate used and the square being chosen."""
    boxes = [(found.region, USED_COLOUR)]
    chosen = current.box(image.shape[0], image.shape[1])
    caption = f"Amber: the {found.region[2]} × {found.region[3]} px region the kernel was estimated from"
    if chosen is not None and chosen != tuple(found.region):
        boxes.append((chosen, CHOSEN_COLOUR))
        caption += "; cyan: your square, used when you press Re-estimate"
    st.image(images.region_thumbnail(image, boxes), caption=caption + ".", width="content")


def _facts(found: KernelEstimate, applied: EstimateSettings) -> None:
    """Size, confidence, source and time of the estimate, in words with units."""
    h, w = found.kernel.shape
    size = f"{w} × {h} px" + (" (no blur)" if found.fallback else "")
    if max(h, w) > applied.max_size:  # a fitted Gaussian or disc keeps its faint rim, and centring pads a little
        size += f" (its faint edges reach past the largest size, {applied.max_size} px)"
    confidence = found.confidence_words() + ("" if found.fallback else f" ({found.confidence:.2f} of 1)")
    st.markdown(
        f"- **Size:** {size}\n"
        f"- **Confidence:** {confidence}\n"
        f"- **Found as:** {source_text(found)}\n"
        f"- **Time:** {found.seconds:.1f} s"
    )
    st.caption(f"Estimated with {applied.describe()}.")


def _take_over(found: KernelEstimate, take_over: TakeOver, prefix: str) -> None:
    """The button that switches to the method with the kernel sliders, preset to the fit nearest the estimate."""
    kind, parameters = nearest_fit(found.kernel)
    settings = widgets.slider_settings(kind, parameters)

    def switch() -> None:  # a callback: it runs before the next run draws the widgets it sets
        st.session_state[take_over.method_key] = take_over.choice.label
        widgets.preset_kernel_controls(take_over.sliders, settings)
        st.session_state[f"{prefix}_took_over"] = settings.describe()

    st.button(
        "Take over with the sliders",
        key=f"{prefix}_take_over",
        on_click=switch,
        icon=":material/tune:",
        help=f"Switch to {take_over.choice.label} with the kernel sliders set to {settings.describe()}, "
        "the simple blur nearest this estimate, to adjust by hand.",
    )


def _apply(key: str, settings: EstimateSettings) -> None:
    st.session_state[key] = settings


def took_over_note(prefix: str) -> str | None:
    """The sentence to show once after "Take over with the sliders" (None otherwise)."""
    described = st.session_state.pop(f"{prefix}_took_over", None)
    if described is None:
        return None
    return f"The sliders start from the estimate: {described}, the nearest simple blur. Adjust them until the live preview looks sharp."


def estimate_panel(
    prefix: str, image: np.ndarray, image_key: str, take_over: TakeOver | None, controls, panel
) -> tuple[EstimateSettings, KernelEstimate] | None:
    """The controls in the container ``controls`` and the kernel panel in ``panel`` (columns side by side).

    Returns the settings estimated with and the estimate, or None if it failed (the panel then says why).
    The estimate shown is the one for the settings of the last Re-estimate (at first, the controls as they
    start); moving a control changes nothing but the thumbnail until Re-estimate is pressed.
    """
    applied_key = f"{prefix}_applied"
    with controls:
        st.markdown("**Steer the estimate**")
        # The controls start where the last estimate was made, so coming back to the method shows them as they were.
        start = st.session_state.get(applied_key, EstimateSettings())
        current = steer_controls(prefix, image.shape[0], image.shape[1], start)
        applied = st.session_state.setdefault(applied_key, current)
        # A callback, so the run after the click already draws the button as done; the settings are those the
        # button was drawn with, which every move of a control redraws.
        st.button(
            "Re-estimate",
            key=f"{prefix}_run",
            disabled=current == applied,
            on_click=_apply,
            args=(applied_key, current),
            icon=":material/refresh:",
        )
        if current != applied:
            st.caption(
                "Press **Re-estimate** to estimate with these settings; the kernel shown was found with the earlier ones."
            )
    with panel:
        st.markdown("**The blur kernel, estimated from your photo**")
        found = None
        with services.friendly_errors("estimating the blur kernel"):
            found = services.estimate_job(image, image_key, applied)
        if found is None:
            return None
        c_kernel, c_region = st.columns(2)
        with c_kernel:
            widgets.show_kernel(found.kernel, "Estimated kernel")
        with c_region:
            _thumbnail(image, found, current)
        _facts(found, applied)
        if take_over is not None:
            _take_over(found, take_over, prefix)
    return applied, found
