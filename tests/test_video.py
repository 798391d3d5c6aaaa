"""deblur_core.video: reading and writing clips, frame stacks, synthetic blur, metrics and the video command."""

from __future__ import annotations

import argparse
import io
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from deblur_core import metrics
from deblur_core import video as V
from deblur_core.cli import video as video_command
from deblur_core.degrade import blur
from deblur_core.kernels import gaussian_kernel, motion_kernel, parse_kernel_spec
from deblur_core.progress import Cancelled
from deblur_core.video import container


@pytest.fixture(scope="module")
def clip() -> V.Video:
    return V.sample_clip(10, (48, 64), seed=1)


@pytest.fixture(scope="module")
def clip_mp4(clip) -> bytes:
    data, mime = V.encode_video(clip, "mp4")
    assert mime == "video/mp4"
    return data


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """Point the temporary folder at an empty directory, so leftovers can be seen."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _mean_psnr(a: V.Video, b: V.Video) -> float:
    return float(np.mean([metrics.psnr(a.frame(i), b.frame(i)) for i in range(len(a))]))


def _ffmpeg(*args: str, cwd: Path) -> None:
    exe = V.ffmpeg_exe()
    if exe is None:
        pytest.skip("the bundled ffmpeg is missing")
    subprocess.run([exe, "-hide_banner", "-v", "error", "-nostdin", "-y", *args], cwd=cwd, check=True, timeout=60)


# -- the clip ------------------------------------------------------------------------------------


def test_sample_clip_is_reproducible_and_moves():
    a = V.sample_clip(6, (40, 56), seed=3)
    b = V.sample_clip(6, (40, 56), seed=3)
    c = V.sample_clip(6, (40, 56), seed=4)
    assert len(a) == 6 and a.size == (40, 56) and a.fps == 24
    assert np.array_equal(a.pixels, b.pixels)
    assert not np.array_equal(a.pixels, c.pixels)
    # The camera moves: the last frame differs clearly from the first, neighbours only a little.
    step = np.abs(a.as_float()[1] - a.as_float()[0]).mean()
    span = np.abs(a.as_float()[-1] - a.as_float()[0]).mean()
    assert 0 < step < span


def test_video_from_float_frames_rounds_to_8_bits_and_checks_shapes():
    frames = np.full((3, 8, 10, 3), 0.5, np.float32)
    v = V.Video.from_frames(frames, 10, "x")
    assert v.pixels.dtype == np.uint8 and v.pixels.shape == (3, 8, 10, 3)
    assert v.frame(0).dtype == np.float32 and abs(float(v.frame(0).max()) - 128 / 255) < 1e-6
    assert v.duration == pytest.approx(0.3)
    with pytest.raises(ValueError, match="frame 2"):
        V.Video.from_frames([frames[0], frames[0][:4]], 10)
    with pytest.raises(ValueError, match="no frames"):
        V.Video.from_frames([], 10)
    with pytest.raises(ValueError, match="frame rate"):
        V.Video.from_frames(frames, 0)


# -- reading and writing ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mp4", "webm"])
def test_round_trip_keeps_frames_size_and_rate(tmp_path, clip, fmt):
    source = V.Video(clip.pixels, 12.5, "clip")
    path = V.write_video(source, tmp_path / f"out.{fmt}")
    back = V.read_video(path)
    assert len(back) == len(source)
    assert back.size == source.size
    assert back.fps == pytest.approx(12.5, abs=0.01)
    assert back.name == f"out.{fmt}" and not back.has_audio
    assert _mean_psnr(source, back) > 30  # lossy, but close to the frames written


def test_a_file_object_is_read_like_bytes(clip_mp4, clip):
    v = V.read_video(io.BytesIO(clip_mp4), name="upload.mp4")
    assert len(v) == len(clip) and v.name == "upload.mp4"


def test_ntsc_rate_survives_a_round_trip(clip):
    data, _ = V.encode_video(V.Video(clip.pixels[:4], 30000 / 1001), "mp4")
    back = V.read_video(data, name="ntsc.mp4")
    assert back.fps == pytest.approx(29.97, abs=0.01) and len(back) == 4


def test_odd_sizes_pad_by_one_pixel_in_mp4_and_stay_exact_in_webm(clip):
    odd = V.Video(np.ascontiguousarray(clip.pixels[:4, :33, :47]), 10)
    assert V.encoded_size(odd, "mp4") == (34, 48)
    mp4 = V.read_video(V.encode_video(odd, "mp4")[0], name="odd.mp4")
    assert mp4.size == (34, 48) and len(mp4) == 4
    webm = V.read_video(V.encode_video(odd, "webm")[0], name="odd.webm")
    assert webm.size == (33, 47) and len(webm) == 4


@pytest.mark.parametrize(
    ("name", "codec"),
    [("clip.avi", ["-c:v", "mjpeg", "-q:v", "3"]), ("clip.mov", ["-c:v", "libx264"]), ("clip.gif", [])],
)
def test_common_containers_are_read(tmp_path, clip, name, codec):
    raw = tmp_path / "frames.rgb"
    raw.write_bytes(clip.pixels.tobytes())
    _ffmpeg(
        *["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x48", "-r", "10", "-i", raw.name, *codec, name], cwd=tmp_path
    )
    v = V.read_video(tmp_path / name)
    assert len(v) == len(clip) and v.size == clip.size
    assert v.fps == pytest.approx(10, abs=0.01)
    assert _mean_psnr(clip, v) > 18  # GIF has only 256 colours


def test_rotation_metadata_is_applied(tmp_path, clip):
    upright = V.write_video(clip, tmp_path / "upright.mp4")
    _ffmpeg("-display_rotation", "90", "-i", upright.name, "-c", "copy", "turned.mp4", cwd=tmp_path)
    turned = V.read_video(tmp_path / "turned.mp4")
    assert turned.size == (clip.width, clip.height) and len(turned) == len(clip)
    # A quarter turn anticlockwise: the first row of the frame becomes its first column, bottom up.
    expected = np.rot90(V.read_video(upright).frame(0), 1)
    assert metrics.psnr(expected, turned.frame(0)) > 40


def test_audio_is_noticed(tmp_path):
    _ffmpeg(
        *["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-f", "lavfi", "-i", "sine=frequency=440"],
        *["-frames:v", "5", "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "a.mp4"],
        cwd=tmp_path,
    )
    v = V.read_video(tmp_path / "a.mp4")
    assert v.has_audio and len(v) == 5
    data, _ = V.encode_video(v)
    assert not V.read_video(data, name="out.mp4").has_audio  # the result has no sound track


def test_bad_inputs_are_refused_with_a_sentence(tmp_path, clip_mp4):
    with pytest.raises(V.VideoLoadError, match=r"^notes\.mp4: is not a video"):
        V.read_video(b"these are my holiday notes\n" * 20, name="notes.mp4")
    with pytest.raises(V.VideoLoadError, match=r"^empty\.mp4: the file is empty \(0 bytes\)\.$"):
        V.read_video(b"", name="empty.mp4")
    (tmp_path / "empty.webm").write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        V.read_video(tmp_path / "empty.webm")
    with pytest.raises(ValueError, match="does not exist"):
        V.read_video(tmp_path / "missing.mp4")
    with pytest.raises(ValueError, match=r"has about 10 frames, more than the limit of 4\."):
        V.read_video(clip_mp4, name="long.mp4", max_frames=4)
    with pytest.raises(ValueError, match=r"damaged or incomplete"):
        V.read_video(clip_mp4[: len(clip_mp4) * 2 // 3], name="cut.mp4")
    with pytest.raises(ValueError, match=r"damaged|not a video"):
        V.read_video(clip_mp4[:1000], name="cut2.mp4")
    with pytest.raises(ValueError, match=r"larger than the limit of 32 x 32"):
        V.read_video(clip_mp4, name="big.mp4", max_size=(32, 32))
    with pytest.raises(ValueError, match=r"more than the limit of 0 MB"):
        V.read_video(clip_mp4, name="heavy.mp4", max_bytes=1000)
    with pytest.raises(ValueError, match=r"too long for its size"):
        V.read_video(clip_mp4, name="many.mp4", max_total_pixels=48 * 64 * 5)


def test_a_still_image_is_not_a_video():
    from deblur_core.io import encode_image

    png = encode_image(np.full((20, 20, 3), 0.5, np.float32), format="png")
    with pytest.raises(ValueError, match="still image, not a video"):
        V.read_video(png, name="photo.mp4")


def test_trim_keeps_the_first_frames(clip, clip_mp4):
    v = V.read_video(clip_mp4, name="long.mp4", max_frames=4, trim=True)
    assert len(v) == 4 and v.trimmed_from == 10
    assert _mean_psnr(V.Video(clip.pixels[:4], clip.fps), v) > 30


def test_temporary_files_are_removed_on_success_and_on_error(private_tmp, clip, clip_mp4):
    assert V.read_video(clip_mp4, name="ok.mp4")
    V.encode_video(clip, "mp4")
    for bad in (clip_mp4[: len(clip_mp4) // 2], b"not a video at all", clip_mp4):
        with pytest.raises(ValueError):
            V.read_video(bad, name="bad.mp4", max_frames=3)
    assert list(private_tmp.iterdir()) == []


def test_opencv_is_the_fallback_without_ffmpeg(monkeypatch, clip, clip_mp4):
    monkeypatch.setattr(container, "ffmpeg_exe", lambda: None)
    v = V.read_video(clip_mp4, name="clip.mp4")
    assert len(v) == len(clip) and v.size == clip.size and v.fps == pytest.approx(clip.fps)
    data, mime = V.encode_video(v, "mp4")
    assert mime == "video/webm" and data[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM file


def test_output_must_be_mp4_or_webm(tmp_path, clip):
    with pytest.raises(ValueError, match=r"\.mp4 or \.webm"):
        V.write_video(clip, tmp_path / "out.avi")
    assert not (tmp_path / "out.avi").exists()


# -- frame stacks and restoration -------------------------------------------------------------------


def _numbered(n: int) -> V.Video:
    """Frame i is a flat grey of level 10 * i, so a frame can be recognised in a stack."""
    pixels = np.stack([np.full((8, 8, 3), 10 * i, np.uint8) for i in range(n)])
    return V.Video(pixels, 10)


def _levels(stack: np.ndarray) -> list[int]:
    return [round(float(stack[0, 0, c]) * 255 / 10) for c in range(0, stack.shape[2], 3)]


def test_neighbour_stack_order_and_edges():
    v = _numbered(5)
    assert _levels(V.neighbour_stack(v, 2)) == [1, 2, 3]
    assert _levels(V.neighbour_stack(v, 0)) == [0, 0, 1]  # the first frame repeats
    assert _levels(V.neighbour_stack(v, 4)) == [3, 4, 4]  # the last frame repeats
    assert _levels(V.neighbour_stack(v, 1, count=5)) == [0, 0, 1, 2, 3]
    assert V.neighbour_stack(v, 2).shape == (8, 8, 9) and V.neighbour_stack(v, 2).dtype == np.float32
    assert _levels(V.neighbour_stack(_numbered(1), 0)) == [0, 0, 0]
    with pytest.raises(ValueError, match="odd"):
        V.neighbour_stack(v, 0, count=2)
    with pytest.raises(ValueError, match="outside"):
        V.neighbour_stack(v, 5)


def test_classical_restoration_goes_frame_by_frame_with_progress_and_cancel(clip):
    kernel = motion_kernel(7, 0)
    blurred = V.blur_video(clip, kernel)
    calls = []
    out = V.restore_video(
        blurred, "wiener", kernel=kernel, on_progress=lambda d, t, i: calls.append((d, t, i["frame"]))
    )
    assert len(out) == len(clip) and out.size == clip.size and out.fps == clip.fps
    assert calls == [(i, len(clip), i) for i in range(1, len(clip) + 1)]
    assert _mean_psnr(clip, out) > _mean_psnr(clip, blurred) + 1.0
    with pytest.raises(Cancelled):
        V.restore_video(blurred, "wiener", kernel=kernel, cancel=lambda: True)


@pytest.fixture(scope="module")
def video_registry(tmp_path_factory):
    """A registry with a 3-frame model that returns the previous frame, and a 1-frame U-Net."""
    import keras

    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import Registry, save_model

    folder = tmp_path_factory.mktemp("models")
    inputs = keras.Input((None, None, 9))
    pick = keras.layers.Conv2D(3, 1, use_bias=False, name="pick_previous")
    model = keras.Model(inputs, pick(inputs))
    w = np.zeros((1, 1, 9, 3), np.float32)
    for c in range(3):
        w[0, 0, c, c] = 1.0  # channels 0-2 are the previous frame
    pick.set_weights([w])
    card = {"architecture": "unet", "arch_args": {"frames": 3, "base_filters": 4, "depth": 2}}
    save_model(model, folder / "previous3.keras", card)
    still = build("unet", frames=1, base_filters=4, depth=2)
    save_model(still, folder / "still1.keras", {"architecture": "unet", "arch_args": {"base_filters": 4, "depth": 2}})
    return Registry(folder, tmp_path_factory.mktemp("user"))


def test_a_three_frame_model_sees_previous_current_and_next(video_registry):
    v = _numbered(5)
    assert V.model_frames("previous3", video_registry) == 3
    out = V.restore_video(v, "previous3", registry=video_registry)
    assert [int(out.pixels[i, 0, 0, 0]) for i in range(5)] == [0, 0, 10, 20, 30]


def test_method_labels_name_the_model(video_registry, tmp_path):
    from deblur_core.learned.registry import Registry

    assert V.method_label("wiener") == "wiener"
    assert V.method_label("some/where/my-model.keras") == "my-model"
    assert V.method_label("default", video_registry) == "default"  # no default model installed there
    card = video_registry.get("still1").card_path
    recommended = tmp_path / "shipped"
    recommended.mkdir()
    (recommended / "best.keras").write_bytes(video_registry.get("still1").path.read_bytes())
    (recommended / "best.json").write_text(
        card.read_text().replace('"name": "still1"', '"name": "best", "recommended": true')
    )
    assert V.method_label("default", Registry(recommended, tmp_path / "user")) == "best"


def test_a_still_model_goes_frame_by_frame(video_registry, clip):
    assert V.model_frames("still1", video_registry) == 1
    out = V.restore_video(clip, "still1", registry=video_registry)
    # An untrained residual U-Net starts as the identity (its last layer is zero).
    assert np.abs(out.pixels.astype(int) - clip.pixels).max() <= 1


# -- synthetic blur ---------------------------------------------------------------------------------


def test_frame_averaging_blur_and_its_ground_truth():
    v = _numbered(7)
    blurred, truth = V.average_frames(v, window=3)
    assert len(blurred) == len(truth) == 5 and blurred.fps == v.fps
    assert [int(blurred.pixels[i, 0, 0, 0]) for i in range(5)] == [10, 20, 30, 40, 50]
    assert [int(truth.pixels[i, 0, 0, 0]) for i in range(5)] == [10, 20, 30, 40, 50]
    gopro, sharp = V.average_frames(v, window=3, stride=3)
    assert len(gopro) == 2 and gopro.fps == pytest.approx(10 / 3)
    assert [int(sharp.pixels[i, 0, 0, 0]) for i in range(2)] == [10, 40]
    with pytest.raises(ValueError, match="odd number"):
        V.average_frames(v, window=4)
    with pytest.raises(ValueError, match="at least 9 frames"):
        V.average_frames(v, window=9)


def test_frame_averaging_blurs_a_moving_clip(clip):
    blurred, truth = V.average_frames(clip, window=5)
    assert np.array_equal(truth.pixels, clip.pixels[2:-2])
    exact = clip.as_float()[:5].mean(axis=0)
    assert np.abs(blurred.frame(0) - exact).max() <= 0.5 / 255 + 1e-6
    assert metrics.sharpness(blurred.frame(2)) < metrics.sharpness(truth.frame(2))


def test_averaging_a_pure_pan_is_its_motion_kernel():
    pan = V.sample_clip(12, (64, 96), seed=2, zoom=0.0)
    blurred, truth = V.average_frames(pan, window=7)
    spec = V.averaging_kernel_spec(pan, 7)
    assert spec.startswith("motion:length=")
    kernel = parse_kernel_spec(spec)
    middle = len(blurred) // 2
    model = blur(truth.frame(middle), kernel)
    # The averaged frame is the sharp frame blurred by the kernel (borders aside) ...
    inner = (slice(12, -12), slice(12, -12))
    explained = metrics.psnr(model[inner], blurred.frame(middle)[inner])
    assert explained > 30 and explained > metrics.psnr(truth.frame(middle)[inner], blurred.frame(middle)[inner]) + 10
    # ... and not by the kernel at the mirrored angle.
    length, angle = (float(p.split("=")[1]) for p in spec.split(":")[1].split(","))
    mirrored = blur(truth.frame(middle), motion_kernel(length, 180 - angle))
    assert metrics.psnr(mirrored[inner], blurred.frame(middle)[inner]) < explained - 5
    assert V.averaging_kernel_spec(V.Video(pan.pixels, 24), 7) is None  # an ordinary clip: unknown


def test_kernel_blur_per_frame_is_seeded(clip):
    kernel = parse_kernel_spec("gaussian:sigma=1.5")
    plain = V.blur_video(clip, kernel)
    assert np.abs(plain.frame(3) - blur(clip.frame(3), kernel)).max() <= 0.5 / 255 + 1e-6
    noisy_a = V.blur_video(clip, kernel, 0.02, np.random.default_rng(5))
    noisy_b = V.blur_video(clip, kernel, 0.02, np.random.default_rng(5))
    assert np.array_equal(noisy_a.pixels, noisy_b.pixels) and not np.array_equal(noisy_a.pixels, plain.pixels)
    deg = V.Degradation("kernel", "gaussian:sigma=1.5", noise=0.02, seed=5)
    blurred, truth = deg.apply(clip)
    assert np.array_equal(blurred.pixels, noisy_a.pixels) and truth is clip
    with pytest.raises(ValueError, match="'kernel' or 'average'"):
        V.Degradation("zoom")


# -- metrics ----------------------------------------------------------------------------------------


def test_per_frame_metrics_equal_the_image_metrics(clip):
    blurred = V.blur_video(clip, motion_kernel(9, 30))
    scores = V.frame_metrics(clip, blurred)
    for i in range(len(clip)):
        assert scores["psnr"][i] == metrics.psnr(clip.frame(i), blurred.frame(i))
        assert scores["ssim"][i] == metrics.ssim(clip.frame(i), blurred.frame(i))
        assert scores["mse"][i] == metrics.mse(clip.frame(i), blurred.frame(i))
    row = V.summary_row("blurred", scores)
    assert row["frames"] == len(clip) and row["psnr"] == pytest.approx(np.mean(scores["psnr"]))
    table = V.metrics_table([row])
    assert "| video | frames | PSNR (dB) | SSIM | MSE |" in table and f"| blurred | {len(clip)} |" in table
    with pytest.raises(ValueError, match="differ"):
        V.frame_metrics(clip, V.Video(clip.pixels[:3], clip.fps))


def test_deblur_video_measures_blurred_and_restored(clip):
    steps = []
    result = V.deblur_video(
        clip,
        "wiener",
        degradation=V.Degradation("kernel", "motion:length=7,angle=0"),
        on_progress=lambda d, t, i: steps.append((d, t, i["stage"])),
    )
    n = len(clip)
    assert result.has_truth and result.truth is clip
    rows = result.rows()
    assert [r["video"] for r in rows] == ["blurred input", "restored (wiener)"]
    assert rows[1]["psnr"] > rows[0]["psnr"]
    assert steps[-1] == (3 * n, 3 * n, "measuring") and [s[0] for s in steps] == sorted(s[0] for s in steps)
    with pytest.raises(ValueError, match="needs the blur kernel"):
        V.deblur_video(clip, "wiener", degradation=V.Degradation("average", window=3))
    plain = V.deblur_video(clip, "wiener", kernel=motion_kernel(3, 0))
    assert not plain.has_truth and plain.rows() == []


# -- the command line -------------------------------------------------------------------------------


def _args(**kw) -> argparse.Namespace:
    base = {"method": "default", "kernel": None, "blur": None, "max_frames": None}
    return argparse.Namespace(**{**base, **kw})


def test_video_command_blurs_restores_and_reports(tmp_path, clip, capsys):
    source = V.write_video(clip, tmp_path / "in.mp4")
    out = tmp_path / "sharp.webm"
    code = video_command.run_cli(
        _args(input=str(source), out=str(out), method="wiener", blur="motion:length=7,angle=0")
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "| blurred input | 10 |" in captured.out and "| restored (wiener) | 10 |" in captured.out
    assert "no audio" in captured.out and "restoring" in captured.err
    back = V.read_video(out)
    assert len(back) == len(clip) and back.size == clip.size


def test_video_command_errors_are_one_line(tmp_path, clip, capsys):
    source = V.write_video(clip, tmp_path / "in.mp4")
    assert video_command.run_cli(_args(input=str(source), out=str(tmp_path / "o.mp4"), method="wiener")) == 2
    assert (
        video_command.run_cli(
            _args(input=str(source), out=str(tmp_path / "o.avi"), method="wiener", kernel="gaussian:sigma=1")
        )
        == 2
    )
    (tmp_path / "notes.mp4").write_text("hello")
    assert (
        video_command.run_cli(
            _args(
                input=str(tmp_path / "notes.mp4"),
                out=str(tmp_path / "o.mp4"),
                method="wiener",
                kernel="gaussian:sigma=1",
            )
        )
        == 1
    )
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln]
    assert len(lines) == 3 and all(ln.startswith("error: ") for ln in lines)
    assert "Traceback" not in err and not (tmp_path / "o.mp4").exists()


def test_video_command_max_frames_keeps_the_first_frames(tmp_path, clip, capsys):
    source = V.write_video(clip, tmp_path / "in.mp4")
    out = tmp_path / "o.mp4"
    assert (
        video_command.run_cli(
            _args(input=str(source), out=str(out), method="wiener", kernel="gaussian:sigma=1", max_frames=3)
        )
        == 0
    )
    assert "first 3 frames" in capsys.readouterr().err
    assert len(V.read_video(out)) == 3


# -- one kernel estimate for a clip ------------------------------------------------------------------


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    size = max(a.shape[0], b.shape[0])
    pa, pb = (np.pad(k, (size - k.shape[0]) // 2) for k in (a, b))
    return float((pa * pb).sum() / (np.linalg.norm(pa) * np.linalg.norm(pb)))


def test_a_clip_is_estimated_once_on_a_few_frames_and_every_frame_uses_that_kernel(monkeypatch):
    import deblur_core.classical.estimate as estimate

    clip = V.sample_clip(6, (144, 144), seed=2, image="astronaut")
    true = gaussian_kernel(2.0)
    blurred = V.blur_video(clip, true)
    frames_seen = []
    real = estimate.estimate_kernel

    def counting(image, **kwargs):
        frames_seen.append(next(i for i in range(len(blurred)) if np.array_equal(image, blurred.frame(i))))
        return real(image, **{**kwargs, "max_size": 15})

    monkeypatch.setattr(estimate, "estimate_kernel", counting)
    calls = []
    result = V.deblur_video(
        blurred, "estimated-wiener", truth=clip, on_progress=lambda d, t, i: calls.append((d, t, i["stage"]))
    )
    assert frames_seen == [1, 3, 5]  # three frames spread over the clip, not every frame
    found = result.kernel_estimate
    assert not found.fallback and _similarity(found.kernel, true) > 0.8
    # every frame was restored with that one kernel
    assert np.array_equal(result.restored.pixels, V.restore_video(blurred, "wiener", kernel=found.kernel).pixels)
    assert _mean_psnr(clip, result.restored) > _mean_psnr(clip, blurred) + 1.0
    assert [c[2] for c in calls[:3]] == ["estimating"] * 3 and calls[-1][0] == calls[-1][1] == 3 + 3 * len(clip)
    assert result.method == "estimated-wiener"


def test_a_clip_whose_blur_was_not_found_is_left_as_it_is(clip):
    from deblur_core.classical.estimate import KernelEstimate
    from deblur_core.kernels import identity_kernel

    nothing = KernelEstimate(identity_kernel(), 0.0, (0, 0, 48, 48), 0.1, True, "unsure")
    out = V.restore_video(clip, "estimated-deconvolver", estimate=nothing)
    assert np.array_equal(out.pixels, clip.pixels) and out.name == "restored (estimated-deconvolver)"
    with pytest.raises(Cancelled):
        V.estimate_clip_kernel(clip, cancel=lambda: True)
    with pytest.raises(ValueError, match="at least one frame"):
        V.estimate_clip_kernel(clip, frames=0)


def test_video_command_reports_the_clips_estimated_blur(tmp_path, capsys):
    source = V.write_video(
        V.blur_video(V.sample_clip(3, (96, 96), seed=4, image="astronaut"), gaussian_kernel(1.5)), tmp_path / "in.mp4"
    )
    code = video_command.run_cli(_args(input=str(source), out=str(tmp_path / "out.mp4"), method="estimated-wiener"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    line = next(x for x in captured.out.splitlines() if x.startswith("Blur:"))
    assert "estimated once for the clip, on 3 frames" in line


def test_a_kernel_marked_approximate_is_passed_on_as_one(monkeypatch, clip, tmp_path, capsys):
    """restore_video and the video command tell a method that takes a kernel when it is a guess (restore's
    kernel_estimated); an estimating method always says so; without the mark a given kernel is exact."""
    from deblur_core import restoration
    from deblur_core.classical.estimate import KernelEstimate

    seen = []
    real = restoration.restore_image
    monkeypatch.setattr(
        restoration, "restore_image", lambda *a, **kw: seen.append(kw["kernel_estimated"]) or real(*a, **kw)
    )
    short = V.Video(clip.pixels[:2], clip.fps)
    k = gaussian_kernel(1.0)
    for approximate in (False, True):
        V.restore_video(short, "wiener", kernel=k, kernel_approximate=approximate)
    found = KernelEstimate(k, 0.9, (0, 0, 48, 48), 0.1, False, "estimated")
    V.restore_video(short, "estimated-wiener", estimate=found)
    assert seen == [False, False, True, True, True, True]

    seen.clear()
    source = V.write_video(short, tmp_path / "in.mp4")
    for approximate in (False, True):
        args = _args(input=str(source), out=str(tmp_path / f"{approximate}.mp4"), method="wiener")
        args.kernel, args.approximate_kernel = "gaussian:sigma=1", approximate
        assert video_command.run_cli(args) == 0, capsys.readouterr().err
    assert seen == [False, False, True, True]
