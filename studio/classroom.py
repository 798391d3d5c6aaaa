"""What the Classroom page shows, prepared: the lesson's picture and blur, spectra as pictures, the charts.

The lesson runs on one picture scaled to at most 512 px, blurred periodically (as the Fourier view
assumes) by the kernel the class chooses. Every number comes from :mod:`deblur_core.classical.teaching`;
this module turns the results into uint8 pictures (colour-blind-safe viridis) and Plotly figures.
This module never imports streamlit.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import plotly.graph_objects as go

from deblur_core.classical import teaching
from deblur_core.image import check_image
from studio.images import VIRIDIS
from studio.tasks import KernelSettings

LESSON_SIDE = 512
"""The lesson's picture is scaled so that its longest side is at most this many pixels: quick to redraw."""
MIN_SIDE = 64

STEPS = (
    "Blur is a convolution",
    "Seen in frequencies",
    "Noise",
    "Naive inverse filtering",
    "Wiener filtering",
    "Richardson-Lucy",
    "Learning",
    "Try it yourself",
)

NSR_CHOICES = tuple(float(f"{v:.1g}") for v in np.logspace(-5, 0, 16))
ITERATION_CHOICES = (1, 2, 3, 5, 7, 10, 15, 20, 30, 40, 50, 70, 100)
INVERSE_NOISE_CHOICES = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
WIPED_OUT = 0.01
"""Frequencies the blur keeps less than 1 % of are marked as wiped out."""

# The Okabe-Ito palette: told apart with every common colour-vision deficiency.
BLUE, ORANGE, GREEN, PINK, GREY = "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#7f7f7f"


def lesson_picture(rgb: np.ndarray) -> np.ndarray:
    """The picture scaled (never enlarged) so its longest side is at most 512 px, float32 RGB in [0, 1].

    Raises
    ------
    ValueError
        If it is smaller than 64 px on a side.
    """
    img = check_image(rgb)
    h, w = img.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ValueError(
            f"This picture is {w} × {h} px; the lesson needs at least {MIN_SIDE} px on each side. "
            "Choose a larger picture or one of the samples."
        )
    scale = LESSON_SIDE / max(h, w)
    if scale >= 1:
        return np.ascontiguousarray(img, np.float32)
    size = (max(MIN_SIDE, round(w * scale)), max(MIN_SIDE, round(h * scale)))
    return np.clip(cv2.resize(img, size, interpolation=cv2.INTER_AREA), 0.0, 1.0).astype(np.float32)


def direction(settings: KernelSettings) -> float:
    """The direction (degrees) along which to draw a 1-D cut of the spectrum: the motion's, else horizontal."""
    return float(settings.angle) if settings.kind == "motion" else 0.0


def add_noise(image: np.ndarray, grey_levels: float, seed: int = 0) -> np.ndarray:
    """White Gaussian noise of ``grey_levels`` (out of 255) standard deviation, seeded, clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    noisy = image + rng.normal(0.0, grey_levels / 255.0, image.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def coloured(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values mapped linearly from [low, high] onto viridis (dark purple low, yellow high), uint8 RGB."""
    index = np.clip((values - low) / max(high - low, 1e-12) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return VIRIDIS[index]


def spectrum_picture(log_magnitude: np.ndarray) -> np.ndarray:
    """A log spectrum as a picture, on a fixed scale (so spectra of one lesson compare): 1e-4 to 10."""
    return coloured(log_magnitude, -4.0, 1.0)


def transfer_picture(transfer: np.ndarray, mark: bool) -> np.ndarray:
    """``|K|`` on a log scale from 0.001 (dark) to 1 (yellow); with ``mark``, the wiped-out frequencies in white."""
    picture = coloured(np.log10(np.maximum(transfer, 1e-3)), -3.0, 0.0)
    if mark:
        picture[transfer < WIPED_OUT] = 255
    return picture


def marked(picture: np.ndarray, transfer: np.ndarray, mark: bool) -> np.ndarray:
    """``picture`` with the wiped-out frequencies of ``transfer`` in white, when ``mark``."""
    if not mark:
        return picture
    out = picture.copy()
    out[transfer < WIPED_OUT] = 255
    return out


def gain_picture(transfer: np.ndarray) -> np.ndarray:
    """How much the inverse filter multiplies each frequency, ``1 / |K|``, on a log scale from 1x to 1000x."""
    return coloured(np.log10(1.0 / np.maximum(transfer, 1e-3)), 0.0, 3.0)


def error_picture(output: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """|output - truth| in viridis: dark is right, yellow is off by a quarter of the range or more."""
    return coloured(np.abs(output - truth).mean(axis=2), 0.0, 0.25)


# -- the puzzle of the last step --------------------------------------------------------------------


def puzzle(seed: int) -> KernelSettings:
    """A hidden blur drawn from ``seed``: motion, Gaussian or defocus, of a size a class can see."""
    rng = np.random.default_rng(seed)
    kind = ("motion", "gaussian", "defocus")[int(rng.integers(3))]
    if kind == "motion":
        settings = KernelSettings("motion", length=int(rng.integers(7, 32)), angle=int(rng.integers(0, 180)))
    elif kind == "gaussian":
        settings = KernelSettings("gaussian", sigma=round(float(rng.uniform(1.0, 5.0)), 1))
    else:
        settings = KernelSettings("defocus", radius=float(rng.integers(2, 11)))
    return settings


# -- charts --------------------------------------------------------------------------------------------


def _layout(figure: go.Figure, height: int, x_title: str, y_title: str, log_x: bool = False) -> go.Figure:
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        showlegend=True,
    )
    # Streamlit's chart theme sets the axis and legend type itself: size them here too.
    size = 13 if height <= 300 else 20
    figure.update_xaxes(tickfont_size=size, title_font_size=size)
    figure.update_yaxes(tickfont_size=size, title_font_size=size)
    figure.update_layout(legend_font_size=size)
    figure.update_annotations(font_size=size)
    if log_x:
        figure.update_xaxes(type="log")
    return figure


def power_chart(curves: dict[str, tuple[np.ndarray, np.ndarray]], floor: float, height: int) -> go.Figure:
    """Radially averaged power spectra (log scale) with the noise floor as a dashed line."""
    figure = go.Figure()
    for (name, (freqs, power)), colour in zip(curves.items(), (GREY, BLUE, ORANGE), strict=False):
        figure.add_trace(go.Scatter(x=freqs, y=power, mode="lines", name=name, line={"color": colour, "width": 3}))
    if floor > 0:
        figure.add_hline(y=floor, line_dash="dash", line_color=PINK, annotation_text="noise floor")
    figure.update_yaxes(type="log", exponentformat="power")
    return _layout(figure, height, "cycles per pixel", "power")


def gain_chart(settings: KernelSettings, nsr: float, height: int) -> go.Figure:
    """Along one direction: how much the blur keeps (|K|), the inverse filter's gain and the Wiener filter's."""
    freqs = np.linspace(0.0, 0.5, 400)
    response = teaching.kernel_response(settings.kernel(), freqs, direction(settings))
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=freqs, y=response, name="blur keeps |K|", line={"color": GREY, "width": 3}))
    inverse = np.minimum(teaching.wiener_gain(response, 0.0), 1e3)
    figure.add_trace(go.Scatter(x=freqs, y=inverse, name="inverse 1/|K|", line={"color": ORANGE, "dash": "dot"}))
    wiener = teaching.wiener_gain(response, nsr)
    figure.add_trace(go.Scatter(x=freqs, y=wiener, name="Wiener", line={"color": BLUE, "width": 3}))
    figure.update_yaxes(type="log", range=[-2, 2], exponentformat="power")
    return _layout(figure, height, "cycles per pixel", "gain")


def curve_chart(
    xs: np.ndarray, psnrs: np.ndarray, current: float, x_title: str, height: int, log_x: bool = False
) -> go.Figure:
    """PSNR (dB) against a setting, with the current setting marked."""
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=xs, y=psnrs, mode="lines+markers", name="PSNR", line={"color": BLUE, "width": 3}))
    at = int(np.argmin(np.abs(np.asarray(xs, float) - current)))
    figure.add_trace(
        go.Scatter(
            x=[xs[at]],
            y=[psnrs[at]],
            mode="markers",
            name="now",
            marker={"color": ORANGE, "size": 16, "symbol": "diamond", "line": {"color": "black", "width": 1}},
        )
    )
    best = int(np.argmax(psnrs))
    # On a log axis Plotly places annotations by the logarithm of x.
    where = math.log10(xs[best]) if log_x else xs[best]
    figure.add_annotation(x=where, y=psnrs[best], text="best", showarrow=True, arrowhead=2, ax=0, ay=-30)
    if log_x:
        figure.update_xaxes(type="log", exponentformat="power")
    return _layout(figure, height, x_title, "PSNR (dB)")


def star_field(height: int, width: int) -> np.ndarray:
    """Dots on black, spaced so each blurred dot stands alone: a picture of what a point of light becomes."""
    return teaching.dot_grid(height, width, spacing=max(24, min(height, width) // 4))


def same_scale(*kernels_: np.ndarray) -> list[np.ndarray]:
    """The kernels zero-padded to one size, so that pictures of them side by side share one scale."""
    side = max(max(k.shape) for k in kernels_)
    out = []
    for k in kernels_:
        dy, dx = side - k.shape[0], side - k.shape[1]
        out.append(np.pad(k, ((dy // 2, dy - dy // 2), (dx // 2, dx - dx // 2))))
    return out
