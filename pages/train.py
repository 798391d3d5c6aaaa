"""Train a model in the browser: choose an architecture, data and settings; watch it learn; stop it any time.

Training runs as a separate, lower-priority process (the same ``python -m deblur_core train`` a user can
run), so it keeps going when this tab is closed or the page reruns; this page only reads its progress.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time

import streamlit as st

from deblur_core import settings
from deblur_core.learned.registry import check_model_name
from deblur_core.progress import format_duration
from deblur_core.training import jobs
from deblur_core.training.config import TrainConfig, degradations_from
from deblur_core.training.samples import SAMPLE_IMAGES
from deblur_core.training.uploads import UnsafeZipError, format_skipped, inspect_zip
from studio import jobs as ui
from studio import router
from studio.services import friendly_errors, get_registry

router.require_app()

STOP_GRACE_S = 45  # after this long in "stopping", offer to end the process at once

st.title("Train a model")
st.caption(
    "Teach a small network to remove blur from photos like yours. Sharp photos are blurred on the fly with "
    "random kernels and noise, and the network learns to undo it. A tenth of the photos is held out to "
    "measure progress. The best version so far is kept, so you can stop at any time."
)


# -- the current or last job -------------------------------------------------------------------


def _status_line(job: jobs.Job) -> None:
    started = job.started_text
    if job.status == "preparing":
        st.info(f"Preparing the training data for **{job.name}** (started {started})…")
    elif job.status == "running":
        st.info(f"Training **{job.name}**, started {started}. You can close this tab; training continues.")
    elif job.status == "stopping":
        st.warning(f"Stopping **{job.name}**: finishing the current step and saving the best version so far…")
    elif job.status == "finished":
        st.success(f"**{job.name}** is trained and saved. {job.message} It is now on the Deblur and Models pages.")
        _weak_warning(job)
    elif job.status == "stopped":
        if job.model_path.is_file():
            st.success(
                f"**{job.name}** was stopped; the best version so far is saved and is now on the Deblur and "
                f"Models pages. {job.message}"
            )
            _weak_warning(job)
        else:
            st.warning(
                f"**{job.name}** was stopped before its first epoch finished, so no model was saved. {job.message}"
            )
    else:
        st.error(f"Training **{job.name}** failed: {job.message}")


def _weak_warning(job: jobs.Job) -> None:
    warning = ui.weak_result(job)
    if warning:
        st.warning(warning, icon=":material/trending_down:")


def _show_progress(job: jobs.Job) -> None:
    progress = jobs.job_progress(job)
    epochs = ui.planned_epochs(job)
    done_epochs = len(progress.epochs)
    minutes = job.info.get("config", {}).get("minutes")
    share, text = ui.progress_text(job, progress)
    st.progress(share, text=text)

    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Epochs done", f"{done_epochs} / {epochs}")
    rate = progress.steps_per_s
    c2.metric("Steps per second", f"{rate:.2f}" if rate else "measuring…" if job.active else "–")
    eta = progress.eta_s if job.active else None
    if eta is not None and minutes:
        started = job.started
        if started is not None:
            elapsed = (dt.datetime.now(dt.UTC) - started).total_seconds()
            eta = min(eta, max(0.0, minutes * 60 - elapsed))
    c3.metric("Time left", format_duration(eta, unknown="unknown") if job.active else "–")
    scored = [e for e in progress.epochs if isinstance(e.get("val_psnr"), (int, float))]
    best = max(scored, key=lambda e: e["val_psnr"], default=None)
    baseline = best.get("val_blurred_psnr") if best else None
    c4.metric(
        "Best validation PSNR",
        f"{best['val_psnr']:.2f} dB" if best else "–",
        delta=f"{best['val_psnr'] - baseline:+.2f} dB vs. blurred"
        if best and isinstance(baseline, (int, float))
        else None,
        help="Measured on held-out photos, blurred the same way every epoch; the arrow compares with the blurred input.",
    )

    if not progress.epochs:
        if job.active:
            st.caption(
                "The charts and the validation picture appear when the first epoch finishes "
                "(starting up takes a few seconds)."
            )
        return
    charts = st.columns(3)
    with charts[0]:
        st.plotly_chart(ui.loss_figure(progress, epochs), key="train_chart_loss", config={"displayModeBar": False})
    with charts[1]:
        st.plotly_chart(ui.psnr_figure(progress, epochs), key="train_chart_psnr", config={"displayModeBar": False})
    with charts[2]:
        st.plotly_chart(ui.ssim_figure(progress, epochs), key="train_chart_ssim", config={"displayModeBar": False})

    latest = max(progress.previews) if progress.previews else None
    panels = ui.preview_panels(job, latest, progress) if latest else None
    if panels is not None:
        st.markdown(f"**Validation picture after epoch {latest}** (a held-out crop, enlarged without smoothing)")
        cols = st.columns(3)
        for col, picture, caption in zip(
            cols, panels, ("Blurred (input)", f"Model output, epoch {latest}", "Sharp (target)"), strict=True
        ):
            col.image(ui.enlarge_small(picture), caption=caption, width="content")
        if len(progress.previews) > 1:
            with st.expander("Earlier epochs"):
                for epoch in sorted(progress.previews, reverse=True)[1:12]:
                    earlier = ui.preview_panels(job, epoch, progress)
                    if earlier is not None:
                        st.image(
                            [ui.enlarge_small(p, 96) for p in earlier],
                            caption=[f"epoch {epoch}: blurred", "output", "sharp"],
                        )


def _controls(job: jobs.Job) -> None:
    if job.status == "running" and st.button("Stop training", key="train_stop", type="primary"):
        jobs.stop_job(job)
        st.rerun()
    if job.status == "stopping":
        since = job.stop_path.stat().st_mtime if job.stop_path.exists() else time.time()
        if time.time() - since > STOP_GRACE_S and st.button(
            "End it now", key="train_kill", help="Ends the training process at once; the best version so far stays."
        ):
            jobs.kill_job(job)
            st.rerun()


def _job_panel(job_id: str) -> None:
    job = jobs.load_job(settings.jobs_dir() / job_id)
    if job is None:
        return
    was_active = job.active
    job = jobs.refresh(job)
    _status_line(job)
    _controls(job)
    _show_progress(job)
    if was_active and not job.active:
        st.rerun()  # the job just ended: redraw the whole page (the form, the model lists)


@st.fragment(run_every=2)
def _live_panel(job_id: str) -> None:
    _job_panel(job_id)


current = jobs.latest_job()
if current is not None:
    st.subheader("Current training" if current.active else "Last training")
    if current.active:
        _live_panel(current.id)
    else:
        _job_panel(current.id)


# -- a new job ---------------------------------------------------------------------------------

st.subheader("New training")
if current is not None and current.active:
    st.caption(
        f"One training runs at a time on this server; **{current.name}** is running now. "
        "You can prepare the next one below."
    )

arch_names = list(ui.ARCH_CHOICES)
arch = st.selectbox(
    "Architecture",
    arch_names,
    format_func=lambda name: ui.ARCH_CHOICES[name].title,
    key="train_arch",
)
choice = ui.ARCH_CHOICES[arch]
st.caption(choice.summary)
size_labels = [s.label for s in choice.sizes]
size_label = st.radio("Size", size_labels, index=choice.default_size, key=f"train_size_{arch}", horizontal=True)
size = choice.sizes[size_labels.index(size_label)]


@st.cache_data(show_spinner=False, max_entries=32)
def _parameters(arch: str, args: tuple) -> int:
    return ui.parameter_count(arch, dict(args))


params = _parameters(arch, tuple(sorted(size.arch_args.items())))
st.caption(f"{params:,} parameters" + (f"; {size.note}" if size.note else "") + ".")

st.markdown("**Training data**")
source = st.radio(
    "Photos to learn from",
    ["samples", "zip"],
    format_func=lambda s: {
        "samples": f"Sample photos ({len(SAMPLE_IMAGES)} bundled with scikit-image)",
        "zip": "My photos (a zip file)",
    }[s],
    key="train_source",
    horizontal=True,
)
report = None
zip_bytes = b""
if source == "zip":
    st.caption(
        "A zip of **sharp** photos (PNG, JPEG, BMP, TIFF or WebP) is blurred on the fly. A zip with "
        "`sharp/` + `defocused_blurred/` + `motion_blurred/` (names ending `_S`, `_F`, `_M`) or with "
        "`good_frames/` + `bad_frames/` is used as real blurred/sharp pairs. The zip is checked in memory; "
        "when training starts its images are written to a private folder of the training job on this "
        "server (the training process reads them from disk) and deleted when the job ends."
    )
    upload = st.file_uploader("Zip of training photos", type=["zip"], key="train_zip")
    if upload is not None:
        zip_bytes = upload.getvalue()
        digest = hashlib.sha256(zip_bytes).hexdigest()
        cached = st.session_state.get("train_zip_report")
        if cached is not None and cached[0] == digest:
            report = cached[1]
        else:
            bar = st.progress(0.0, text="Checking the zip…")

            def _on_progress(done: int, total: int, info: dict) -> None:
                bar.progress(done / max(total, 1), text=f"Checking {info.get('member', '')} ({done} of {total})")

            try:
                report = inspect_zip(zip_bytes, on_progress=_on_progress)
                st.session_state["train_zip_report"] = (digest, report)
            except UnsafeZipError as exc:
                st.error(str(exc))
            finally:
                bar.empty()
        if report is not None:
            st.success(f"{upload.name}: {report.describe()}")
            if report.skipped:
                st.warning(f"Skipped: {format_skipped(report.skipped)}")

with st.expander("Degradations (how the sharp photos are blurred)", expanded=False):
    families = st.pills(
        "Blur types",
        list(ui.FAMILIES),
        selection_mode="multi",
        default=list(ui.FAMILIES),
        format_func=lambda f: ui.FAMILIES[f],
        key="train_families",
    )
    noise_levels = st.slider(
        "Noise up to (σ in 8-bit levels)",
        0.0,
        15.0,
        5.0,
        0.5,
        key="train_noise",
        help="Each sample gets Gaussian noise with σ drawn between 0 and this value (out of 255).",
    )
    p_clean = st.slider(
        "Share left sharp (%)", 0, 50, 8, key="train_p_clean", help="Teaches the model to leave sharp photos alone."
    )
    jpeg_prob = st.slider("Share JPEG-compressed (%)", 0, 100, 0, key="train_jpeg")
    if report is not None and report.paired:
        st.caption("Your zip holds real blurred/sharp pairs, so these settings are not used.")

with st.expander("Training settings", expanded=False):
    loss = st.selectbox("Loss", list(ui.LOSS_INFO), format_func=lambda k: ui.LOSS_INFO[k], key="train_loss")
    multiple = ui.arch_multiple(arch, size.arch_args)
    if choice.fixed_patch:
        patch = choice.fixed_patch
        st.caption(f"Patch size: {patch} × {patch} px (this architecture's fixed input).")
    else:
        options = [p for p in ui.PATCH_SIZES if p % multiple == 0]
        patch = st.select_slider(
            "Patch size (px)", options, value=64 if 64 in options else options[0], key="train_patch"
        )
    batch = st.slider("Batch size (patches per step)", 1, 32, 8, key="train_batch")
    lr = st.select_slider(
        "Learning rate", list(ui.LEARNING_RATES), value=1e-3, format_func=lambda v: f"{v:g}", key="train_lr"
    )
    c1, c2, c3 = st.columns(3)
    epochs = c1.number_input("Epochs", 1, 1000, 10, key="train_epochs")
    steps = c2.number_input("Steps per epoch", 1, 5000, 50, key="train_steps")
    minutes = c3.number_input(
        "Time budget (min, 0 = none)", 0.0, 24 * 60.0, 0.0, 1.0, key="train_minutes", help="Stops after this long."
    )
    seed = st.number_input("Random seed", 0, 2**31 - 1, 0, key="train_seed")

# The suggested name is fixed once per visit, so a name the visitor typed is never reset by a rerun.
st.session_state.setdefault("train_name", f"my-model-{dt.datetime.now():%Y%m%d-%H%M}")
name = st.text_input(
    "Model name",
    max_chars=64,
    key="train_name",
    help="Letters, digits, '-', '_' and '.'; the model is saved under this name in your model folder.",
)
description = st.text_input("Description (optional)", key="train_description", max_chars=300)
st.caption(f"The model will be saved in {settings.user_models_dir()} as {name}.keras with its card {name}.json.")

if st.button("Start training", key="train_start", type="primary"):
    with friendly_errors("starting the training"):
        check_model_name(name.strip())
        if not families:
            raise ValueError("Choose at least one blur type under Degradations.")
        if source == "zip" and report is None:
            raise ValueError("Upload a zip of training photos first, or choose the sample photos.")
        config = TrainConfig(
            arch=arch,
            arch_args=dict(size.arch_args),
            loss=loss,
            patch_size=int(patch),
            batch_size=int(batch),
            learning_rate=float(lr),
            epochs=int(epochs),
            steps_per_epoch=int(steps),
            minutes=float(minutes) or None,
            degradations=degradations_from(
                list(families),
                noise_max=float(noise_levels) / 255.0,
                p_clean=float(p_clean) / 100.0,
                jpeg_prob=float(jpeg_prob) / 100.0,
            ),
            seed=int(seed),
            description=description.strip(),
        )
        prepare = ui.prepare_samples if source == "samples" else ui.prepare_zip(zip_bytes, report)
        try:
            with st.spinner("Starting the training process…"):
                started = jobs.start_job(name.strip(), config, prepare, models_dir=get_registry().user_dir)
        except jobs.JobRunningError as exc:
            st.info(
                f"A training is already running: **{exc.job.name}**, started {exc.job.started_text}. "
                "Please wait until it finishes, or stop it above, then start yours."
            )
        else:
            st.toast(f"Training {started.name} started.")
            st.rerun()


with st.expander("Earlier training jobs"):
    history = jobs.list_jobs()
    if not history:
        st.caption("None yet.")
    else:
        st.dataframe(
            [
                {
                    "model": j.name,
                    "started": j.started_text,
                    "status": j.status,
                    "note": j.message,
                }
                for j in history
            ],
            hide_index=True,
            key="train_history",
        )
