"""Compare: several methods on the same picture at once, side by side and in numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from deblur_core.classical.estimate import KernelEstimate
from deblur_core.kernels import kernel_picture
from studio import images, kernel_panel, router, services, widgets
from studio.example import EXAMPLE_KERNEL, EXAMPLE_NOISE, EXAMPLE_SAMPLE
from studio.samples import sample_image
from studio.tasks import EstimateSettings, KernelSettings, blur_picture, digest

router.require_app()

ESTIMATE_SETTINGS = EstimateSettings()  # the defaults: the largest kernel 31 px, the square chosen automatically


def example_input() -> services.CurrentInput:
    sharp = sample_image(EXAMPLE_SAMPLE)
    kernel = EXAMPLE_KERNEL.kernel()
    key = digest("blur", digest("sample", EXAMPLE_SAMPLE), kernel, EXAMPLE_NOISE)
    blurred = services.run_job(key, lambda _p, _c: blur_picture(sharp, kernel, EXAMPLE_NOISE, seed=0), "Blurring")
    return services.CurrentInput(
        name=f"{EXAMPLE_SAMPLE}.png",
        blurred=blurred,
        truth=np.asarray(sharp),
        kernel=kernel,
        kernel_spec=EXAMPLE_KERNEL.spec(),
        description=f"the sample {EXAMPLE_SAMPLE}.png with {EXAMPLE_KERNEL.describe()}",
        key_parts=(key,),
    )


def _image_key(current: services.CurrentInput) -> str:
    return digest("compare", *current.key_parts)


def estimated_kernel(current: services.CurrentInput, choices: list) -> KernelEstimate | None:
    """The blur kernel estimated once from the picture for all the chosen methods that estimate it, shown small."""
    if not any(c.kernel == "estimates" for c in choices):
        return None
    found = None
    with services.friendly_errors("estimating the blur kernel"):
        found = services.estimate_job(current.blurred, _image_key(current), ESTIMATE_SETTINGS)
    if found is None:
        return None
    more = "The Deblur page shows it larger and lets you choose where it is estimated from."
    if found.fallback:  # nothing to draw: say why the photo is left as it is
        why = "no clear blur was found" if found.source == "no blur found" else "the estimate is too uncertain to use"
        st.markdown(
            f"The methods that estimate the blur share one estimate, made in {found.seconds:.1f} s. "
            f"They return the photo unchanged: {why}. {more}"
        )
        return found
    c_kernel, c_text = st.columns([1, 5], vertical_alignment="center")
    c_kernel.image(kernel_picture(found.kernel, 96), caption="Estimated kernel", width="content")
    c_text.markdown(
        f"The methods that estimate the blur share one estimate: **{found.size_text()}**, confidence "
        f"**{found.confidence_words()}** ({kernel_panel.source_text(found)}), found in {found.seconds:.1f} s. {more}"
    )
    return found


st.title("Compare methods")
current = services.get_current_input()
with services.friendly_errors("preparing the sample"):
    if current is None:
        current = example_input()
        st.caption("No picture chosen on the Deblur page yet, so this uses the worked example.")
if current is None:
    router.end_page()

c_img, c_set = st.columns([1, 2], gap="large")
with c_img:
    st.image(images.preview(current.blurred, 480).pixels, caption=f"Input: {current.description}", width="stretch")
    st.caption(
        "Ground truth known: PSNR and SSIM are measured."
        if current.truth is not None
        else "No ground truth: the no-reference sharpness score is shown instead of PSNR and SSIM."
    )

menu = services.get_menu(current.blurred.shape[:2])
with c_set:
    labels = [c.label for c in menu.choices]
    defaults = list(dict.fromkeys(c.label for c in menu.featured()))
    # wrap: in a column the chips would otherwise stay on one row and run out of sight.
    picked = st.multiselect("Methods", labels, default=defaults, key="compare_methods", wrap=True)
    choices = [menu.by_label(label) for label in picked]
    kernel, spec = current.kernel, current.kernel_spec
    if any(c.needs_kernel for c in choices):
        if kernel is None:
            st.markdown("**Your guess of the blur** for the methods that need it:")
            settings = widgets.kernel_controls("compare_kernel", KernelSettings(kind="gaussian", sigma=2.0))
            with services.friendly_errors("building the kernel"):
                kernel, spec = settings.kernel(), settings.spec()
        else:
            st.caption(f"The methods that need the kernel receive it: {spec}.")
    run = st.button("Run the comparison", type="primary", key="compare_run", disabled=not choices)

request = (current.key_parts, tuple(c.cache_id() for c in choices), spec)
if run:
    st.session_state["compare_request"] = request
if st.session_state.get("compare_request") != request:
    st.info("Pick the methods and press **Run the comparison**.")
    router.end_page()

found = estimated_kernel(current, choices)
rows, outputs = [], []
for choice in choices:
    with services.friendly_errors(f"running {choice.label}"):
        key_parts, estimate = current.key_parts, None
        if choice.needs_kernel and current.kernel is None:
            key_parts = (*current.key_parts, spec)
        if choice.kernel == "estimates" and found is not None:  # the one estimate, shared
            estimate = found
            key_parts = (*current.key_parts, services.estimate_key(_image_key(current), ESTIMATE_SETTINGS))
        res = services.restore_job(
            current.blurred,
            choice,
            kernel,
            current.truth,
            {},
            key_parts,
            estimate,
            # A kernel shaped with the sliders (here, or on the Deblur page) is a guess.
            kernel_approximate=current.kernel_approximate or current.kernel is None,
        )
        row = {"method": choice.label}
        if res.psnr_out is not None:
            row["PSNR (dB)"] = round(res.psnr_out, 2)
            row["SSIM"] = round(res.ssim_out, 3)
            row["PSNR gain (dB)"] = round(res.psnr_out - res.psnr_in, 2)
        else:
            row["sharpness"] = round(res.sharp_out, 3)
        row["seconds"] = round(res.seconds, 3)
        rows.append(row)
        outputs.append((choice, res))
if not rows:
    router.end_page()

table = pd.DataFrame(rows)
first = outputs[0][1]
has_psnr = "PSNR (dB)" in table.columns
st.subheader("Results")
if has_psnr:
    st.caption(
        f"Blurred input: PSNR {first.psnr_in:.2f} dB, SSIM {first.ssim_in:.3f}. "
        "Higher is better for both; seconds are the time each method took on this server."
    )
else:
    st.caption(f"Blurred input sharpness: {first.sharp_in:.3f}. Higher is sharper (noise and halos count too).")
st.dataframe(table, hide_index=True, key="compare_table")

value = "PSNR (dB)" if has_psnr else "sharpness"
baseline = first.psnr_in if has_psnr else first.sharp_in
# Bars of the gain over the blurred input: zero is the blurred input itself, a baseline with a meaning.
gains = table[value] - baseline
figure = go.Figure(
    go.Bar(x=table["method"], y=gains, marker_color=["#2563eb" if g >= 0 else "#dc2626" for g in gains], name=value)
)
figure.update_layout(
    yaxis_title="PSNR gain over the blurred input (dB)" if has_psnr else "sharpness gain over the blurred input",
    xaxis_title=None,
    margin={"l": 10, "r": 10, "t": 30, "b": 10},
    height=340,
)
figure.update_yaxes(zeroline=True, zerolinewidth=2, zerolinecolor="#64748b")
st.plotly_chart(figure, key="compare_chart", config={"displaylogo": False})
widgets.csv_download("Download the table (CSV)", table, "comparison.csv", "compare_csv")

st.subheader("Outputs")
tiles = [("Blurred input", current.blurred)] + [(c.label, r.output) for c, r in outputs]
if current.truth is not None:
    tiles.append(("Ground truth", current.truth))
notes = set()
for start in range(0, len(tiles), 3):
    cols = st.columns(3)
    for col, (caption, picture) in zip(cols, tiles[start : start + 3], strict=False):
        prev = images.preview(picture, 800)
        col.image(prev.pixels, caption=caption, width="stretch")
        if prev.note():
            notes.add("Pictures scaled to at most 800 px for this grid; the Deblur page downloads them at full size.")
for note in notes:
    st.caption(note)
