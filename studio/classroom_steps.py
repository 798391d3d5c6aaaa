"""The eight steps of the Classroom page: two or three sentences, one or two controls, the pictures.

Each step is a function of the :class:`~studio.classroom_view.Lesson` (the picture, the blur of step 1,
the noise of step 3). Controls keep their values between steps (``classroom_view.keep_state``).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from deblur_core import metrics
from deblur_core.classical import teaching
from deblur_core.metrics import format_psnr, format_ssim
from studio import classroom, images, services
from studio import classroom_view as view
from studio.classroom_view import KIND_LABELS, Lesson, P
from studio.tasks import KernelSettings, digest

CONTROLS = [1, 1.35, 1.35, 1.35]  # the controls' column, then three pictures
KIND_HELP = (
    "Motion: the camera moved in a straight line. Gaussian: soft focus. Defocus: the lens focused elsewhere, "
    "each point becomes a disc. Camera shake: a hand-held jitter."
)


def blur_sliders(prefix: str, kinds: tuple[str, ...]) -> KernelSettings:
    """The blur type and its size (and the angle, for motion), under keys starting with ``prefix``."""
    kind = st.selectbox("Blur type", kinds, format_func=KIND_LABELS.get, key=prefix + "kind", help=KIND_HELP)
    values: dict = {"kind": kind}
    if kind == "motion":
        values["length"] = st.slider("Length (px)", 3, 41, key=prefix + "length", help="How far the camera moved.")
        values["angle"] = st.slider("Angle (°)", 0, 179, key=prefix + "angle", help="0° is horizontal.")
    elif kind == "gaussian":
        values["sigma"] = st.slider("Width sigma (px)", 0.5, 6.0, step=0.1, key=prefix + "sigma")
    elif kind == "defocus":
        values["radius"] = st.slider("Radius (px)", 1.0, 12.0, step=0.5, key=prefix + "radius")
    else:
        values["size"] = st.slider("Size (px)", 7, 41, step=2, key=prefix + "size", help="A hand-held jitter.")
    return KernelSettings(**values)


def step_convolution(lesson: Lesson) -> None:
    view.intro(
        0,
        "A blurred photo is the sharp one with every point of light spread into a small pattern, the **kernel** "
        "(or point-spread function). Adding up all those spread copies is called a **convolution**. "
        "On the right, single dots of light on black become the kernel itself.",
    )
    controls, sharp, blurred, stars = st.columns(CONTROLS)
    with controls:
        settings = blur_sliders(P, ("motion", "gaussian", "defocus", "shake"))
        kernel = settings.kernel()
        picture = images.kernel_picture(kernel, 96)
        st.image(picture, caption=f"The kernel ({kernel.shape[1]} × {kernel.shape[0]} px)", width=picture.shape[1])
    view.show(sharp, lesson.sharp, "Sharp picture")
    view.show(blurred, view.blurred(lesson.key, lesson.sharp, settings.spec()), f"Blurred: {settings.describe()}")
    field = classroom.star_field(96, 96)
    dots = view.blurred("stars", field, settings.spec())
    view.show(
        stars,
        images.enlarge_nearest(np.clip(dots / max(dots.max(), 1e-6), 0, 1), 3),
        "Dots of light, blurred (3× enlarged)",
    )


def step_frequencies(lesson: Lesson) -> None:
    view.intro(
        1,
        "Every picture is a sum of stripes of different **frequencies**: coarse stripes near the centre of each "
        "square, the finest at its edges; bright means much of that stripe. A blur lets each frequency through "
        "by a factor **|K|** (its transfer function): the blurred spectrum is the sharp one times |K|, and where "
        "|K| is zero, the detail is gone for good.",
    )
    controls, sharp, gain, product = st.columns([1.2, 1.3, 1.3, 1.3])
    with controls:
        mark = st.toggle(
            "Mark what is lost", key=P + "mark", help="White: frequencies the blur keeps less than 1 % of."
        )
        st.caption(
            f"Blur from step 1: {lesson.blur.describe()}. Motion blur wipes out lines of stripes, defocus rings, "
            "one every 1 / length cycles per pixel (a stripe repeating every 10 px is 0.1 cycles per pixel)."
        )
    shape = lesson.sharp.shape[:2]
    k = view.transfer(lesson.spec, shape)
    view.show(
        sharp,
        view.spectrum(lesson.key, lesson.sharp),
        "Spectrum of the sharp picture (log scale, so faint stripes show too)",
    )
    view.show(gain, classroom.transfer_picture(k, mark), "|K|: what the blur lets through (yellow 100 %, dark 0.1 %)")
    blurred_spectrum = view.spectrum(
        digest(lesson.key, lesson.spec), view.blurred(lesson.key, lesson.sharp, lesson.spec)
    )
    view.show(product, classroom.marked(blurred_spectrum, k, mark), "Spectrum of the blurred picture: the product")


def step_noise(lesson: Lesson) -> None:
    view.intro(
        2,
        "Every camera adds a little **noise**, a random grain (measured here in grey levels out of 255). Noise holds "
        "all frequencies equally, so it lays a flat **noise floor** under the spectrum: wherever the blurred detail "
        "falls below that floor, it is drowned.",
    )
    controls, picture, spectrum, chart = st.columns([1, 1.2, 1.2, 1.6])
    with controls:
        noise = st.slider("Noise (grey levels)", 0.0, 20.0, step=0.5, key=P + "noise", help="Standard deviation.")
    clean = view.blurred(lesson.key, lesson.sharp, lesson.spec)
    noisy = view.blurred(lesson.key, lesson.sharp, lesson.spec, noise)
    view.show(picture, noisy, f"Blurred, with {noise:g} grey levels of noise")
    view.show(spectrum, view.spectrum(digest(lesson.key, lesson.spec, noise), noisy), "Its spectrum (log scale)")
    curves = {
        "sharp": view.power(lesson.key, lesson.sharp),
        "blurred": view.power(digest(lesson.key, lesson.spec), clean),
        "blurred + noise": view.power(digest(lesson.key, lesson.spec, noise), noisy),
    }
    floor = teaching.noise_floor(noise / 255.0)
    view.plot(chart, classroom.power_chart(curves, floor, lesson.chart_height), P + "power_chart")


def step_inverse(lesson: Lesson) -> None:
    view.intro(
        3,
        "Blurring multiplied each frequency by K, so dividing by K should undo it: the **inverse filter**. Without "
        "noise it is perfect. But the noise was never blurred: divided by a tiny |K| it grows enormously, and even a "
        "fraction of a grey level buries the picture. The map shows how much each frequency is multiplied.",
    )
    controls, clean, noisy, gain = st.columns(CONTROLS)
    with controls:
        noise = st.select_slider(
            "Noise (grey levels)",
            classroom.INVERSE_NOISE_CHOICES,
            key=P + "inverse_noise",
            format_func=lambda v: f"{v:g}",
        )
        st.caption(f"Blur from step 1: {lesson.blur.describe()}.")
    exact = view.inverse(lesson.key, lesson.sharp, lesson.spec, 0.0)
    view.show(clean, exact, f"Inverse filter, no noise: {view.psnr_text(lesson.sharp, exact)}")
    result = view.inverse(lesson.key, lesson.sharp, lesson.spec, float(noise))
    view.show(noisy, result, f"With {noise:g} grey levels of noise: {view.psnr_text(lesson.sharp, result)}")
    k = view.transfer(lesson.spec, lesson.sharp.shape[:2])
    view.show(
        gain,
        classroom.gain_picture(k),
        "How much the inverse multiplies each frequency, noise too: dark 1×, yellow 1000×",
    )


def step_wiener(lesson: Lesson) -> None:
    view.intro(
        4,
        "The **Wiener filter** divides by K only where the blur left more picture than noise, and lets go elsewhere. "
        "Its one setting, the **noise-to-signal ratio (NSR)**, says how much noise to expect: too small lets the "
        "noise through, too large leaves the blur. **PSNR** measures how close the result is to the sharp picture, "
        "in decibels (dB): higher is better.",
    )
    controls, picture, gain, curve = st.columns([1, 1.2, 1.4, 1.4])
    with controls:
        nsr = st.select_slider("NSR", classroom.NSR_CHOICES, key=P + "nsr", format_func=lambda v: f"{v:.0e}")
        st.caption(f"Noise from step 3: {lesson.noise:g} grey levels. Blur: {lesson.blur.describe()}.")
    result = view.wiener(lesson.key, lesson.sharp, lesson.spec, lesson.noise, float(nsr))
    view.show(picture, result, f"Wiener, NSR {nsr:.0e}: {view.psnr_text(lesson.sharp, result)}")
    view.plot(gain, classroom.gain_chart(lesson.blur, float(nsr), lesson.chart_height), P + "gain_chart")
    psnrs = view.nsr_curve(lesson.key, lesson.sharp, lesson.spec, lesson.noise)
    figure = classroom.curve_chart(classroom.NSR_CHOICES, psnrs, nsr, "NSR", lesson.chart_height, log_x=True)
    view.plot(curve, figure, P + "nsr_chart")


def step_lucy(lesson: Lesson) -> None:
    view.intro(
        5,
        "**Richardson-Lucy** improves a guess step by step: blur the guess, compare it with the photo, correct it where "
        "they differ. The first steps bring back the large shapes, later ones the fine detail, and after that the "
        "noise: the PSNR rises, peaks and falls. Knowing when to stop is part of the method.",
    )
    controls, picture, curve = st.columns([1, 1.5, 2.5])
    with controls:
        steps = st.select_slider("Iterations", classroom.ITERATION_CHOICES, key=P + "iterations")
        st.caption(f"Noise from step 3: {lesson.noise:g} grey levels. Blur: {lesson.blur.describe()}.")
    with st.spinner("Running Richardson-Lucy once for every number of iterations…"):
        psnrs, pictures = view.lucy(lesson.key, lesson.sharp, lesson.spec, lesson.noise)
    view.show(picture, pictures[steps], f"After {steps} iterations: PSNR {format_psnr(psnrs[steps - 1])}")
    counts = np.arange(1, len(psnrs) + 1)
    view.plot(curve, classroom.curve_chart(counts, psnrs, steps, "iterations", lesson.chart_height), P + "rl_chart")


def _learning_methods(menu) -> list:
    """The blind default model, the learned deconvolver, Wiener and Richardson-Lucy: those installed here."""
    blind = menu.default if menu.model_available and menu.default.kernel == "none" else None
    picks = [blind, menu.by_method("deconvolver"), menu.by_method("wiener"), menu.by_method("richardson-lucy")]
    estimating = [c for c in menu.choices if c.kernel == "estimates"][:1]
    return [c for c in picks + estimating if c is not None]


def step_learning(lesson: Lesson) -> None:
    view.intro(
        6,
        "A **learned** method has seen thousands of blurred and sharp pairs. The **learned deconvolver** is handed "
        "the kernel and cleans up what Wiener leaves; a **blind model** never sees the kernel and must judge the blur "
        "from the picture. All get the same noisy input. **SSIM** (0 to 1) says how alike the structures look.",
    )
    noisy = view.blurred(lesson.key, lesson.sharp, lesson.spec, lesson.noise)
    menu = services.get_menu(noisy.shape[:2])
    kernel = lesson.blur.kernel()
    controls, grid = st.columns([1, 4])
    with controls:
        errors = st.radio("Show", ["The results", "Their errors"], key=P + "show") == "Their errors"
        st.caption("Errors: dark is right, yellow is off by a quarter of the brightness range.")
        missing = [] if menu.by_method("deconvolver") else ["the learned deconvolver"]
        missing += [] if menu.model_available else ["a blind model"]
        if missing:
            st.caption(f"Not installed here: {' and '.join(missing)}.")
        kernel_slot = st.empty()  # the true kernel, and beside it the estimated one once a method has found it
    tiles = [(f"Input: {view.psnr_text(lesson.sharp, noisy)}", noisy, None)]
    for choice in _learning_methods(menu):
        with services.friendly_errors(f"running {choice.label}"):
            key_parts = (lesson.key, lesson.spec, lesson.noise)
            res = services.restore_job(
                noisy, choice, kernel if choice.needs_kernel else None, lesson.sharp, {}, key_parts
            )
            caption = f"{choice.label}: PSNR {format_psnr(res.psnr_out)}, SSIM {format_ssim(res.ssim_out)}"
            if res.kernel_source == "estimated" and res.kernel is not None and res.kernel.shape == (1, 1):
                caption += " (no clear blur found: left as it was)"
            tiles.append((caption, res.output, res.kernel if res.kernel_source == "estimated" else None))
    found = [k for _, _, k in tiles if k is not None and k.shape != (1, 1)]
    with kernel_slot.container():  # beside the controls, so that the grid of results keeps to one screen
        if found:
            true, guess = classroom.same_scale(kernel, found[0])
            pair = np.concatenate([images.kernel_picture(true, 72), images.kernel_picture(guess, 72)], axis=1)
            st.image(pair, caption="The true kernel, and the one estimated from the picture", width=150)
        else:
            st.image(images.kernel_picture(kernel, 72), caption="The true kernel", width=72)
    with grid, st.container(key="classroom_grid"):
        for start in range(0, len(tiles), 3):
            columns = st.columns(3)
            for column, (caption, picture, _) in zip(columns, tiles[start : start + 3], strict=False):
                shown = classroom.error_picture(picture, lesson.sharp) if errors else picture
                view.show(column, shown, caption)


def _reveal() -> None:
    st.session_state[P + "revealed"] = True


def _new_puzzle() -> None:
    st.session_state[P + "puzzle"] = int(st.session_state[P + "puzzle"]) + 1
    st.session_state[P + "revealed"] = False


def step_quiz(lesson: Lesson) -> None:
    view.intro(
        7,
        "Your turn. This picture was blurred with a kernel the page keeps secret. Guess its type and size with the "
        "sliders, compare your guess (middle) with the mystery picture (left), then press **Reveal**.",
    )
    secret = classroom.puzzle(int(st.session_state[P + "puzzle"]))
    controls, mystery, guess, answer = st.columns(CONTROLS)
    with controls:
        settings = blur_sliders(P + "q_", ("motion", "gaussian", "defocus"))
        reveal, again = st.columns(2)
        reveal.button("Reveal", key=P + "reveal", type="primary", on_click=_reveal)
        again.button("New", key=P + "new", help="Another mystery blur", on_click=_new_puzzle)
    puzzle_picture = view.blurred(lesson.key, lesson.sharp, secret.spec())
    guessed = view.blurred(lesson.key, lesson.sharp, settings.spec())
    view.show(mystery, puzzle_picture, "The mystery blur")
    view.show(guess, guessed, f"Your guess: {settings.describe()}")
    with answer:
        if st.session_state[P + "revealed"]:
            st.markdown(f"**It was {secret.describe()}.**")
            left, right = st.columns(2)
            true, guess = classroom.same_scale(secret.kernel(), settings.kernel())
            left.image(images.kernel_picture(true, 96), caption="The secret kernel", width="stretch")
            right.image(images.kernel_picture(guess, 96), caption="Your guess", width="stretch")
            score = metrics.psnr(puzzle_picture, guessed)
            st.markdown(
                f"Your blurred picture matches the mystery one to **{format_psnr(score)}** (40 dB: almost exact)."
            )
        else:
            st.info("The answer appears here.", icon=":material/visibility_off:")


STEP_VIEWS = (
    step_convolution,
    step_frequencies,
    step_noise,
    step_inverse,
    step_wiener,
    step_lucy,
    step_learning,
    step_quiz,
)
