"""Benchmark: blur a set of sharp images in a known way and measure how well each method restores them."""

from __future__ import annotations

import dataclasses

import pandas as pd
import plotly.express as px
import streamlit as st

from deblur_core.io import DEFAULT_MAX_PIXELS
from deblur_core.io import archive as zips
from studio import images, router, samples, services, widgets
from studio.bench import BLURRED, BenchmarkRun
from studio.charts import psnr_axis
from studio.tasks import KernelSettings

router.require_app()

RUN_KEY = "benchmark_run"
CROP = 256


def sample_set(crop: bool) -> list[tuple[str, object]]:
    chosen = []
    for key in st.session_state.get("benchmark_samples") or []:
        rgb = samples.sample_image(key)
        if crop:
            top, left, bottom, right = images.crop_box(rgb.shape[0], rgb.shape[1], 0.5, 0.5, CROP)
            rgb = rgb[top:bottom, left:right]
        chosen.append((key, rgb))
    return chosen


@st.fragment(run_every=1.0)
def progress_panel() -> None:
    """Polls the background run; when it ends, reruns the whole page to draw the results."""
    run: BenchmarkRun | None = st.session_state.get(RUN_KEY)
    if run is None:
        return
    snap = run.snapshot()
    if not snap.active:
        st.rerun(scope="app")
    st.progress(
        snap.fraction,
        text=f"{snap.done} of {snap.total} restorations done ({snap.elapsed:.0f} s): {snap.current}",
    )
    queue = services.get_queue()
    if queue.waiting:
        st.caption(f"The server is shared: {queue.waiting} job(s) waiting for a free worker.")
    if st.button("Cancel", key="benchmark_cancel", icon=":material/stop_circle:"):
        run.cancel()
        st.toast("Stopping after the current step…")


def show_results(rows: list[dict]) -> None:
    table = pd.DataFrame(rows)
    restored = table[table["method"] != BLURRED]
    if restored.empty:
        st.info("No restoration finished, so there is nothing to show.")
        return
    summary = (
        table.groupby("method", sort=False)
        .agg(**{"PSNR (dB)": ("PSNR (dB)", "mean"), "SSIM": ("SSIM", "mean"), "seconds": ("seconds", "mean")})
        .round({"PSNR (dB)": 2, "SSIM": 3, "seconds": 3})
        .reset_index()
    )
    st.subheader("Per method (mean over the images)")
    st.dataframe(summary, hide_index=True, key="benchmark_summary")
    c1, c2 = st.columns(2)
    with c1:
        fig = px.bar(
            summary, x="method", y="PSNR (dB)", color="method", color_discrete_sequence=px.colors.qualitative.Safe
        )
        fig.update_layout(showlegend=False, margin={"l": 10, "r": 10, "t": 30, "b": 10}, height=340, xaxis_title=None)
        fig.update_yaxes(range=psnr_axis(summary["PSNR (dB)"]))
        st.plotly_chart(fig, key="benchmark_chart_psnr", config={"displaylogo": False})
    with c2:
        fig = px.bar(
            summary, x="method", y="seconds", color="method", color_discrete_sequence=px.colors.qualitative.Safe
        )
        fig.update_layout(showlegend=False, margin={"l": 10, "r": 10, "t": 30, "b": 10}, height=340, xaxis_title=None)
        st.plotly_chart(fig, key="benchmark_chart_seconds", config={"displaylogo": False})
    st.subheader("Per image")
    fig = px.bar(
        table,
        x="image",
        y="PSNR (dB)",
        color="method",
        barmode="group",
        color_discrete_sequence=px.colors.qualitative.Safe,
    )
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=400,
        legend={"title": None, "orientation": "h", "yanchor": "top", "y": -0.15, "x": 0},
        xaxis_title=None,
    )
    fig.update_yaxes(range=psnr_axis(table["PSNR (dB)"]))
    st.plotly_chart(fig, key="benchmark_chart_images", config={"displaylogo": False})
    st.dataframe(table, hide_index=True, key="benchmark_table")
    widgets.csv_download("Download all results (CSV)", table, "benchmark.csv", "benchmark_csv")


st.title("Benchmark")
st.caption(
    "Blur a set of sharp images with a known blur, restore them with each method and measure PSNR (dB) and "
    "SSIM against the originals. The same blur and noise (seed 0) is used for every method."
)

run: BenchmarkRun | None = st.session_state.get(RUN_KEY)
running = run is not None and run.snapshot().active

c_set, c_blur = st.columns(2, gap="large")
with c_set:
    source = st.radio(
        "Images", ["The bundled samples", "My own sharp images (zip)"], horizontal=True, key="benchmark_source"
    )
    picture_set: list[tuple[str, object]] = []
    if source == "The bundled samples":
        # wrap: in a column the chips would otherwise stay on one row and hide the third sample.
        st.multiselect(
            "Samples",
            list(samples.SAMPLES),
            default=["chelsea", "astronaut", "coffee"],
            format_func=lambda k: samples.SAMPLES[k].title,
            key="benchmark_samples",
            wrap=True,
        )
        crop = st.toggle(f"Use {CROP} × {CROP} px centre crops (quicker)", value=True, key="benchmark_crop")
        picture_set = sample_set(crop)
    else:
        archive = st.file_uploader(
            "A zip of sharp images",
            type=["zip"],
            key="benchmark_zip",
            help=f"Up to {zips.MAX_MEMBERS} images, {zips.MAX_MEMBER_BYTES // 2**20} MB each; read in memory only.",
        )
        if archive is not None:
            with services.friendly_errors("reading the zip"):
                contents = zips.read_image_zip(
                    archive.getvalue(), name=archive.name, max_pixels=min(DEFAULT_MAX_PIXELS, 12_000_000)
                )
                picture_set = [(img.name, img.rgb) for img in contents.images]
                st.success(f"{len(picture_set)} image(s) ready.")
                if contents.skipped:
                    with st.expander(f"{len(contents.skipped)} file(s) skipped"):
                        for line in contents.skipped:
                            st.caption(line)
with c_blur:
    settings = widgets.kernel_controls("benchmark_kernel", KernelSettings(kind="motion", length=15, angle=30))
    noise_levels = st.slider("Noise (grey levels of 255)", 0.0, 10.0, 1.0, 0.5, key="benchmark_noise")
    kernel = None
    with services.friendly_errors("building the kernel"):
        kernel = settings.kernel()
        widgets.show_kernel(kernel, settings.describe())

menu = services.get_menu((CROP, CROP))
labels = [c.label for c in menu.choices]
defaults = list(dict.fromkeys(c.label for c in menu.featured(limit=1)))
picked = st.multiselect("Methods", labels, default=defaults, key="benchmark_methods", wrap=True)
# Enlarging models are measured on deblurring alone: an enlarged result has no ground truth of its size.
choices = [dataclasses.replace(menu.by_label(label), upscale=False, scale=1) for label in picked]

ready = bool(picture_set) and bool(choices) and kernel is not None
if st.button("Run the benchmark", type="primary", key="benchmark_start", disabled=running or not ready):
    for choice in choices:
        services.load_model(choice)
    run = BenchmarkRun(
        images=list(picture_set),
        kernel=kernel,
        kernel_spec=settings.spec(),
        noise=noise_levels / 255.0,
        choices=choices,
        registry=services.get_registry(),
        queue=services.get_queue(),
    ).start()
    st.session_state[RUN_KEY] = run
    running = True
if not ready and not running:
    st.caption("Choose at least one image and one method.")

if run is not None:
    if running:
        progress_panel()
    else:
        snap = run.snapshot()
        if snap.status == "failed":
            st.error(snap.message)
        elif snap.status == "cancelled":
            st.warning(f"Cancelled after {snap.done} of {snap.total} restorations; the partial results are below.")
        else:
            st.success(f"Finished {snap.total} restorations in {snap.elapsed:.1f} s.")
        if snap.rows:
            show_results(snap.rows)
