"""The app-side helpers that need no browser: work queue, zip handling, previews, the slider, the method menu."""

from __future__ import annotations

import io
import threading
import time
import zipfile

import numpy as np
import pytest

from deblur_core.progress import Cancelled
from deblur_core.restoration import get_method
from studio import archives, images
from studio.methods import MethodChoice, cli_command, method_menu
from studio.slider import before_after_html
from studio.tasks import KernelSettings, blur_picture, digest
from studio.work_queue import WorkQueue

# -- work queue ---------------------------------------------------------------------------------------


def test_queue_runs_in_arrival_order_and_reports_places():
    queue = WorkQueue(1)
    gate = threading.Event()
    order = []

    def blocker(_p, _c):
        gate.wait(10)
        order.append("first")
        return 1

    first = queue.submit("a", blocker)
    for _ in range(100):  # until the single worker has taken the first job
        if queue.running:
            break
        time.sleep(0.01)
    second = queue.submit("b", lambda _p, _c: order.append("second") or 2)
    third = queue.submit("c", lambda _p, _c: order.append("third") or 3)
    assert (queue.place(first), queue.place(second), queue.place(third)) == (0, 1, 2)
    assert queue.waiting == 2
    assert queue.estimate_wait(third) > queue.estimate_wait(second) > 0
    gate.set()
    assert [j.wait(10) for j in (first, second, third)] == [True, True, True]
    assert [j.outcome() for j in (first, second, third)] == [1, 2, 3]
    assert order == ["first", "second", "third"]


def test_queue_computes_a_key_once_and_caches_it():
    queue = WorkQueue(2)
    calls = []
    gate = threading.Event()

    def work(_p, _c):
        calls.append(1)
        gate.wait(10)
        return np.ones(4)

    jobs = [queue.submit("same", work) for _ in range(5)]
    gate.set()
    results = [j.wait(10) and j.outcome() for j in jobs]
    assert len(calls) == 1
    assert all(r is results[0] for r in results)
    hit, value = queue.cached("same")
    assert hit and value is results[0]
    assert queue.submit("same", work).done  # a cached result comes back finished at once
    assert len(calls) == 1


def test_queue_drops_least_recently_used_results_beyond_its_budget():
    queue = WorkQueue(1, cache_bytes=3 * 800)
    for key in "abc":
        queue.run(key, lambda _p, _c: np.zeros(100))  # 800 bytes each
    queue.cached("a")  # "a" is now the most recently used
    queue.run("d", lambda _p, _c: np.zeros(100))
    assert queue.cached("a")[0] and queue.cached("d")[0]
    assert not queue.cached("b")[0]
    assert queue.cached_bytes <= 3 * 800


def test_queue_hands_errors_to_the_waiter_and_does_not_cache_them():
    queue = WorkQueue(1)
    with pytest.raises(ValueError, match="bad kernel"):
        queue.run("x", lambda _p, _c: (_ for _ in ()).throw(ValueError("bad kernel")))
    assert not queue.cached("x")[0]
    assert queue.run("x", lambda _p, _c: 5) == 5


def test_queue_cancel_stops_a_waiting_job_and_a_running_one():
    queue = WorkQueue(1)
    started = threading.Event()

    def long_job(_p, cancel):
        started.set()
        while not cancel():
            time.sleep(0.01)
        raise Cancelled("stopped")

    running = queue.submit("run", long_job)
    waiting = queue.submit("wait", lambda _p, _c: 1)
    assert started.wait(10)
    waiting.cancel()
    running.cancel()
    assert running.wait(10) and waiting.wait(10)
    with pytest.raises(Cancelled):
        running.outcome()
    with pytest.raises(Cancelled):
        waiting.outcome()


def test_job_progress_follows_the_reports():
    queue = WorkQueue(1)
    gate = threading.Event()
    half = threading.Event()

    def work(on_progress, _c):
        on_progress(1, 4, {})
        half.set()
        gate.wait(10)
        on_progress(4, 4, {})
        return "done"

    job = queue.submit("p", work)
    assert half.wait(10)
    assert job.progress() == pytest.approx(0.25)
    gate.set()
    job.wait(10)
    assert job.progress() == 1.0


# -- zip files ------------------------------------------------------------------------------------------


def test_build_zip_keeps_every_file_under_a_unique_name():
    data = archives.build_zip([("photo_deblurred.png", b"1"), ("photo_deblurred.png", b"2"), ("dir/../x.png", b"3")])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["photo_deblurred.png", "photo_deblurred-2.png", "x.png"]
        assert archive.read("photo_deblurred-2.png") == b"2"


# -- pictures --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(20, 20000), (20000, 20), (12, 900)])
def test_a_very_long_strip_previews_its_middle_at_a_sensible_size_and_says_so(shape):
    height, width = shape
    strip = np.zeros((height, width, 3), np.float32)
    strip[..., 0] = np.linspace(0, 1, width)[None, :]  # left to right: dark to red
    strip[..., 1] = np.linspace(0, 1, height)[:, None]  # top to bottom: dark to green
    shown = images.preview(strip)
    ph, pw = shown.pixels.shape[:2]
    assert min(ph, pw) >= images.MIN_PREVIEW_SIDE
    assert max(ph, pw) <= images.MAX_PREVIEW_ASPECT * min(ph, pw) and max(ph, pw) <= images.PREVIEW_MAX_SIDE
    # The middle of the strip: its centre pixel is the strip's centre pixel.
    centre = shown.pixels[ph // 2, pw // 2].astype(float) / 255
    np.testing.assert_allclose(centre[:2], strip[height // 2, width // 2, :2], atol=0.05)
    shape_word = "wide" if width > height else "tall"
    assert shown.note().startswith(f"This picture is very {shape_word} ({width} × {height} px)")
    assert "the preview shows its middle" in shown.note() and "the download is the whole picture" in shown.note()


def test_a_change_that_rounds_to_zero_is_grey_not_red():
    from studio.widgets import delta_args

    assert delta_args(-0.0004, 3) == {"delta": "0.000", "delta_color": "off", "delta_arrow": "off"}
    assert delta_args(0.004, 2, " dB") == {"delta": "0.00 dB", "delta_color": "off", "delta_arrow": "off"}
    assert delta_args(-0.0006, 3) == {"delta": "-0.001"}
    assert delta_args(1.234, 2, " dB") == {"delta": "+1.23 dB"}


def test_the_video_progress_line_names_the_step_and_frame_and_no_disagreeing_percentage():
    from studio.video_text import progress_line

    # 42 frames with ground truth: 42 restorations, 84 measurements, 2 encodings; frame 20 is 15 % of it all.
    line = progress_line(42, True, 19, 12.4)
    assert line == "Step 1 of 3: restoring frame 20 of 42… (12 s)" and "%" not in line
    assert progress_line(42, True, 42 + 42 + 8, 30) == "Step 2 of 3: measuring PSNR and SSIM, frame 9 of 42… (30 s)"
    assert progress_line(42, True, 126, 31) == "Step 3 of 3: encoding the videos… (31 s)"
    assert progress_line(42, False, 42, 31) == "Step 2 of 2: encoding the videos… (31 s)"


def test_the_video_summary_says_once_how_the_frames_are_used():
    from studio.video_text import summary

    label = "video-unet3 (uses the previous and next frames)"
    assert summary(42, "clip.mp4", label, 3, 12.34) == f"Restored 42 frames of clip.mp4 with {label} in 12.3 s."
    assert summary(9, "a.mp4", "Wiener deconvolution", 1, 2.0) == (
        "Restored 9 frames of a.mp4 with Wiener deconvolution, one frame at a time, in 2.0 s."
    )


def test_psnr_bars_start_from_a_whole_decibel_below_the_lowest():
    from studio.charts import psnr_axis

    assert psnr_axis([22.47, 26.84, 25.97]) == (21.0, 27.42)
    assert psnr_axis([22.6, 22.9]) == (22.0, 22.99)  # half a dB or more below the lowest bar
    assert psnr_axis([30.0, float("inf")]) == (29.0, 30.1)  # an identical image's infinite PSNR is left out
    assert psnr_axis([]) == (0.0, 1.0)


def test_preview_is_scaled_only_when_large_and_says_so():
    small = images.preview(np.zeros((300, 400, 3), np.float32))
    assert small.pixels.shape == (300, 400, 3) and small.note() == ""
    big = images.preview(np.zeros((1500, 3000, 3), np.float32))
    assert big.pixels.shape == (600, 1200, 3)
    assert big.note() == "Preview scaled to 1200 × 600 px; the download is full size (3000 × 1500 px)."


def test_zoom_crop_enlarges_with_nearest_neighbour_and_stays_inside():
    rgb = np.random.default_rng(0).random((50, 80, 3)).astype(np.float32)
    crop = images.zoom_crop(rgb, 1.0, 1.0, 4, view=40)  # bottom-right corner, 10 x 10 px enlarged 4x
    assert crop.shape == (40, 40, 3)
    expected = images.to_uint8(rgb[40:50, 70:80])
    assert np.array_equal(crop[::4, ::4], expected)
    assert np.array_equal(crop[1::4, 3::4], expected)


def test_difference_map_is_dark_where_equal_and_bright_where_different():
    truth = np.zeros((4, 4, 3), np.float32)
    output = truth.copy()
    output[0, 0] = 0.5
    diff = images.difference_map(output, truth)
    assert tuple(diff[1, 1]) == tuple(images.VIRIDIS[0])
    assert tuple(diff[0, 0]) == tuple(images.VIRIDIS[255])
    assert images.VIRIDIS[255].sum() > images.VIRIDIS[0].sum()  # yellow is brighter than purple
    with pytest.raises(ValueError, match="differ in size"):
        images.difference_map(output[:2], truth)


def test_kernel_picture_shows_each_kernel_pixel_as_a_square():
    kernel = KernelSettings(kind="motion", length=9, angle=0).kernel()
    picture = images.kernel_picture(kernel, size=kernel.shape[0] * 8)
    assert picture.shape == (kernel.shape[0] * 8, kernel.shape[1] * 8, 3)
    centre = kernel.shape[0] // 2
    assert picture[centre * 8 + 3, centre * 8 + 3, 0] > 200  # light on the motion line
    assert picture[0, 0, 0] == 0


def test_the_identity_kernel_is_drawn_as_one_point_of_light_on_black():
    picture = images.kernel_picture(np.ones((1, 1)), size=100)
    assert picture.shape == (100, 100, 3)  # five kernel pixels a side, 20 screen pixels each
    assert picture[50, 50, 0] == 255 and picture[0, 0, 0] == 0 and picture[50, 30, 0] == 0
    assert (picture[..., 0] == 255).sum() == 20 * 20


def test_the_region_thumbnail_outlines_each_box_in_its_colour():
    grey = np.full((200, 400, 3), 0.5, np.float32)
    amber, cyan = (255, 176, 0), (0, 200, 255)
    thumb = images.region_thumbnail(grey, [((100, 50, 100, 100), amber), ((0, 0, 400, 200), cyan)], max_side=200)
    assert thumb.shape == (100, 200, 3)
    assert tuple(thumb[25, 75]) == amber and tuple(thumb[74, 75]) == amber  # top and bottom edges, halved
    assert tuple(thumb[50, 50]) == amber and tuple(thumb[50, 99]) == amber  # left and right edges
    assert tuple(thumb[50, 75]) == (128, 128, 128)  # the inside is the photo
    assert tuple(thumb[0, 150]) == cyan and tuple(thumb[99, 150]) == cyan  # a box the size of the photo shows
    assert grey.dtype == np.float32 and (grey == 0.5).all()  # the photo itself is untouched


def test_slider_is_self_contained_and_offline():
    a = np.zeros((20, 30, 3), np.uint8)
    b = np.full((20, 30, 3), 255, np.uint8)
    page = before_after_html(a, b, "Blurred <1>", "Deblurred")
    assert page.count("data:image/png;base64,") == 2
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert "Blurred &lt;1&gt;" in page  # labels are escaped
    assert 'type="range"' in page
    with pytest.raises(ValueError):
        before_after_html(a, b[:10], "x", "y")


# -- methods ------------------------------------------------------------------------------------------------


def test_blur_picture_is_reproducible_and_8_bit():
    sharp = np.random.default_rng(1).random((32, 32, 3)).astype(np.float32)
    kernel = KernelSettings().kernel()
    a, b = blur_picture(sharp, kernel, 0.01, seed=0), blur_picture(sharp, kernel, 0.01, seed=0)
    assert np.array_equal(a, b)
    assert np.allclose(a * 255, np.round(a * 255), atol=1e-3)
    assert digest(a) == digest(b) != digest(blur_picture(sharp, kernel, 0.01, seed=1))


def test_kernel_settings_spec_round_trips_through_the_library():
    from deblur_core.kernels import parse_kernel_spec

    for settings in (
        KernelSettings(kind="motion", length=15, angle=30),
        KernelSettings(kind="gaussian", sigma=2.5),
        KernelSettings(kind="defocus", radius=4),
        KernelSettings(kind="shake", size=21, seed=3),
    ):
        assert np.array_equal(settings.kernel(), parse_kernel_spec(settings.spec()))


def test_a_chosen_square_stays_inside_the_photo_and_automatic_has_none():
    from studio.tasks import EstimateSettings

    assert EstimateSettings().box(100, 200) is None
    assert EstimateSettings(square=(0.5, 0.5, 64)).box(100, 200) == (68, 18, 64, 64)
    assert EstimateSettings(square=(1.0, 0.0, 64)).box(100, 200) == (136, 0, 64, 64)  # pushed back inside
    assert EstimateSettings(square=(0.5, 0.5, 300)).box(100, 200) == (50, 0, 100, 100)  # shrunk to the photo
    assert (
        "up to 31 px" in EstimateSettings().describe()
        and "64 px square" in EstimateSettings(21, (0.5, 0.5, 64)).describe()
    )


def test_a_fitted_blur_lands_on_the_sliders_steps_and_ranges():
    from studio.widgets import slider_settings

    assert slider_settings("motion", {"length": 14.06, "angle": 179.7}) == KernelSettings(
        kind="motion", length=14, angle=0
    )
    assert slider_settings("gaussian", {"sigma": 0.3}).sigma == 0.5  # the slider's lowest
    assert slider_settings("gaussian", {"sigma": 1.97}).sigma == 2.0
    assert slider_settings("defocus", {"radius": 2.74}).radius == 2.5
    assert slider_settings("motion", {"length": 90.0, "angle": 30.2}).length == 61


def test_cli_command_names_the_method_and_kernel():
    wiener = MethodChoice("wiener", "Wiener deconvolution", get_method("wiener").text, "needs")
    assert (
        cli_command(wiener, "my photo.png", "motion:length=15,angle=30")
        == "python -m deblur_core deblur 'my photo.png' --out out/ --method wiener --kernel motion:length=15,angle=30"
    )
    model = MethodChoice("unet-x", "unet-x (recommended)", "", recommended=True)
    two = cli_command(model, "cat.png", None, blur_spec="gaussian:sigma=2", noise=0.01).splitlines()
    assert two[0] == "python -m deblur_core blur cat.png --out blurred/ --kernel gaussian:sigma=2 --noise 0.01 --seed 0"
    assert two[1] == "python -m deblur_core deblur blurred/cat.png --out out/ --method default"


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    """A default U-Net, a DBSRCNN (enlarges 3x) and a 3-frame video model, all tiny."""
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import save_model

    folder = tmp_path_factory.mktemp("menu-models")
    save_model(
        build("unet", base_filters=4, depth=2),
        folder / "tiny.keras",
        {
            "architecture": "unet",
            "arch_args": {"base_filters": 4, "depth": 2},
            "recommended": True,
            "description": "Tiny. Untrained.",
        },
    )
    save_model(
        build("dbsrcnn", filters=4),
        folder / "sr.keras",
        {"architecture": "dbsrcnn", "arch_args": {"filters": 4}, "description": "Deblurs and enlarges."},
    )
    save_model(
        build("unet", frames=3, base_filters=4, depth=2),
        folder / "video3.keras",
        {"architecture": "unet", "arch_args": {"frames": 3, "base_filters": 4, "depth": 2}},
    )
    save_model(  # one frame in, but learnt from moving clips: a video model
        build("unet", base_filters=4, depth=2),
        folder / "video1.keras",
        {"architecture": "unet", "arch_args": {"base_filters": 4, "depth": 2}, "training": {"clips": True}},
    )
    return folder


def test_menu_offers_still_image_models_and_the_enlarging_model_while_it_fits(model_folder, tmp_path):
    from deblur_core.learned.registry import Registry

    registry = Registry(model_folder, tmp_path)
    menu = method_menu(registry, (400, 600))
    labels = [c.label for c in menu.choices]
    assert labels[0] == "tiny (recommended)" and menu.default.method == "tiny"
    assert "sr: deblur + enlarge 3x" in labels
    assert not any("video" in label for label in labels)
    assert labels[-5:] == [
        "Wiener deconvolution",
        "Richardson-Lucy",
        "Unsupervised Wiener",
        "Estimated kernel + Wiener",
        "Estimated kernel + Richardson-Lucy",
    ]
    assert menu.by_label("sr: deblur + enlarge 3x").upscale
    big = method_menu(registry, (3000, 4000))  # 12 MP x 9 would exceed the 24 MP limit
    sr = big.by_method("sr")
    assert sr.label == "sr: deblur only" and not sr.upscale
    # The note is the enlarging model's own: said while it is selected, not above every method.
    assert "exceed 24 megapixels" in sr.note and not big.notes
    assert not any(c.note for c in big.choices if c.method != "sr")


def _save_tiny_unet(folder, name: str, card: dict) -> None:
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import save_model

    arch = {"architecture": "unet", "arch_args": {"base_filters": 4, "depth": 2}}
    save_model(build("unet", base_filters=4, depth=2), folder / f"{name}.keras", {**arch, **card})


def test_each_model_says_what_it_is_for_and_one_worse_than_its_input_is_marked(tmp_path):
    from deblur_core.learned.registry import Registry

    shipped = tmp_path / "shipped"
    good = {"validation": {"psnr": 24.73, "blurred_psnr": 23.75}}
    weak = {"validation": {"psnr": 21.91, "blurred_psnr": 23.75}}
    _save_tiny_unet(
        shipped, "good", {"recommended": True, "description": "Blind deblurring of photos: all blurs.", **good}
    )
    _save_tiny_unet(shipped, "old", {"description": "The classic autoencoder recipe, kept for comparison.", **weak})
    menu = method_menu(Registry(shipped, tmp_path / "user"), (100, 100))
    texts = {c.method: c.picker_text for c in menu.choices}
    assert texts["good"] == "good (recommended) — blind deblurring of photos"
    assert texts["old"] == "old · worse than its input — the classic autoencoder recipe, kept for comparison"
    assert texts["wiener"] == "Wiener deconvolution"  # the catalogue's titles say what they are already
    old = menu.by_method("old")
    assert old.weak and not menu.by_method("good").weak  # still offered, for comparison
    assert "1.84 dB below" in old.weak_warning() and menu.by_method("good").weak_warning() == ""
    assert menu.default.method == "good"


def test_a_recommended_model_worse_than_its_input_is_never_preselected(tmp_path):
    from deblur_core.learned.registry import Registry

    shipped = tmp_path / "shipped"
    weak = {"validation": {"psnr": 21.0, "blurred_psnr": 23.0}}
    _save_tiny_unet(shipped, "bad", {"recommended": True, "description": "Worse.", **weak})
    menu = method_menu(Registry(shipped, tmp_path / "user"), (100, 100))
    bad = menu.by_method("bad")
    assert bad is not None and bad.weak and not bad.recommended and bad.label == "bad"
    assert menu.default.method == "wiener"
    assert menu.notes[0].startswith("The default model does not beat its input, so the default method is Wiener")
    assert menu.featured()[0].method == "wiener"  # Compare and Benchmark start from the default too


def test_menu_without_a_model_defaults_to_wiener_with_a_note(tmp_path):
    from deblur_core.learned.registry import Registry

    menu = method_menu(Registry(tmp_path / "none", tmp_path / "user"), (100, 100))
    assert menu.default.method == "wiener" and not menu.model_available
    assert "No trained model is installed" in menu.notes[0]


# -- benchmark runs -----------------------------------------------------------------------------------------


def test_benchmark_run_reports_progress_and_stops_when_cancelled(tmp_path):
    from deblur_core.learned.registry import Registry
    from studio.bench import BLURRED, BenchmarkRun
    from studio.methods import catalogue_choices

    queue = WorkQueue(1)
    gate = threading.Event()
    queue.submit("someone else's long job", lambda _p, _c: gate.wait(30))  # holds the only worker
    sharp = np.random.default_rng(0).random((40, 40, 3)).astype(np.float32)
    kernel = KernelSettings(kind="gaussian", sigma=1.5).kernel()
    run = BenchmarkRun(
        images=[("a", sharp), ("b", sharp[::-1].copy())],
        kernel=kernel,
        kernel_spec="gaussian:sigma=1.5",
        noise=0.0,
        choices=catalogue_choices()[:1],
        registry=Registry(tmp_path / "none", tmp_path / "user"),
        queue=queue,
    ).start()
    for _ in range(200):  # until the run's first job waits in line behind the long one
        if queue.waiting:
            break
        time.sleep(0.01)
    snap = run.snapshot()
    assert snap.active and snap.done == 0 and snap.total == 2
    assert "Wiener deconvolution on a" in snap.current
    run.cancel()
    run.join(10)
    gate.set()
    snap = run.snapshot()
    assert snap.status == "cancelled" and snap.done == 0
    assert [row["method"] for row in snap.rows] == [BLURRED]  # only the baseline of the first image


def test_benchmark_run_measures_every_image_and_method(tmp_path):
    from deblur_core.learned.registry import Registry
    from studio.bench import BLURRED, BenchmarkRun
    from studio.methods import catalogue_choices

    sharp = np.random.default_rng(1).random((48, 48, 3)).astype(np.float32)
    run = BenchmarkRun(
        images=[("a", sharp), ("b", np.ascontiguousarray(sharp[:, ::-1]))],
        kernel=KernelSettings(kind="gaussian", sigma=1.5).kernel(),
        kernel_spec="gaussian:sigma=1.5",
        noise=0.0,
        choices=catalogue_choices()[:2],
        registry=Registry(tmp_path / "none", tmp_path / "user"),
        queue=WorkQueue(2),
    ).start()
    run.join(60)
    snap = run.snapshot()
    assert snap.status == "finished" and snap.done == snap.total == 4 and snap.fraction == 1.0
    assert [(r["image"], r["method"]) for r in snap.rows] == [
        ("a", BLURRED),
        ("a", "Wiener deconvolution"),
        ("a", "Richardson-Lucy"),
        ("b", BLURRED),
        ("b", "Wiener deconvolution"),
        ("b", "Richardson-Lucy"),
    ]
    by_method = {(r["image"], r["method"]): r["PSNR (dB)"] for r in snap.rows}
    assert by_method[("a", "Wiener deconvolution")] > by_method[("a", BLURRED)]


def test_the_models_page_describes_a_card_trained_in_steps_with_its_noise_in_words():
    from studio.jobs import describe_training

    card = {
        "training": {
            "data": ["train/T91", "train/BSD400"],
            "degradations": {"families": ["gaussian", "trace"], "noise": "sigma 0 to 0.03, 8-bit rounding"},
            "loss": "mean absolute error",
            "steps": 7500,
        }
    }
    data, degradations, loss, epochs = describe_training(card)
    assert data == "T91, BSD400" and loss == "mean absolute error"
    assert degradations == "gaussian, trace; noise sigma 0 to 0.03, 8-bit rounding"
    assert epochs == "7,500 steps"
    card["training"] |= {
        "epochs": 40,
        "epochs_run": 12,
        "degradations": {"families": ["motion"], "noise_range": [0, 0.02]},
    }
    assert describe_training(card)[1:] == ("motion; noise σ up to 5.1/255", "mean absolute error", "12 of 40")
