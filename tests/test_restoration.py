"""deblur_core.restoration: the method catalogue, the Restoration result and restore()."""

from __future__ import annotations

import numpy as np
import pytest

from deblur_core.degrade import blur
from deblur_core.kernels import gaussian_kernel
from deblur_core.progress import Cancelled
from deblur_core.restoration import restore, restore_image

KERNEL_METHODS = ("wiener", "richardson-lucy", "unsupervised-wiener")


def texture(height: int = 40, width: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.uniform(0, 1, (height, width, 3)), 0, 1).astype(np.float32)


@pytest.mark.parametrize("method", KERNEL_METHODS)
def test_restore_passes_cancel_to_every_method(method):
    """A stop request reaches the method itself, so even the slowest one can be stopped."""
    kernel = gaussian_kernel(1.5)
    blurred = blur(texture(), kernel)
    asked = []

    def cancel() -> bool:
        asked.append(True)
        return True

    with pytest.raises(Cancelled):
        restore(blurred, method, kernel=kernel, cancel=cancel)
    assert asked, "the method never asked whether to stop"


def test_a_name_is_registered_once():
    from deblur_core.learned.architectures import ARCHITECTURES
    from deblur_core.learned.architectures import register as register_architecture
    from deblur_core.restoration import Method, register

    with pytest.raises(ValueError, match="already registered"):
        register(Method("wiener", "Another Wiener", "a second one", "needs", run=lambda call: call.image))
    with pytest.raises(ValueError, match="already registered"):
        register_architecture("unet", "a second U-Net", lambda: {})(lambda: None)
    assert "unet" in ARCHITECTURES


def test_the_result_carries_the_kernel_and_where_it_came_from():
    kernel = gaussian_kernel(1.5)
    blurred = blur(texture(), kernel)
    given = restore(blurred, "wiener", kernel=kernel)
    assert given.kernel_source == "given" and given.kernel.shape == kernel.shape
    assert given.stages and given.stages[0].name == "Wiener deconvolution" and given.seconds > 0
    assert given.kernel_text().startswith("given, ")
    np.testing.assert_array_equal(restore_image(blurred, "wiener", kernel=kernel), given.image)


@pytest.fixture
def toy_methods():
    """A blind method and one that estimates the kernel, registered for one test."""
    from deblur_core.restoration import Method, register, unregister

    def estimate(call):
        with call.stage("kernel estimation"):
            found = gaussian_kernel(1.0)
        with call.stage("deconvolution"):
            from deblur_core.classical import wiener

            return wiener(call.image, found, cancel=call.cancel), found

    added = [
        register(Method("toy-identity", "Toy identity", "returns its input", "none", run=lambda call: call.image)),
        register(Method("toy-blind", "Toy blind deconvolution", "estimates a kernel", "estimates", run=estimate)),
    ]
    try:
        yield added
    finally:
        for method in added:
            unregister(method.name)


def test_blind_and_estimating_methods_report_their_kernel(toy_methods):
    from deblur_core.learned.registry import check_model_name

    image = texture()
    blind = restore(image, "toy-identity", kernel=gaussian_kernel(2.0))  # a blind method ignores a kernel
    assert blind.kernel is None and blind.kernel_source == "none" and blind.kernel_text().startswith("none")
    estimated = restore(image, "toy-blind")
    assert estimated.kernel_source == "estimated" and estimated.kernel.shape == gaussian_kernel(1.0).shape
    assert [s.name for s in estimated.stages] == ["kernel estimation", "deconvolution"]
    with pytest.raises(ValueError, match="reserved"):
        check_model_name("toy-blind")  # a model may not take a method's name


def test_only_a_method_that_estimates_the_kernel_names_one_to_hand_it_to():
    from deblur_core.restoration import Method, get_method

    with pytest.raises(ValueError, match="does not estimate"):
        Method("toy-hand", "Toy", "hands a kernel on", "needs", run=lambda call: call.image, with_kernel="wiener")
    handed_to = get_method(get_method("estimated-deconvolver").with_kernel)
    assert handed_to is not None and handed_to.needs_kernel and handed_to.model == "deconv-unet"


def test_options_are_checked_against_the_record():
    kernel = gaussian_kernel(1.5)
    with pytest.raises(ValueError, match="iterations"):
        restore(texture(), "wiener", kernel=kernel, iterations=3)


def test_a_learned_method_that_needs_the_kernel_runs_its_model_after_a_deconvolution(tmp_path):
    """The shape of a kernel-aware learned method: Wiener first, then a network, both as stages."""
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import Registry, save_model
    from deblur_core.restoration import Method, register, unregister
    from studio.methods import method_menu

    def wiener_then_network(call):
        from deblur_core.classical import wiener

        with call.stage("Wiener deconvolution"):
            first = wiener(call.image, call.kernel, cancel=call.cancel)
        with call.stage("residual network"):
            return call.runner()(first, cancel=call.cancel)

    args = {"base_filters": 4, "depth": 2}
    empty = Registry(tmp_path / "none", tmp_path / "none2")
    registry = Registry(tmp_path / "shipped", tmp_path / "user")
    save_model(
        build("unet", **args), tmp_path / "shipped" / "toy-net.keras", {"architecture": "unet", "arch_args": args}
    )
    method = register(
        Method(
            "toy-deconv-net",
            "Toy deconvolution network",
            "Wiener then a network",
            "needs",
            run=wiener_then_network,
            family="learned",
            model="toy-net",
        )
    )
    try:
        kernel = gaussian_kernel(1.5)
        result = restore(blur(texture(), kernel), "toy-deconv-net", kernel=kernel, registry=registry)
        assert result.kernel_source == "given"
        assert [s.name for s in result.stages] == ["Wiener deconvolution", "residual network"]
        menu = [c.method for c in method_menu(registry).choices]
        assert "toy-deconv-net" in menu and "toy-net" not in menu  # the model is offered through its method
        assert "toy-deconv-net" not in [c.method for c in method_menu(empty).choices]  # not without its model
    finally:
        unregister(method.name)
