"""The Video page under Streamlit's AppTest: the sample clip, a run in the background, the results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "video.py")

pytestmark = pytest.mark.app


@pytest.fixture
def small_sample(monkeypatch, tmp_path):
    """A tiny sample clip and model folders of the test's own (empty unless a test fills them)."""
    monkeypatch.setenv("DEBLUR_STUDIO_VIDEO_SAMPLE", "9,48,64")
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    shipped.mkdir()
    user.mkdir()
    monkeypatch.setenv("DEBLUR_STUDIO_SHIPPED_MODELS", str(shipped))
    monkeypatch.setenv("DEBLUR_STUDIO_MODELS", str(user))
    return shipped


def _run_to_the_end(at: AppTest) -> AppTest:
    at.button(key="video_run").click().run()
    assert not at.exception, at.exception
    run = at.session_state["video_job"]
    assert run.job.wait(120), "the video job did not finish"
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_sample_clip_blurred_restored_and_measured(small_sample):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception and not at.error
    assert "300 frames" in at.info[0].value  # the limits are stated before anything is uploaded
    # Without any model, the classical default asks for the blur in the video.
    assert at.selectbox(key="video_method").value.startswith("Wiener")
    assert at.radio(key="video_blur_sample").value == "average"
    at.slider(key="video_window").set_value(5).run()
    # The known blur is preset to the sample's own motion.
    assert any("Preset to the sample clip's own motion" in c.value for c in at.caption)
    assert at.selectbox(key="video_known_w5_kind").value == "motion"
    _run_to_the_end(at)

    table = at.dataframe[0].value
    assert list(table.columns) == ["video", "frames", "PSNR (dB)", "SSIM", "MSE"]
    assert list(table["frames"]) == [5, 5]  # 9 frames averaged 5 at a time
    assert table["video"][0] == "blurred input" and table["video"][1].startswith("restored")
    assert np.isfinite(table["PSNR (dB)"]).all()
    # Given the true blur, Wiener deconvolution helps.
    assert table["PSNR (dB)"][1] > table["PSNR (dB)"][0] + 1.0
    chart = at.get("plotly_chart")
    assert len(chart) == 1
    assert len(at.get("video")) == 2  # input and output players
    assert any("Audio is dropped" in c.value for c in at.caption)
    assert at.slider(key="video_frame").max == 5
    at.slider(key="video_frame").set_value(1).run()
    assert not at.exception and not at.error


def test_a_three_frame_model_is_offered_and_used(small_sample):
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import save_model

    model = build("unet", frames=3, base_filters=4, depth=2)
    card = {"architecture": "unet", "arch_args": {"frames": 3, "base_filters": 4, "depth": 2}, "description": "Tiny."}
    save_model(model, small_sample / "video-unet3.keras", card)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert at.selectbox(key="video_method").value.startswith("video-unet3")
    at.radio(key="video_blur_sample").set_value("kernel").run()
    _run_to_the_end(at)
    (done,) = [s.value for s in at.success if s.value.startswith("Restored")]
    assert "with video-unet3 (uses the previous and next frames) in " in done
    assert done.count("previous and next frames") == 1  # said once, not twice
    table = at.dataframe[0].value
    assert list(table["frames"]) == [9, 9]
    # The untrained model starts as the identity, so the result measures like its input.
    assert abs(table["PSNR (dB)"][1] - table["PSNR (dB)"][0]) < 0.5


def test_an_uploaded_clip_without_ground_truth(small_sample):
    from deblur_core import video as V

    data, _ = V.encode_video(V.sample_clip(5, (32, 48), seed=2), "mp4")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio(key="video_source").set_value("Upload a video").run()
    at.file_uploader(key="video_upload").upload("holiday.mp4", data, "video/mp4").run()
    assert not at.exception and not at.error
    assert any("holiday.mp4: 5 frames, 48 x 32" in c.value for c in at.caption)
    assert at.radio(key="video_blur_upload").value == "none"
    at.select_slider(key="video_nsr").set_value("auto").run()
    _run_to_the_end(at)
    assert len(at.get("video")) == 2 and len(at.get("plotly_chart")) == 0
    assert any("no sharp original" in c.value for c in at.caption)
    assert at.code[0].value == (
        "python -m deblur_core video holiday.mp4 --out holiday-deblurred.mp4 --method wiener "
        "--kernel motion:length=9,angle=0"
    )
    download = at.get("download_button")
    assert len(download) == 1 and "5 frames" in download[0].proto.label


def test_a_file_that_is_not_a_video_gives_one_sentence(small_sample):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio(key="video_source").set_value("Upload a video").run()
    at.file_uploader(key="video_upload").upload("notes.mp4", b"my holiday notes\n" * 50, "video/mp4").run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("notes.mp4: is not a video")
    assert all(b.key != "video_run" for b in at.button) and not at.get("video")


def test_a_method_that_estimates_the_kernel_shows_the_clips_one_estimate(small_sample, monkeypatch):
    monkeypatch.setenv("DEBLUR_STUDIO_VIDEO_SAMPLE", "4,96,96")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio(key="video_blur_sample").set_value("kernel").run()
    labels = at.selectbox(key="video_method").options
    wanted = next(label for label in labels if label.startswith("Estimated kernel + Wiener"))
    at.selectbox(key="video_method").set_value(wanted).run()
    assert not at.exception and not at.error
    _run_to_the_end(at)
    assert any(m.value == "**The blur estimated for the clip**" for m in at.markdown)
    words = [c.value for c in at.caption if "for the whole clip" in c.value or "left as they are" in c.value]
    assert words and "on 3 frames spread over" in words[0]


def test_the_learned_deconvolver_is_told_when_the_clips_kernel_is_shaped_by_hand(small_sample, monkeypatch):
    """The kernel chosen to blur the sample is known exactly; one shaped with the sliders for an upload is a guess,
    which the method is told (restore's kernel_estimated) and the command line says (--approximate-kernel)."""
    import shutil

    from deblur_core import restoration
    from deblur_core import video as V

    for suffix in (".keras", ".json"):
        shutil.copy(ROOT / "models" / f"deconv-unet{suffix}", small_sample / f"deconv-unet{suffix}")
    marked = []
    real = restoration.restore_image
    monkeypatch.setattr(
        restoration, "restore_image", lambda *a, **kw: marked.append(kw["kernel_estimated"]) or real(*a, **kw)
    )
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio(key="video_blur_sample").set_value("kernel").run()
    wanted = next(label for label in at.selectbox(key="video_method").options if label == "Learned deconvolver")
    at.selectbox(key="video_method").set_value(wanted).run()
    _run_to_the_end(at)
    assert marked and not any(marked)  # the known blur, every frame

    marked.clear()
    data, _ = V.encode_video(V.sample_clip(3, (32, 48), seed=2), "mp4")
    at.radio(key="video_source").set_value("Upload a video").run()
    at.file_uploader(key="video_upload").upload("holiday.mp4", data, "video/mp4").run()
    at.selectbox(key="video_method").set_value(wanted).run()
    assert not at.exception and not at.error
    _run_to_the_end(at)
    assert marked == [True] * 3
    assert at.code[0].value == (
        "python -m deblur_core video holiday.mp4 --out holiday-deblurred.mp4 --method deconvolver "
        "--kernel motion:length=9,angle=0 --approximate-kernel"
    )
