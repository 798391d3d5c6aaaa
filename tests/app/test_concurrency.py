"""Several visitors deblurring at the same moment share one model and one queue and all get correct results."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from deblur_core import degrade, kernels
from deblur_core.learned.registry import Registry
from deblur_core.restoration import restore_image
from studio.methods import method_menu
from studio.tasks import digest, restore_picture
from studio.work_queue import WorkQueue

VISITORS = 4


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import save_model

    folder = tmp_path_factory.mktemp("shipped")
    card = {"architecture": "unet", "arch_args": {"base_filters": 4, "depth": 2}, "recommended": True}
    # Random weights from a fixed seed: a model whose output depends on every weight, unlike an identity.
    import keras

    keras.utils.set_random_seed(7)
    save_model(build("unet", base_filters=4, depth=2), folder / "tiny.keras", card)
    return Registry(folder, tmp_path_factory.mktemp("user"))


def _photos() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    photos = []
    for i in range(VISITORS):
        sharp = rng.random((70 + 9 * i, 90 + 5 * i, 3)).astype(np.float32)
        photos.append(degrade.blur(sharp, kernels.gaussian_kernel(1.0 + i / 2)))
    return photos


def test_four_visitors_at_once_get_the_single_threaded_results(registry):
    photos = _photos()
    menu = method_menu(registry, (100, 100))
    model = menu.default
    wiener = menu.by_method("wiener")
    kernel = kernels.gaussian_kernel(1.5)
    expected_model = [restore_image(p, "tiny", registry=registry) for p in photos]
    expected_wiener = [restore_image(p, "wiener", kernel=kernel) for p in photos]

    queue = WorkQueue(2)  # fewer slots than visitors: some of them must wait in line
    start = threading.Barrier(VISITORS)
    results: dict[int, tuple] = {}
    failures: list[BaseException] = []

    def visitor(i: int) -> None:
        try:
            start.wait(10)
            photo = photos[i]
            jobs = [
                queue.submit(
                    digest("visitor", i, choice.method),
                    lambda p, c, choice=choice: restore_picture(
                        photo, choice, kernel=kernel, truth=None, registry=registry, on_progress=p, cancel=c
                    ),
                )
                for choice in (model, wiener)
            ]
            results[i] = tuple(job.wait(120) and job.outcome() for job in jobs)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(VISITORS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not failures, failures
    assert sorted(results) == list(range(VISITORS))
    for i in range(VISITORS):
        got_model, got_wiener = results[i]
        assert got_model.output.shape == photos[i].shape
        np.testing.assert_allclose(got_model.output, expected_model[i], atol=1e-5)
        np.testing.assert_allclose(got_wiener.output, expected_wiener[i], atol=1e-6)
        assert got_model.sharp_in is not None and got_model.sharp_out is not None
    # The model's outputs differ between photos: nobody received someone else's picture.
    assert not np.allclose(results[0][0].output[:70, :90], results[1][0].output[:70, :90])
    assert queue.waiting == 0 and queue.running == 0


def test_visitors_asking_for_the_same_picture_share_one_computation(registry):
    photo = _photos()[0]
    choice = method_menu(registry, photo.shape[:2]).default
    queue = WorkQueue(2)
    calls = []
    start = threading.Barrier(VISITORS)
    outputs = [None] * VISITORS

    def compute(p, c):
        calls.append(1)
        return restore_picture(photo, choice, kernel=None, truth=None, registry=registry, on_progress=p, cancel=c)

    def visitor(i: int) -> None:
        start.wait(10)
        outputs[i] = queue.run("same-photo", compute, timeout=120).output

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(VISITORS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert len(calls) == 1
    assert all(o is outputs[0] for o in outputs)
