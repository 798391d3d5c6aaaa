"""What the Train and Models pages show: choices and presets, charts, previews, model cards in words.

Training itself runs in a separate process managed by :mod:`deblur_core.training.jobs`; this module turns its
files into charts and pictures, and a model card into rows a visitor can read. This module never
imports streamlit.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deblur_core.learned.registry import ModelEntry, Registry
from deblur_core.progress import CancelFn, ProgressFn
from deblur_core.restoration import describe_model
from deblur_core.training.jobs import Job
from deblur_core.training.progress_file import Progress
from deblur_core.training.samples import write_sample_images
from deblur_core.training.uploads import ZipReport

# -- choices -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizePreset:
    """One size of an architecture, as offered on the Train page."""

    label: str
    arch_args: dict
    note: str = ""


@dataclass(frozen=True)
class ArchChoice:
    """An architecture as offered for training, with its sizes."""

    name: str
    title: str
    summary: str
    sizes: tuple[SizePreset, ...]
    default_size: int = 1
    fixed_patch: int | None = None  # the architecture takes one input size only


ARCH_CHOICES: dict[str, ArchChoice] = {
    c.name: c
    for c in (
        ArchChoice(
            "unet",
            "U-Net (recommended)",
            "A residual encoder-decoder that predicts the correction to add to the photo. Any image size; "
            "fast on a CPU. The shipped default model is one of these.",
            (
                SizePreset(
                    "Small: 8 base filters, 2 levels", {"base_filters": 8, "depth": 2}, "quickest; a demo in minutes"
                ),
                SizePreset("Medium: 16 base filters, 3 levels", {"base_filters": 16, "depth": 3}),
                SizePreset(
                    "Large: 24 base filters, 3 levels", {"base_filters": 24, "depth": 3}, "the default model's size"
                ),
            ),
        ),
        ArchChoice(
            "dbsrcnn",
            "DBSRCNN (luminance)",
            "Five plain convolutions on the brightness (Y) channel, after Albluwi et al. (2018); colour is kept "
            "from the input. Trained here for deblurring at the same size.",
            (
                SizePreset("Small: 16 filters", {"channels": 1, "filters": 16, "scale": 1}),
                SizePreset("Medium: 32 filters (as published)", {"channels": 1, "filters": 32, "scale": 1}),
                SizePreset("Large: 64 filters", {"channels": 1, "filters": 64, "scale": 1}),
            ),
        ),
        ArchChoice(
            "autoencoder",
            "Convolutional autoencoder",
            "The classic encoder-decoder recipe with a fixed 128 × 128 input; larger photos are processed in "
            "128 × 128 tiles. Trains on 128 × 128 patches.",
            (
                SizePreset("Small: 16 latent channels", {"image_size": 128, "latent_channels": 16}),
                SizePreset("Medium: 32 latent channels", {"image_size": 128, "latent_channels": 32}),
                SizePreset("Large: 64 latent channels", {"image_size": 128, "latent_channels": 64}),
            ),
            default_size=1,
            fixed_patch=128,
        ),
    )
}

LOSS_INFO: dict[str, str] = {
    "charbonnier": "Charbonnier (smooth L1): robust, sharp results; the usual choice",
    "l1": "L1: mean absolute error",
    "mse": "MSE: mean squared error; maximises PSNR but tends to look soft",
    "structural": "Structural: L1 plus SSIM, favours local contrast",
    "edge": "Edge: Charbonnier plus an image-gradient term, favours crisp edges",
    "fft": "Frequency: Charbonnier plus a Fourier-amplitude term, favours fine detail",
}

FAMILIES: dict[str, str] = {
    "gaussian": "Gaussian (soft focus)",
    "defocus": "Defocus (out-of-focus disc)",
    "motion": "Motion (straight streak)",
    "shake": "Camera shake (random path)",
}

PATCH_SIZES = (32, 48, 64, 96, 128, 192, 256)
LEARNING_RATES = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3)


def arch_multiple(arch: str, arch_args: dict) -> int:
    """The number that the patch size must be a multiple of for this architecture."""
    if arch == "unet":
        return 2 ** int(arch_args.get("depth", 3))
    if arch == "autoencoder":
        return 8
    return 1


def parameter_count(arch: str, arch_args: dict) -> int:
    """How many weights a model of this architecture and size has (builds it once; no training)."""
    from deblur_core.learned.architectures import build

    return int(build(arch, **arch_args).count_params())


# -- training data -----------------------------------------------------------------------------


def prepare_samples(data_dir: Path) -> tuple[list[str], list[str]]:
    """Write scikit-image's sample photos into a job's data folder; returns (data, paired) folders."""
    write_sample_images(data_dir)
    return [str(data_dir)], []


def prepare_zip(data: bytes, report: ZipReport) -> Callable[[Path], tuple[list[str], list[str]]]:
    """A ``prepare`` callable for :func:`deblur_core.training.jobs.start_job` that unpacks a checked zip."""
    from deblur_core.training.uploads import extract_zip

    def prepare(data_dir: Path) -> tuple[list[str], list[str]]:
        root = extract_zip(data, data_dir, report)
        return ([], [str(root)]) if report.paired else ([str(root)], [])

    return prepare


# -- progress, charts and previews -------------------------------------------------------------


def weak_result(job: Job) -> str:
    """A warning when the saved model scores below its blurred input on the held-out photos, else ''."""
    import json

    from deblur_core.learned.cards import validation_gain

    try:
        card = json.loads(job.model_path.with_suffix(".json").read_text("utf-8"))
    except (OSError, ValueError):
        return ""
    gain = validation_gain(card) if isinstance(card, dict) else None
    if gain is None or gain > 0:
        return ""
    validation = card["validation"]
    return (
        f"**{job.name}** does not beat its blurred input yet: {float(validation['psnr']):.2f} dB on the held-out "
        f"photos against {float(validation['blurred_psnr']):.2f} dB for the blurred photos themselves, so it makes "
        "photos worse. It is offered on the Deblur page for comparison only, marked as such. More epochs, more "
        "photos or a larger size usually help."
    )


def progress_text(job: Job, progress: Progress) -> tuple[float, str]:
    """The training bar's share and its words: the running epoch, or, once over, the epochs done and why."""
    epochs = planned_epochs(job)
    done = len(progress.epochs)
    if job.active:
        minutes = job.info.get("config", {}).get("minutes")
        text = f"epoch {min(done + 1, epochs) or 1} of {epochs}" + (f" (or {minutes:g} min)" if minutes else "")
        return progress.fraction, f"{progress.fraction:.0%}: {text}"
    if job.status == "stopped":
        share = min(1.0, done / epochs) if epochs else 0.0
        return share, f"stopped after {done} of {epochs} epochs"
    if job.status == "finished" and done < epochs:
        return 1.0, f"finished after {done} of {epochs} epochs"
    return progress.fraction, f"{progress.fraction:.0%}: {done} of {epochs} epochs"


def planned_epochs(job: Job) -> int:
    return int(job.info.get("config", {}).get("epochs") or 0)


def _series(progress: Progress, key: str) -> tuple[list[int], list[float | None]]:
    xs, ys = [], []
    for row in progress.epochs:
        value = row.get(key)
        xs.append(int(row.get("epoch", len(xs) + 1)))
        ys.append(float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None)
    return xs, ys


def _figure(traces: list[tuple[str, list[int], list, str]], y_title: str, epochs: int):
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, xs, ys, dash in traces:
        fig.add_trace(go.Scatter(x=xs, y=ys, name=name, mode="lines+markers", line={"dash": dash}, connectgaps=True))
    fig.update_layout(
        height=260,
        margin={"l": 10, "r": 10, "t": 36, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        xaxis_title="epoch",
        yaxis_title=y_title,
        hovermode="x unified",
    )
    fig.update_xaxes(range=[0.5, max(epochs, len(traces[0][1]), 1) + 0.5], dtick=max(1, epochs // 10 or 1))
    return fig


def loss_figure(progress: Progress, epochs: int):
    """Training and validation loss per epoch."""
    return _figure(
        [
            ("training loss", *_series(progress, "loss"), "solid"),
            ("validation loss", *_series(progress, "val_loss"), "dot"),
        ],
        "loss (lower is better)",
        epochs,
    )


def psnr_figure(progress: Progress, epochs: int):
    """Validation PSNR of the model's output, and of the blurred input for reference."""
    return _figure(
        [
            ("model output", *_series(progress, "val_psnr"), "solid"),
            ("blurred input", *_series(progress, "val_blurred_psnr"), "dot"),
        ],
        "validation PSNR (dB)",
        epochs,
    )


def ssim_figure(progress: Progress, epochs: int):
    """Validation SSIM of the model's output."""
    return _figure([("model output", *_series(progress, "val_ssim"), "solid")], "validation SSIM (0-1)", epochs)


def split_strip(strip: np.ndarray, gap: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A preview strip (blurred | output | sharp, separated by ``gap`` white columns) cut in three."""
    width = (strip.shape[1] - 2 * gap) // 3
    if width < 1:
        raise ValueError("The preview image is too narrow to hold three panels.")
    return (
        strip[:, :width],
        strip[:, width + gap : 2 * width + gap],
        strip[:, 2 * width + 2 * gap : 3 * width + 2 * gap],
    )


def preview_panels(job: Job, epoch: int, progress: Progress) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The validation sample of ``epoch`` as (blurred, output, sharp) uint8 arrays, or None."""
    from deblur_core.image import to_uint8
    from deblur_core.io import ImageLoadError, read_rgb

    event = progress.previews.get(epoch)
    path = Path(event["path"]) if event and event.get("path") else job.previews_dir / f"epoch_{epoch:03d}.png"
    try:
        path.resolve().relative_to(job.folder.resolve())  # only the job's own files
        strip = read_rgb(path, min_side=1)
    except (ValueError, ImageLoadError, OSError):
        return None
    return tuple(to_uint8(p) for p in split_strip(strip))  # type: ignore[return-value]


def enlarge_small(pixels: np.ndarray, min_side: int = 192) -> np.ndarray:
    """Nearest-neighbour enlargement of a small preview so its pixels stay visible (display only)."""
    factor = max(1, math.ceil(min_side / max(1, min(pixels.shape[:2]))))
    return np.repeat(np.repeat(pixels, factor, axis=0), factor, axis=1) if factor > 1 else pixels


# -- model cards in words ----------------------------------------------------------------------


def _fmt_number(value, digits: int) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and math.isfinite(value) else "not recorded"


def _fmt_date(value) -> str:
    """An ISO timestamp as ``2026-05-01 14:03 UTC``; anything else as it is."""
    import datetime as dt

    try:
        stamp = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value) if value else "not recorded"
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC)
    return stamp.strftime("%Y-%m-%d %H:%M") + (" UTC" if stamp.tzinfo is not None else "")


def describe_training(card: dict) -> tuple[str, str, str, str]:
    """(data, degradations, loss, epochs) of a card's ``training`` record, as text."""
    training = card.get("training") or {}
    if not training:
        return ("not recorded",) * 4  # type: ignore[return-value]
    if training.get("train_pairs") is not None:
        data = f"{training['train_pairs']} blurred/sharp pairs (+ {training.get('val_pairs', 0)} for validation)"
    elif training.get("train_images") is not None:
        data = f"{training['train_images']} sharp images (+ {training.get('val_images', 0)} for validation)"
    else:
        folders = [Path(str(f)).name for f in (training.get("data") or []) + (training.get("paired") or [])]
        data = ", ".join(folders) or "not recorded"
    if training.get("paired"):
        degradations = "real blurred/sharp pairs"
    else:
        deg = training.get("degradations") or {}
        families = ", ".join(deg.get("families", {})) or "not recorded"
        if isinstance(deg.get("noise"), str):  # the learned deconvolver's card says it in words
            degradations = f"{families}; noise {deg['noise']}"
        else:
            noise = deg.get("noise_range") or [0, 0]
            degradations = f"{families}; noise σ up to {float(noise[-1]) * 255:.1f}/255"
        if deg.get("p_clean"):
            degradations += f"; {float(deg['p_clean']):.0%} left sharp"
        if deg.get("p_jpeg"):
            degradations += f"; {float(deg['p_jpeg']):.0%} JPEG-compressed"
        if training.get("sr_scale"):
            degradations += f"; bicubic down and up {training['sr_scale']}×"
    loss = str(training.get("loss", "not recorded"))
    run = training.get("epochs_run")
    planned = training.get("epochs")
    epochs = f"{run} of {planned}" if run is not None and planned else str(run or planned or "not recorded")
    if run is None and planned is None and training.get("steps"):  # trained in steps, not epochs
        epochs = f"{training['steps']:,} steps"
    if training.get("stopped_because"):
        epochs += f" ({training['stopped_because']})"
    return data, degradations, loss, epochs


def card_rows(entry: ModelEntry) -> list[tuple[str, str]]:
    """The model card as (label, text) rows for a table."""
    card = entry.card
    validation = card.get("validation") or {}
    data, degradations, loss, epochs = describe_training(card)
    args = ", ".join(f"{k}={v}" for k, v in (card.get("arch_args") or {}).items()) or "defaults"
    params = card.get("parameters")
    psnr = _fmt_number(validation.get("psnr"), 2)
    blurred = validation.get("blurred_psnr")
    psnr_text = f"{psnr} dB" if psnr != "not recorded" else psnr
    if isinstance(blurred, (int, float)) and math.isfinite(blurred):
        psnr_text += f" (blurred input: {blurred:.2f} dB)"
    rows = [
        ("Architecture", f"{card.get('architecture')} ({args})"),
        ("Parameters", f"{params:,}" if isinstance(params, int) else "not recorded"),
        ("Takes", describe_model(entry)),
        ("Training data", data),
        ("Degradations", degradations),
        ("Loss", loss),
        ("Epochs", epochs),
        ("Validation PSNR", psnr_text),
        ("Validation SSIM", _fmt_number(validation.get("ssim"), 3)),
        ("Date", _fmt_date(card.get("date") or card.get("imported"))),
        ("Kind", "shipped with Deblur Studio (read-only)" if entry.shipped else "yours (user model folder)"),
        ("File", entry.path.name),
    ]
    if validation.get("data"):
        rows.insert(9, ("Validated on", str(validation["data"])))
    return rows


def model_zip(entry: ModelEntry) -> bytes:
    """The model file and its card, zipped, for download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(entry.path, entry.path.name)
        zf.write(entry.card_path, entry.card_path.name)
    return buffer.getvalue()


@dataclass(frozen=True)
class SampleResult:
    """A model on a small blurred crop: the pictures (float32 RGB) and PSNR in dB."""

    blurred: np.ndarray
    restored: np.ndarray
    sharp: np.ndarray
    psnr_blurred: float
    psnr_restored: float


SAMPLE_BLUR = "motion:length=9,angle=30"


def sample_crop() -> np.ndarray:
    """A 128 × 128 crop of scikit-image's cat photo, float32 RGB."""
    from skimage import data

    cat = np.asarray(data.chelsea(), np.float32) / 255.0
    return np.ascontiguousarray(cat[60:188, 110:238])


def run_sample(
    entry: ModelEntry,
    registry: Registry,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> SampleResult:
    """Blur the sample crop with a fixed motion blur and light noise, restore it with ``entry``."""
    from deblur_core import degrade, kernels, metrics
    from deblur_core.restoration import restore_image

    sharp = sample_crop()
    kernel = kernels.parse_kernel_spec(SAMPLE_BLUR)
    blurred = degrade.quantize(degrade.add_noise(degrade.blur(sharp, kernel), 0.004, np.random.default_rng(0)))
    frames = int(entry.input.get("frames", 1))
    model_input = np.concatenate([blurred] * frames, axis=2) if frames > 1 else blurred
    # A model that takes a kernel (the learned deconvolver) is handed the sample's true blur.
    given = kernel if entry.takes_kernel else None
    restored = restore_image(
        model_input, entry.name, kernel=given, registry=registry, on_progress=on_progress, cancel=cancel
    )
    return SampleResult(blurred, restored, sharp, metrics.psnr(sharp, blurred), metrics.psnr(sharp, restored))
