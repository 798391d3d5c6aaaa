"""Video: deblur a clip frame by frame, or with its neighbouring frames, and play the result beside the input."""

from __future__ import annotations

import dataclasses
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from deblur_core import settings
from deblur_core import video as vid
from deblur_core.metrics import format_psnr, format_ssim
from studio import images, router, services, video_text, widgets
from studio.methods import MethodChoice, video_menu
from studio.tasks import KernelSettings, digest
from studio.work_queue import Job

router.require_app()

UPLOAD_TYPES = ["mp4", "m4v", "mov", "avi", "webm", "mkv", "gif"]
SOURCES = ["Sample clip (a slow pan over a photo)", "Upload a video"]
BLURS = {
    "none": "None: my video is already blurry",
    "average": "Average neighbouring frames (real motion blur)",
    "kernel": "Blur every frame with a kernel",
}
JOB_KEY = "video_job"
DECODED_KEY = "video_decoded"
FRAME_PREVIEW_SIDE = 720


@dataclass
class VideoOutput:
    """What the background job hands back: the clips and metrics, plus both clips encoded for playing."""

    result: vid.VideoResult
    input_file: bytes
    output_file: bytes
    mime: str
    output_size: tuple[int, int]  # (height, width) of the encoded output


@dataclass
class RunInfo:
    """The job of this visitor, with what the progress text needs."""

    job: Job
    frames: int
    has_truth: bool
    method_label: str
    source_name: str
    started: float
    command: str = ""  # the same run from the command line, where it has one


def cli_command(
    file_name: str,
    choice: MethodChoice,
    degradation: vid.Degradation | None,
    kernel_spec: str | None,
    options: dict,
    approximate: bool = False,
) -> str:
    """The equivalent ``video`` command; empty where the command line has no such setting (frame averaging,
    noise, a method's options). ``approximate``: the kernel was shaped by hand, which the learned deconvolver is
    told."""
    if options or (degradation is not None and (degradation.kind != "kernel" or degradation.noise)):
        return ""  # the command line has no method options, no frame averaging, and blurs without noise
    stem = Path(file_name).stem or "video"
    method = "default" if choice.recommended else choice.method
    cmd = f"python -m deblur_core video {shlex.quote(file_name)} --out {shlex.quote(stem + '-deblurred.mp4')}"
    cmd += f" --method {shlex.quote(method)}"
    if degradation is not None:
        cmd += f" --blur {shlex.quote(degradation.kernel)}"
    elif choice.needs_kernel and kernel_spec:
        cmd += f" --kernel {shlex.quote(kernel_spec)}"
        if approximate and choice.method == "deconvolver":
            cmd += " --approximate-kernel"
    return cmd


# -- inputs ---------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=4)
def shared_sample(frames: int, height: int, width: int) -> vid.Video:
    # A pure pan: averaged frames are then blurred by one known motion kernel, so the classical
    # methods can be given the true blur.
    clip = vid.sample_clip(frames, (height, width), zoom=0.0)
    clip.pixels.setflags(write=False)  # shared by every visitor: nobody may change it in place
    return clip


def uploaded_video(trim: bool) -> tuple[vid.Video | None, str]:
    """The decoded upload (kept for the session) and its cache key; None when there is none or it failed."""
    upload = st.file_uploader(
        "A video",
        type=UPLOAD_TYPES,
        key="video_upload",
        help="Decoded from a private temporary file that is removed right after; the frames stay in memory.",
    )
    if upload is None:
        return None, ""
    wanted = (upload.file_id, trim)
    cached = st.session_state.get(DECODED_KEY)
    if cached is not None and cached[0] == wanted:
        return cached[1], cached[2]
    clip = None
    with services.friendly_errors(f"reading {upload.name}"):
        with st.spinner(f"Decoding {upload.name}…"):
            data = upload.getvalue()
            key = digest("video-upload", data, trim)
            clip = vid.read_video(data, name=upload.name, trim=trim)
            del data
        st.session_state[DECODED_KEY] = (wanted, clip, key)
        return clip, key
    return clip, ""


# -- the background job ---------------------------------------------------------------------------


def make_job(clip: vid.Video, method: str, kernel, degradation, registry, options: dict, approximate: bool = False):
    """The work, as a function the server's queue runs in its own thread (it never calls streamlit).
    ``approximate``: ``kernel`` was shaped by hand, a guess rather than the clip's blur known exactly."""

    def work(on_progress, cancel) -> VideoOutput:
        extra = 2  # the two encodings at the end

        def report(done: int, total: int, info: dict) -> None:
            on_progress(done, total + extra, info)

        result = vid.deblur_video(
            clip,
            method,
            kernel=kernel,
            degradation=degradation,
            kernel_approximate=approximate,
            registry=registry,
            on_progress=report,
            cancel=cancel,
            **options,
        )
        steps = len(result.blurred) * (3 if result.has_truth else 1)
        input_file, _ = vid.encode_video(result.blurred, "mp4", cancel)
        on_progress(steps + 1, steps + extra, {"stage": "encoding"})
        output_file, mime = vid.encode_video(result.restored, "mp4", cancel)
        on_progress(steps + 2, steps + extra, {"stage": "encoding"})
        size = vid.encoded_size(result.restored, "mp4" if mime == "video/mp4" else "webm")
        return VideoOutput(result, input_file, output_file, mime, size)

    return work


@st.fragment(run_every=0.5)
def progress_panel() -> None:
    """Polls the job; when it ends, reruns the whole page to draw the results."""
    run: RunInfo | None = st.session_state.get(JOB_KEY)
    if run is None:
        return
    job = run.job
    if job.done:
        st.rerun(scope="app")
    queue = services.get_queue()
    place = queue.place(job)
    if place:
        st.info(f"⏳ {services.waiting_text(place, queue.running, queue.estimate_wait(job))}")
    else:
        fraction = job.progress()  # read under the job's lock
        elapsed = time.monotonic() - run.started
        st.progress(
            min(1.0, fraction), text=video_text.progress_line(run.frames, run.has_truth, job.done_steps, elapsed)
        )
    if st.button("Cancel", key="video_cancel", icon=":material/stop_circle:"):
        job.cancel()
        st.toast("Stopping after the current frame…")


# -- results --------------------------------------------------------------------------------------


def psnr_figure(result: vid.VideoResult) -> go.Figure:
    """PSNR (dB) over the frame index, blurred input against the result."""
    frames = list(range(1, len(result.blurred) + 1))
    fig = go.Figure()
    fig.add_scatter(
        x=frames, y=result.blurred_scores["psnr"], name="blurred input", mode="lines+markers", line={"color": "#94a3b8"}
    )
    fig.add_scatter(
        x=frames,
        y=result.restored_scores["psnr"],
        name=f"restored ({result.method})",
        mode="lines+markers",
        line={"color": "#2563eb"},
    )
    fig.update_layout(
        height=320,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="frame",
        yaxis_title="PSNR (dB)",
        legend={"orientation": "h", "y": 1.12},
    )
    return fig


def metrics_frame(result: vid.VideoResult) -> pd.DataFrame:
    rows = result.rows()
    return pd.DataFrame(
        {
            "video": [r["video"] for r in rows],
            "frames": [r["frames"] for r in rows],
            "PSNR (dB)": [round(r["psnr"], 2) for r in rows],
            "SSIM": [round(r["ssim"], 3) for r in rows],
            "MSE": [round(r["mse"], 5) for r in rows],
        }
    )


@st.fragment
def frame_scrubber(result: vid.VideoResult) -> None:
    """One frame in detail: blurred, restored and (with ground truth) the sharp frame; reruns only itself."""
    n = len(result.restored)
    st.markdown("**One frame in detail**")
    index = st.slider("Frame", 1, n, (n + 1) // 2, key="video_frame", disabled=n == 1) - 1 if n > 1 else 0
    pictures = [("Input", result.blurred.frame(index)), ("Restored", result.restored.frame(index))]
    if result.truth is not None:
        pictures.append(("Sharp original", result.truth.frame(index)))
    cols = st.columns(len(pictures))
    notes = set()
    for col, (caption, rgb) in zip(cols, pictures, strict=True):
        shown = images.preview(rgb, FRAME_PREVIEW_SIDE)
        text = caption
        if result.has_truth and caption != "Sharp original":
            scores = result.blurred_scores if caption == "Input" else result.restored_scores
            text += f": PSNR {format_psnr(scores['psnr'][index])}, SSIM {format_ssim(scores['ssim'][index])}"
        col.image(shown.pixels, caption=f"{text} (frame {index + 1} of {n})", width="stretch")
        notes.add(shown.note())
    for note in filter(None, notes):
        st.caption(note)
    zoom = st.select_slider(
        "Zoom on the centre", options=[1, 2, 3, 4], value=2, format_func=lambda z: f"{z}×", key="video_zoom"
    )
    cols = st.columns(len(pictures))
    for col, (caption, rgb) in zip(cols, pictures, strict=True):
        col.image(images.zoom_crop(rgb, 0.5, 0.5, zoom, view=320), caption=f"{caption}, {zoom}×", width="stretch")


def show_clip_estimate(found, frames: int) -> None:
    """The one blur kernel estimated for the whole clip, or why none was used."""
    st.markdown("**The blur estimated for the clip**")
    picked = vid.clip_estimate_frames(frames)
    if found.fallback:
        st.caption(
            f"Estimated on {picked} frame{'s' if picked > 1 else ''} spread over the clip ({found.seconds:.1f} s): "
            f"{found.fallback_reason(past=True)}, so the frames were left as they are."
        )
        return
    widgets.show_kernel(found.kernel, f"confidence {found.confidence_words()}")
    st.caption(
        f"Estimated once for the whole clip, on {picked} frame{'s' if picked > 1 else ''} spread over it (the most "
        f"confident kept, {found.seconds:.1f} s), and every frame restored with it: one kernel, so the result does "
        "not flicker."
    )


def show_result(run: RunInfo, output: VideoOutput) -> None:
    result = output.result
    st.success(
        video_text.summary(
            len(result.restored), run.source_name, run.method_label, result.frames_per_step, result.seconds
        )
    )
    c_in, c_out = st.columns(2)
    with c_in:
        st.markdown("**Input**" + (f" ({result.degradation.describe()})" if result.degradation else ""))
        st.video(output.input_file, format="video/mp4")
    with c_out:
        st.markdown(f"**Restored** ({run.method_label})")
        st.video(output.output_file, format=output.mime)
    ext = "mp4" if output.mime == "video/mp4" else "webm"
    h, w = output.output_size
    st.download_button(
        f"Download the result ({ext.upper()}, {w} × {h}, {len(result.restored)} frames)",
        output.output_file,
        file_name=f"{Path(run.source_name).stem or 'video'}-deblurred.{ext}",
        mime=output.mime,
        key="video_download",
        on_click="ignore",
        type="primary",
        icon=":material/download:",
    )
    notes = ["Audio is dropped: the result has no sound track."]
    if (h, w) != result.restored.size:
        notes.append("H.264 needs even sides, so the odd side was padded by repeating its last row or column.")
    if result.source.trimmed_from:
        notes.append(f"Only the first {len(result.source)} frames were used.")
    st.caption(" ".join(notes))
    if run.command:
        st.caption("The same from the command line:")
        st.code(run.command, language="bash", wrap_lines=True)
    if result.kernel_estimate is not None:
        show_clip_estimate(result.kernel_estimate, len(result.blurred))

    if result.has_truth:
        st.subheader("Quality against the sharp frames")
        st.dataframe(metrics_frame(result), hide_index=True, key="video_metrics_table")
        st.caption(
            "Means over the frames. PSNR in dB (higher is closer to the sharp frames), SSIM up to 1, MSE in [0, 1] units."
        )
        st.plotly_chart(psnr_figure(result), key="video_psnr_chart", config={"displaylogo": False})
    else:
        st.caption("There is no sharp original to measure against; blur a sharp clip on purpose to see PSNR and SSIM.")
    frame_scrubber(result)


# -- the page -------------------------------------------------------------------------------------

st.title("Video")
st.caption(
    "Deblur a clip frame by frame with any method, or with a video model that also looks at each frame's "
    "neighbours. Blur a sharp clip on purpose to measure the gain frame by frame."
)
st.info(vid.limits_text(), icon=":material/movie:")

run: RunInfo | None = st.session_state.get(JOB_KEY)
running = run is not None and not run.job.done

source = st.radio("Video", SOURCES, horizontal=True, key="video_source")
clip: vid.Video | None = None
clip_key = ""
if source == SOURCES[0]:
    frames, size = settings.video_sample()
    with st.spinner("Making the sample clip…"):
        clip = shared_sample(frames, *size)
    clip_key = digest("video-sample", frames, size)
    st.caption(
        f"A sharp clip made from scikit-image's coffee photo: {clip.describe()}. "
        "Blur it below to have ground truth for PSNR and SSIM."
    )
else:
    trim = st.checkbox(
        f"Use only the first {vid.DEFAULT_MAX_FRAMES} frames of a longer video", value=True, key="video_trim"
    )
    clip, clip_key = uploaded_video(trim)
    if clip is not None:
        st.caption(f"{clip.name}: {clip.describe()}.")
        if clip.trimmed_from:
            st.caption(f"The video is longer; only its first {len(clip)} frames are used.")
        if clip.has_audio:
            st.caption("It has a sound track, which the result will not keep.")

if clip is not None:
    c_blur, c_method = st.columns(2, gap="large")
    with c_blur:
        blur_options = list(BLURS)
        default_blur = "average" if source == SOURCES[0] else "none"
        blur_kind = st.radio(
            "Blur on purpose",
            blur_options,
            index=blur_options.index(default_blur),
            format_func=BLURS.get,
            key="video_blur_sample" if source == SOURCES[0] else "video_blur_upload",
        )
        degradation = None
        blur_settings = None
        if blur_kind == "average":
            window = st.slider(
                "Frames averaged",
                3,
                15,
                7,
                2,
                key="video_window",
                help="Each blurred frame is the mean of this many consecutive sharp frames (as a long exposure); "
                "its middle frame is the ground truth. The clip gets this many frames minus one shorter.",
            )
            if window > len(clip):
                st.error(f"The clip has only {len(clip)} frames; average at most {len(clip) - (len(clip) + 1) % 2}.")
            else:
                degradation = vid.Degradation("average", window=window)
        elif blur_kind == "kernel":
            blur_settings = widgets.kernel_controls("video_kernel", KernelSettings(kind="motion", length=9, angle=0))
            noise = st.slider("Noise (grey levels of 255)", 0.0, 10.0, 1.0, 0.5, key="video_noise")
            degradation = vid.Degradation("kernel", blur_settings.spec(), noise=noise / 255.0, seed=0)
            with services.friendly_errors("building the kernel"):
                widgets.show_kernel(degradation.kernel_array(), blur_settings.describe())

    with c_method:
        registry = services.get_registry()
        choices, default_choice = video_menu(registry)
        labels = [c.label for c in choices]
        label = st.selectbox("Method", labels, index=labels.index(default_choice.label), key="video_method")
        choice = next(c for c in choices if c.label == label)
        st.caption(choice.description)
        options = widgets.option_controls("video", choice, "frames")
        kernel = None
        kernel_spec = None
        approximate = False  # the kernel is a guess shaped with the sliders, not the blur known exactly
        if choice.needs_kernel:
            if degradation is not None and degradation.kind == "kernel":
                st.caption("It uses the blur kernel chosen on the left (the known blur).")
            else:
                st.markdown("**The blur in the video** (this method needs it)")
                preset = KernelSettings(kind="motion", length=9, angle=0)
                known_key = "video_known"
                spec = vid.averaging_kernel_spec(clip, degradation.window) if degradation is not None else None
                if spec is not None:
                    length, angle = (float(v.split("=")[1]) for v in spec.split(":")[1].split(","))
                    preset = KernelSettings(kind="motion", length=max(3, round(length)), angle=round(angle) % 180)
                    known_key = f"video_known_w{degradation.window}"  # new defaults when the window changes
                    st.caption(
                        f"Preset to the sample clip's own motion: {degradation.window} frames of a pan at "
                        f"{clip.motion[0]:.1f} px per frame make a motion blur of about {length:.0f} px at {angle:.0f}°."
                    )
                known = widgets.kernel_controls(known_key, preset)
                with services.friendly_errors("building the kernel"):
                    kernel, kernel_spec = known.kernel(), known.spec()
                approximate = True
        else:
            st.caption("Trained models are blind: they work out the blur themselves.")

    ready = degradation is not None or blur_kind == "none"
    request_key = digest(
        "video-run",
        clip_key,
        dataclasses.astuple(degradation) if degradation else None,
        choice.cache_id(),
        kernel_spec,
        approximate,
        sorted(options.items()),
    )
    if st.button(
        "Deblur the video", type="primary", key="video_run", icon=":material/movie:", disabled=running or not ready
    ):
        with services.friendly_errors("starting the restoration"):
            services.load_model(choice)
            work = make_job(clip, choice.method, kernel, degradation, registry, options, approximate)
            job = services.get_queue().submit(request_key, work, f"video: {choice.label} on {clip.name}")
            n_out = len(clip) - (degradation.window - 1 if degradation and degradation.kind == "average" else 0)
            command = (
                ""
                if source == SOURCES[0]
                else cli_command(clip.name, choice, degradation, kernel_spec, options, approximate)
            )
            run = RunInfo(job, n_out, degradation is not None, choice.label, clip.name, time.monotonic(), command)
            st.session_state[JOB_KEY] = run
            running = not job.done

if run is not None:
    if running:
        progress_panel()
    elif run.job.done:
        with services.friendly_errors("restoring the video"):
            show_result(run, run.job.outcome())
