"""The built-in restoration methods: one catalogue entry each, registered when this package is imported.

The algorithms live in their own modules (:mod:`deblur_core.classical.deconvolution`, the model
runner in :mod:`deblur_core.learned`); each entry here says what the method is called, what it needs
of the kernel, its options and their ranges, what it takes, and how it is run. The order of the
entries is the order of the menus.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING

import numpy as np

from deblur_core.image import check_image
from deblur_core.restoration.catalogue import Method, Option, get_method, register

if TYPE_CHECKING:
    from deblur_core.restoration.restore import MethodCall

__all__ = [
    "DECONVOLVER",
    "ESTIMATED_DECONVOLVER",
    "ESTIMATED_RICHARDSON_LUCY",
    "ESTIMATED_WIENER",
    "RICHARDSON_LUCY",
    "TRAINED_MODEL",
    "UNSUPERVISED_WIENER",
    "WIENER",
]

NSR_CHOICES = ("auto", 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1)


def _deconvolve(function: str):
    """The run function of the classical deconvolution ``deblur_core.classical.<function>``.

    The classical package is imported when a method runs, not when the catalogue is read, so the
    command line's help and ``blur`` start without loading SciPy's and scikit-image's restoration code.
    """

    def run(call: MethodCall) -> np.ndarray:
        from deblur_core import classical

        fn = getattr(classical, function)
        return fn(call.image, call.kernel, on_progress=call.on_progress, cancel=call.cancel, **call.options)

    return run


WIENER = register(
    Method(
        name="wiener",
        title="Wiener deconvolution",
        summary="Wiener deconvolution: fast, one pass in the Fourier domain; the noise level is estimated.",
        description=(
            "Divides the blur out in the frequency domain, holding back the frequencies where noise would win. "
            "Instant, needs the blur kernel; a wrong kernel leaves ripples."
        ),
        kernel="needs",
        run=_deconvolve("wiener"),
        options=(
            Option(
                name="nsr",
                title="Noise-to-signal ratio",
                help="noise-to-signal ratio (default: estimated from the image)",
                kind=float,
                default="auto",
                metavar="F",
                choices=NSR_CHOICES,
                app_value=0.01,
                automatic="auto",
                app_help=(
                    "Larger values give a smoother result with fewer ripples. 0.01 suits 8-bit video frames; "
                    "'auto' estimates it from each frame, which tends to leave ripples on video."
                ),
                offered_for=("frames",),
            ),
        ),
        references=(
            "N. Wiener, Extrapolation, Interpolation, and Smoothing of Stationary Time Series, MIT Press, 1949.",
            "B. R. Hunt, The application of constrained least squares estimation to image restoration by "
            "digital computer, IEEE Transactions on Computers C-22(9), 1973.",
        ),
    )
)

RICHARDSON_LUCY = register(
    Method(
        name="richardson-lucy",
        title="Richardson-Lucy",
        summary="Richardson-Lucy: iterative, keeps values positive; more iterations, more detail and noise.",
        description=(
            "Repeatedly re-blurs its current guess and corrects it where it disagrees with the photo. "
            "Needs the blur kernel; more iterations give more detail and more noise."
        ),
        kernel="needs",
        run=_deconvolve("richardson_lucy"),
        options=(
            Option(
                name="iterations",
                title="Iterations",
                help="number of iterations (default 30)",
                kind=int,
                default=30,
                low=1,
                high=10000,
                widget=(5, 100, 5),
            ),
        ),
        references=(
            "W. H. Richardson, Bayesian-based iterative method of image restoration, JOSA 62(1), 1972.",
            "L. B. Lucy, An iterative technique for the rectification of observed distributions, "
            "The Astronomical Journal 79(6), 1974.",
            "M. Bertero and P. Boccacci, A simple method for the reduction of boundary effects in the "
            "Richardson-Lucy approach to image deconvolution, Astronomy & Astrophysics 437, 2005.",
        ),
    )
)

UNSUPERVISED_WIENER = register(
    Method(
        name="unsupervised-wiener",
        title="Unsupervised Wiener",
        summary="Unsupervised Wiener-Hunt: estimates its own regularisation; slowest, no parameter.",
        description=(
            "A Wiener filter that estimates the noise and image statistics by itself (a Gibbs sampler). "
            "Needs the blur kernel but no tuning; the slowest of the three."
        ),
        kernel="needs",
        run=_deconvolve("unsupervised_wiener"),
        slow=True,
        references=(
            "F. Orieux, J.-F. Giovannelli and T. Rodet, Bayesian estimation of regularization and point "
            "spread function parameters for Wiener-Hunt deconvolution, JOSA A 27(7), 2010.",
        ),
    )
)


def _runner_in_background(call: MethodCall, model: str | None = None):
    """Start loading the call's model (or ``model``) on a thread; return a function that waits for it and gives the
    runner.

    The first load in a process imports TensorFlow and reads the file (seconds); the Wiener step
    meanwhile spends its time in FFTs that release the interpreter, so the two overlap. A model
    already in the registry's cache comes back at once.
    """
    box: dict = {}

    def load() -> None:
        try:
            box["runner"] = call.runner(model)
        except BaseException as exc:  # handed to the caller, who raises it
            box["error"] = exc

    thread = threading.Thread(target=load, name="model-loader", daemon=True)
    thread.start()

    def wait():
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["runner"]

    return wait


def _deconvolve_and_refine(call: MethodCall, image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Wiener with ``kernel``, the network that refines it, and the consistency step (deblur_core.learned.deconvolver);
    with an estimated kernel, the Wiener step regularised more and the consistency step trusting the network more."""
    from deblur_core.classical.noise import estimate_noise_sigma
    from deblur_core.learned.deconvolver import data_consistency, method_settings, network_input, stack_ratio

    approximate = call.kernel_estimated or call.method.kernel == "estimates"
    model = _network(call, approximate)
    nsr_factor, trust = method_settings(approximate)
    # The model's card says how wide a stack it reads (7, or 10 with the more regularised deconvolution).
    channels = int(call.registry.resolve(model).input["channels"])
    with call.stage("Wiener deconvolution"):
        # The noise and the ratio are measured before the model starts loading: they need the interpreter much of
        # their time, and beside a first import of TensorFlow they took about 2 s instead of 0.3 on a 12-MP photo. The
        # FFTs that follow release the interpreter, so the loading overlaps them.
        sigma = estimate_noise_sigma(image)
        ratio = stack_ratio(image, kernel, sigma, nsr_factor)
        runner = _runner_in_background(call, model)
        stack = network_input(
            image,
            kernel,
            sigma,
            channels=channels,
            on_progress=call.on_progress,
            cancel=call.cancel,
            lazy=True,
            ratio=ratio,
        )
    with call.stage("Refining network"):
        refined = runner()(stack, on_progress=call.on_progress, cancel=call.cancel)
        del stack
    with call.stage("Consistency with the photo"):
        return data_consistency(image, refined, kernel, sigma, trust, overwrite=True)


def _network(call: MethodCall, approximate: bool) -> str:
    """The model that refines the deconvolution: the one trained on kernels known exactly where the kernel is
    (and it is installed, and the caller asked for no other model), else the method's own."""
    exact = call.method.exact_model
    if approximate or exact is None or call.model != call.method.model or exact not in call.registry.names():
        return call.model
    return exact


def _run_deconvolver(call: MethodCall) -> np.ndarray:
    """The learned deconvolver with the given kernel."""
    return _deconvolve_and_refine(call, call.image, call.kernel)


DECONVOLVER = register(
    Method(
        name="deconvolver",
        title="Learned deconvolver",
        summary="Learned deconvolver: Wiener with the kernel, then a small network removes its noise and ripples.",
        description=(
            "Divides the blur out with a Wiener filter, like the classical method, then a small neural network "
            "trained on thousands of photos cleans up the noise and ripples the division leaves: one network for a "
            "kernel known exactly, another, more wary, for a kernel that is a guess. Needs the blur kernel; under a "
            "second per megapixel on two cores, three to four times the blind model's time."
        ),
        kernel="needs",
        run=_run_deconvolver,
        takes=("photo", "frames"),
        family="learned",
        model="deconv-unet",
        exact_model="deconv-unet-exact",
        loads_model_itself=True,
        references=(
            "J. Dong, S. Roth and B. Schiele, Deep Wiener deconvolution: Wiener meets deep learning for image "
            "deblurring, NeurIPS 2020.",
            "J. Kruse, C. Rother and U. Schmidt, Learning to push the limits of efficient FFT-based image "
            "deconvolution, ICCV 2017.",
            "K. Zhang, W. Zuo, S. Gu and L. Zhang, Learning deep CNN denoiser prior for image restoration, CVPR 2017.",
        ),
    )
)


def _estimate_then(deconvolve):
    """The run function of "estimate the kernel, then ``deconvolve(call, image, kernel)`` with it".

    Where no convincing blur is found the photo comes back as it is, with the identity kernel.
    """

    def run(call: MethodCall):
        from deblur_core.classical.estimate import estimate_kernel

        image = check_image(call.image)
        with call.stage("Estimating the blur kernel"):
            found = estimate_kernel(image, on_progress=call.on_progress, cancel=call.cancel)
        if found.fallback:
            return image, found.kernel
        return deconvolve(call, image, found.kernel), found.kernel

    return run


ESTIMATED_DECONVOLVER = register(
    Method(
        name="estimated-deconvolver",
        title="Estimated kernel + learned deconvolver",
        summary="Finds the blur kernel in the photo, then runs the learned deconvolver with it (experimental).",
        description=(
            "Estimates the blur kernel from the photo's strongest edges (a coarse-to-fine search that prefers few, "
            "sharp edges), shows it, and hands it to the learned deconvolver. Where it finds no convincing blur it "
            "leaves the photo as it is rather than guess. Experimental: it finds Gaussian and defocus blur well, "
            "motion and camera shake less often; two to three seconds more per photo."
        ),
        kernel="estimates",
        run=_estimate_then(_deconvolve_and_refine),
        takes=("photo", "frames"),
        family="learned",
        model="deconv-unet",
        loads_model_itself=True,
        slow=True,
        with_kernel="deconvolver",
        references=(
            "J. Pan, Z. Hu, Z. Su and M.-H. Yang, Deblurring text images via L0-regularized intensity and gradient "
            "prior, CVPR 2014.",
            "L. Xu, S. Zheng and J. Jia, Unnatural L0 sparse representation for natural image deblurring, CVPR 2013.",
            "S. Cho and S. Lee, Fast motion deblurring, SIGGRAPH Asia 2009.",
        ),
    )
)


def _classical_with_kernel(method: str):
    """``deconvolve(call, image, kernel)`` for the classical method ``method``, timed as its own stage."""
    deconvolve = _deconvolve(method.replace("-", "_"))

    def run(call: MethodCall, image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        with call.stage(get_method(method).title):
            return deconvolve(dataclasses.replace(call, image=image, kernel=kernel))

    return run


def _estimating(name: str, title: str, then: str, summary: str) -> Method:
    """A classical deconvolution handed the kernel estimated from the photo: for comparisons."""
    return register(
        Method(
            name=name,
            title=title,
            summary=summary,
            description=(
                f"Estimates the blur kernel from the photo, as the learned deconvolver's estimating method does, "
                f"then runs the classical method ({then}) with it. Where no convincing blur is found the photo "
                "is left as it is. For comparisons: it shows how much of the result is the kernel and how much "
                "the network."
            ),
            kernel="estimates",
            run=_estimate_then(_classical_with_kernel(then)),
            takes=("photo", "frames"),
            slow=True,
            with_kernel=then,
        )
    )


ESTIMATED_WIENER = _estimating(
    "estimated-wiener",
    "Estimated kernel + Wiener",
    "wiener",
    "Finds the blur kernel in the photo, then Wiener deconvolution with it (for comparisons).",
)
ESTIMATED_RICHARDSON_LUCY = _estimating(
    "estimated-richardson-lucy",
    "Estimated kernel + Richardson-Lucy",
    "richardson-lucy",
    "Finds the blur kernel in the photo, then Richardson-Lucy with it (for comparisons).",
)


def _run_model(call: MethodCall) -> np.ndarray:
    """A trained model of the registry, on a photo or (for a video model) a stack of frames."""
    runner = call.runner()
    if runner.frames == 1:
        check_image(call.image)
    return runner(
        np.asarray(call.image, np.float32), upscale=call.upscale, on_progress=call.on_progress, cancel=call.cancel
    )


TRAINED_MODEL = Method(
    name="trained-model",
    title="A trained model",
    summary="a shipped or user model, see 'models': blind, it finds the blur itself",
    description=(
        "Neural networks that learned from thousands of pairs of blurred and sharp pictures how to undo blur. "
        "They are *blind*: they need no kernel and work out the blur themselves, but they only know the kinds "
        "of blur they were trained on."
    ),
    kernel="none",
    run=_run_model,
    family="learned",
)
"""How every model of the registry runs (``default``, a model's name, a ``.keras`` path); it is not in
the catalogue, whose names are the ones that are not models."""
