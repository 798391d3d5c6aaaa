"""About: what each method does, the model cards, what PSNR and SSIM mean, and what happens to uploads."""

from __future__ import annotations

import json

import streamlit as st

from deblur_core.restoration import TRAINED_MODEL, describe_model, methods
from studio import router, services

router.require_app()

st.title("About Deblur Studio")
st.markdown(
    "Deblur Studio restores blurry photos with classical deconvolution and small trained models, "
    "and measures how much each method helps. It runs entirely on this server and works without the internet."
)

st.markdown(
    "Teaching how blur works? The **Classroom** walks a class through it in eight short steps on one picture: "
    "blur as a convolution, its frequencies, noise, why dividing by the blur fails, Wiener, Richardson-Lucy, "
    "the learned methods, and a guessing game."
)
st.page_link("pages/classroom.py", label="Open the Classroom", icon=":material/school:")

st.header("The methods")
for method in methods():
    st.markdown(f"**{method.title}** (`{method.name}`). {method.text}")
    if method.references:
        st.caption(" ".join(f"[{i}] {ref}" for i, ref in enumerate(method.references, 1)))
st.markdown(
    f"**Trained models**. {TRAINED_MODEL.text} "
    "The models shipped here are small enough "
    "to run in a second on a laptop, and that has a price: when the blur is known exactly (as in *Blur it for "
    "me*), Wiener or Richardson-Lucy handed the true kernel usually restores more detail than they do. The "
    "project's BENCHMARKS.md has the measured numbers; the Compare page shows it on your own picture."
)

st.header("The models on this server")
registry = services.get_registry()
with services.friendly_errors("reading the model cards"):
    entries = registry.list()
    if not entries:
        st.info(
            "No trained model is installed yet, so the app uses Wiener deconvolution by default. "
            "Models appear here as soon as their files are in the models folder."
        )
    try:
        default_name = registry.default_name()
    except ValueError:
        default_name = None
    for entry in entries:
        card = entry.card
        title = f"{entry.name}" + (" (default)" if entry.name == default_name else "")
        with st.expander(title, expanded=entry.name == default_name):
            st.markdown(entry.description or "No description in its card.")
            facts = [
                f"Architecture: **{entry.architecture}**, {card.get('parameters', '?'):,} parameters"
                if isinstance(card.get("parameters"), int)
                else f"Architecture: **{entry.architecture}**",
                f"Takes {describe_model(entry)}",
                "Ships with the app" if entry.shipped else "Your own model",
            ]
            validation = card.get("validation")
            if isinstance(validation, dict) and "psnr" in validation:
                against = f"blurred input: {validation.get('blurred_psnr', '?')} dB"
                if "wiener_psnr" in validation:
                    against += f"; Wiener with the same kernel: {validation['wiener_psnr']} dB"
                ssim_text = f", SSIM {validation['ssim']}" if "ssim" in validation else ""
                facts.append(f"Validation: PSNR {validation['psnr']} dB{ssim_text} ({against})")
            for fact in facts:
                st.markdown(f"- {fact}")
            st.json(json.loads(json.dumps(card, default=str)), expanded=False)

st.header("PSNR and SSIM in plain words")
st.markdown(
    """
When we blur a sharp picture on purpose we still have the sharp original, the **ground truth**, so we
can measure how close the restored picture comes to it.

- **PSNR** (peak signal-to-noise ratio), in **decibels (dB)**, looks at how far each pixel is from the
  original, on average. Higher is better. +1 dB is a small but visible gain, +3 dB a clear one; identical
  pictures have an infinite PSNR. Because it only counts pixel errors, a slightly shifted but sharp
  picture can score worse than a blurry one.
- **SSIM** (structural similarity), from 0 to 1, compares local patterns of brightness, contrast and
  structure, closer to how we see. 1 means identical structure; 0.9 and above looks very similar.

For your own blurry photo there is no sharp original, so the app shows a **sharpness** score instead
(0 = flat, 1 = crisp). It measures how much the picture loses when blurred again; noise and halos raise
it too, so always look at the picture as well.
"""
)

st.header("Privacy")
st.markdown(
    """
- Pictures you upload stay **in the server's memory** for your session (and briefly in its result cache,
  so moving a slider does not redo the work). They are **never written to disk** and never sent anywhere.
- Closing the tab ends your session; the cache forgets old results as new ones arrive.
- Usage statistics are off, and nothing on these pages is loaded from the internet.
"""
)
