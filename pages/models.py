"""The model registry: every model with its card and a before/after sample; manage and import your own."""

from __future__ import annotations

import json

import streamlit as st

from deblur_core.learned.registry import check_model_name
from studio import jobs as ui
from studio import router
from studio.images import png_bytes
from studio.services import friendly_errors, get_queue, get_registry, run_job

router.require_app()

FLASH = "models_flash"
MAX_CARD_BYTES = 1024 * 1024

st.title("Models")
st.caption(
    "Every learned model Deblur Studio knows: the ones that ship with it (read-only) and yours, trained on "
    "the Train page or imported below. Each model has a card saying what it takes, what it was trained on "
    "and how well it did on held-out validation images."
)

flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash)

registry = get_registry()
entries = registry.list()
for problem in registry.problems:
    st.warning(f"A model in the folder was skipped because its files are not usable: {problem}")
try:
    default_name = registry.default_name()
except ValueError:
    default_name = None

if not entries:
    st.info(
        "No learned model is installed yet. Train one on the Train page, or import weights below; meanwhile the "
        "classical methods (Wiener, Richardson-Lucy) work on the Deblur page."
    )


def _sample(entry) -> None:
    """The model on a sample crop: shown when this server has run it already, else on request (it loads the model)."""
    key = f"models-sample|{entry.path}|{entry.path.stat().st_mtime_ns}"
    done, _ = get_queue().cached(key)
    if not done and not st.button(
        "Run it on a sample", key=f"models_sample_{entry.name}", icon=":material/play_arrow:"
    ):
        return
    with friendly_errors(f"running {entry.name} on the sample"):
        result = run_job(
            key,
            lambda on_progress, cancel: ui.run_sample(entry, registry, on_progress, cancel),
            f"Running {entry.name} on a sample",
        )
        st.markdown(f"**Sample** (a crop of scikit-image's cat photo with `{ui.SAMPLE_BLUR}` blur and light noise)")
        cols = st.columns(3)
        for col, picture, caption in zip(
            cols,
            (result.blurred, result.restored, result.sharp),
            (
                f"Blurred: {result.psnr_blurred:.2f} dB PSNR",
                f"{entry.name}: {result.psnr_restored:.2f} dB PSNR",
                "Sharp original",
            ),
            strict=True,
        ):
            col.image(png_bytes(picture), caption=caption, width=160)
        if entry.frames > 1:
            st.caption("A video model: here it sees the same frame three times, so this sample understates it.")
        if entry.takes_kernel:
            st.caption("This model takes a kernel: here it is handed the sample's true blur, as on *Blur it for me*.")


def _manage(entry) -> None:
    name = entry.name
    c1, c2 = st.columns([3, 2])
    with c1:
        new_name = st.text_input("New name", value=name, key=f"models_rename_{name}", max_chars=64)
        if st.button("Rename", key=f"models_rename_button_{name}"):
            with friendly_errors(f"renaming {name}"):
                if new_name.strip() == name:
                    raise ValueError("Type a different name first.")
                check_model_name(new_name.strip())
                registry.rename(name, new_name.strip())
                st.session_state[FLASH] = f"Renamed {name} to {new_name.strip()}."
                st.rerun()
    with c2:
        st.download_button(
            "Download (.zip)",
            data=lambda e=entry: ui.model_zip(e),
            file_name=f"{name}.zip",
            mime="application/zip",
            key=f"models_download_{name}",
            on_click="ignore",
            help="The model file and its card, to keep or to use with the command line.",
        )
        sure = st.checkbox("Yes, delete it", key=f"models_delete_sure_{name}")
        if st.button("Delete", key=f"models_delete_{name}", disabled=not sure):
            with friendly_errors(f"deleting {name}"):
                registry.delete(name)
                st.session_state[FLASH] = f"Deleted {name}."
                st.rerun()


for entry in entries:
    badge = "shipped" if entry.shipped else "yours"
    title = f"{entry.name} ({badge}" + (", the default" if entry.name == default_name else "") + ")"
    with st.expander(title, expanded=len(entries) <= 4):
        if entry.description:
            st.write(entry.description)
        st.table(
            {"": [label for label, _ in ui.card_rows(entry)], "model card": [text for _, text in ui.card_rows(entry)]},
            border="horizontal",
            hide_index=True,
            hide_header=True,
        )
        _sample(entry)
        if not entry.shipped:
            _manage(entry)


# -- import ------------------------------------------------------------------------------------

st.subheader("Import weights")
st.caption(
    "Bring a model trained elsewhere: its weights (`NAME.weights.h5`) and a card (`NAME.json`) that names one of "
    "Deblur Studio's architectures (`unet`, `dbsrcnn` or `autoencoder`) and its arguments "
    '(for example `{"architecture": "unet", "arch_args": {"base_filters": 16, "depth": 3}}`). The weights are '
    "checked by loading them into that architecture before anything is saved."
)
st.caption(
    "Full model files (.keras, or .h5 with the architecture inside) are never loaded from an upload, because "
    "loading one can run code written by whoever made the file."
)
weights = st.file_uploader("Weights (.weights.h5)", type=["h5"], key="models_import_weights")
card_file = st.file_uploader("Model card (.json)", type=["json"], key="models_import_card")
suggested = card_file.name.removesuffix(".json") if card_file is not None else ""
import_name = st.text_input("Name for the imported model", value=suggested, key="models_import_name", max_chars=64)
if st.button("Import", key="models_import_button", type="primary"):
    with friendly_errors("importing the weights"):
        if weights is None or card_file is None:
            raise ValueError("Choose both the weights file and its model card.")
        raw = card_file.getvalue()
        if len(raw) > MAX_CARD_BYTES:
            raise ValueError(f"{card_file.name} is larger than 1 MB; a model card is a short JSON file.")
        try:
            card = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{card_file.name} is not valid JSON ({exc}).") from None
        name = import_name.strip()
        check_model_name(name)
        with st.spinner("Checking the weights against the architecture…"):
            entry = registry.import_weights(name, weights.getvalue(), card)
        st.session_state[FLASH] = (
            f"Imported {entry.name} ({entry.architecture}); it is now on the Deblur page."
            if entry.suits_photos()
            else f"Imported {entry.name} ({entry.architecture}), a video model."
        )
        st.rerun()
