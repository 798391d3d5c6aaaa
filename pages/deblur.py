"""Deblur: restore your own blurry photos, or blur a sharp picture on purpose and restore it."""

from __future__ import annotations

import numpy as np
import streamlit as st

from deblur_core import kernels
from deblur_core.io import ALLOWED_TEXT, IMAGE_SUFFIXES, LoadedImage, output_like
from studio import archives, images, kernel_panel, router, samples, services, widgets
from studio.example import EXAMPLE_KERNEL, EXAMPLE_NOISE, EXAMPLE_SAMPLE, worked_example
from studio.methods import MethodChoice, cli_command
from studio.tasks import EstimateSettings, KernelSettings, blur_picture, digest, preview_restore

router.require_app()

IMAGE_TYPES = [suffix.lstrip(".") for suffix in IMAGE_SUFFIXES]
MODES = ["My photo is blurry", "Blur it for me"]
PREVIEW_CROP = 192


def download_png(label: str, loaded: LoadedImage | None, output: np.ndarray, file_name: str, key: str) -> None:
    """A download button whose full-size PNG is encoded only when clicked."""

    def encode() -> bytes:
        if loaded is not None:  # transparency and greyscale put back; an enlarged result gets its alpha resized
            return output_like(loaded, output)
        return images.png_bytes(output)

    st.download_button(
        label,
        encode,
        file_name=file_name,
        mime="image/png",
        key=key,
        on_click="ignore",
        type="primary",
        icon=":material/download:",
    )


# -- the worked example ------------------------------------------------------------------------------


def show_example() -> None:
    menu = services.get_menu()
    choice = menu.kernel_default()  # the blur is known here: the method that uses the kernel best
    st.subheader("Worked example")
    with services.friendly_errors("preparing the worked example"):
        if not services.model_ready(choice):  # a fresh server: the bar under the title says how far it is
            st.caption(f"The worked example appears here as soon as the model {choice.model} has loaded.")
            return
        with st.spinner("Preparing the worked example (once per server)…"):
            example = worked_example(choice)
        result = example.result
        st.markdown(
            f"A sample photo, blurred on purpose with **{EXAMPLE_KERNEL.describe()}** and a little noise, "
            f"then restored with **{choice.label}**"
            + (", handed the true kernel" if choice.needs_kernel else "")
            + ". Upload your own photo above, or choose *Blur it for me*."
        )
        for note in menu.notes[:1]:
            st.info(note)
        widgets.result_view("deblur_example", example.blurred, result, example.sharp, choice)
        st.code(
            cli_command(
                choice,
                f"{EXAMPLE_SAMPLE}.png",
                EXAMPLE_KERNEL.spec(),
                blur_spec=EXAMPLE_KERNEL.spec(),
                noise=EXAMPLE_NOISE,
            ),
            language="bash",
            wrap_lines=True,
        )


# -- mode 1: my photo is blurry ----------------------------------------------------------------------


def kernel_live_preview(image: np.ndarray, choice: MethodChoice, kernel: np.ndarray, options: dict) -> None:
    """The classical method on a small centre crop, recomputed as the sliders move."""
    top, left, bottom, right = images.crop_box(image.shape[0], image.shape[1], 0.5, 0.5, PREVIEW_CROP)
    crop = np.ascontiguousarray(image[top:bottom, left:right])
    registry = services.get_registry()
    key = digest("live", crop, kernel, choice.method, sorted(options.items()))
    restored = services.run_job(
        key, lambda _p, _c: preview_restore(crop, choice, kernel, registry, options), "Live preview"
    )
    c1, c2 = st.columns(2)
    factor = 2 if crop.shape[1] <= 200 else 1
    c1.image(images.enlarge_nearest(images.to_uint8(crop), factor), caption="Centre crop, as uploaded", width="content")
    c2.image(images.enlarge_nearest(images.to_uint8(restored), factor), caption="Live preview", width="content")


def _photo_inputs() -> tuple[list, list[dict]]:
    """The uploaded photos (decoded) and, without uploads, a real blurry photo chosen from the research images."""
    files = st.file_uploader(
        "Blurry photo(s)",
        type=IMAGE_TYPES,
        accept_multiple_files=True,
        key="deblur_upload",
        help=f"{ALLOWED_TEXT}. Kept in memory for your session only, never written to disk.",
    )
    uploads, problems = services.decode_uploads(files, "deblur_upload_decoded")
    for problem in problems:
        st.error(problem)

    real = samples.real_pairs()
    real_choice = None
    if real and not uploads:
        titles = ["—"] + [p.title for p in real]
        picked = st.selectbox(
            "…or try a real blurry photo with its sharp original (research images found on this computer)",
            titles,
            key="deblur_real",
        )
        real_choice = next((p for p in real if p.title == picked), None)

    inputs: list[dict] = []
    for up in uploads:
        inputs.append({"name": up.name, "stem": up.stem, "rgb": up.rgb, "loaded": up.loaded, "key": up.key})
    if real_choice is not None:
        with services.friendly_errors("reading the example photo"):
            blurred, sharp = samples.load_real_pair(real_choice.blurred, real_choice.sharp)
            inputs.append(
                {
                    "name": real_choice.blurred.name,
                    "stem": real_choice.blurred.stem,
                    "rgb": blurred,
                    "loaded": None,
                    "key": digest("real", real_choice.key),
                    "truth": sharp,
                    "truth_key": digest("real-sharp", real_choice.key),
                }
            )
    return uploads, inputs


def _sharp_originals(uploaded: list[dict]) -> None:
    """Optional sharp originals of the uploaded photos, to measure PSNR and SSIM (stored in each item)."""
    with st.expander("Sharp originals (optional): upload one to measure PSNR and SSIM", expanded=False):
        for item in uploaded:
            truth_file = st.file_uploader(
                f"Sharp original of {item['name']}", type=IMAGE_TYPES, key=f"deblur_truth_{item['key'][:12]}"
            )
            truths, truth_problems = services.decode_uploads(
                [truth_file] if truth_file else [], f"deblur_truth_decoded_{item['key'][:12]}"
            )
            for problem in truth_problems:
                st.error(problem)
            if truths:
                truth = truths[0]
                if truth.rgb.shape != item["rgb"].shape:
                    st.error(
                        f"{truth.name} is {truth.loaded.width} × {truth.loaded.height} px but "
                        f"{item['name']} is {item['rgb'].shape[1]} × {item['rgb'].shape[0]} px; the sharp "
                        "original must have exactly the same size, so it is not used."
                    )
                else:
                    item["truth"], item["truth_key"] = truth.rgb, truth.key


def _method_and_kernel(
    first: dict,
) -> tuple[MethodChoice, dict, np.ndarray | None, str | None, EstimateSettings | None]:
    """The method picker and, for a method that needs it, the kernel sliders with the live preview; for a method
    that estimates it, the kernel panel. Returns the choice, its options, the kernel and its spec, and the
    estimate's settings (None where nothing is estimated, or the estimate failed)."""
    menu = services.get_menu(first["rgb"].shape[:2])
    for note in menu.notes:
        st.info(note)
    c_method, c_kernel = st.columns([1, 1], gap="large")
    with c_method:
        choice, options = widgets.method_picker("deblur", menu)
    kernel, spec, steer = None, None, None
    if choice.needs_kernel:
        with c_kernel:
            st.markdown("**Your guess of the blur** (this method needs it)")
            note = kernel_panel.took_over_note("deblur_est")
            if note:
                st.info(note, icon=":material/tune:")
            settings = widgets.kernel_controls("deblur_guess", KernelSettings(kind="gaussian", sigma=2.0))
            with services.friendly_errors("building the kernel"):
                kernel, spec = settings.kernel(), settings.spec()
                widgets.show_kernel(kernel, settings.describe())
        if kernel is not None:
            st.markdown("**Live preview** on a small crop: move the sliders until the crop looks sharp.")
            with services.friendly_errors("previewing the method"):
                kernel_live_preview(first["rgb"], choice, kernel, options)
    elif choice.kernel == "estimates":
        taker = menu.by_method(choice.with_kernel) if choice.with_kernel else None
        take_over = kernel_panel.TakeOver(taker, "deblur_method", "deblur_guess") if taker else None
        shown = kernel_panel.estimate_panel("deblur_est", first["rgb"], first["key"], take_over, c_method, c_kernel)
        steer = shown[0] if shown is not None else None
    else:
        with c_kernel:
            st.caption("Trained models are blind: they need no kernel and work out the blur themselves.")
    return choice, options, kernel, spec, steer


def _requested(
    inputs: list[dict], choice: MethodChoice, options: dict, spec: str | None, steer: EstimateSettings | None
) -> bool:
    """Whether to restore now: at once for a method with nothing to tune (or tuned by Re-estimate), on the button otherwise."""
    count = len(inputs)
    request = {
        "inputs": [(i["key"], i.get("truth_key")) for i in inputs],
        "method": choice.cache_id(),
        "spec": spec,
        "estimate": steer,
        "options": sorted(options.items()),
    }
    if choice.needs_kernel:
        label = "Deblur" if count == 1 else f"Deblur {count} photos"
        if st.button(label, type="primary", key="deblur_run", icon=":material/auto_fix_high:"):
            st.session_state["deblur_request"] = request
    else:
        # A blind model has nothing to tune first: restore as soon as the photos or the model change.
        st.session_state["deblur_request"] = request
    done = st.session_state.get("deblur_request")
    if not done:
        st.caption("Shape the kernel until the live preview looks sharp, then press Deblur for the full picture.")
        return False
    if done != request:
        st.info("You changed the settings or the photos since the last run: press Deblur to apply them.")
        return False
    return True


def _download_all(results: list) -> None:
    """One zip of every result, encoded only when clicked."""

    def zip_all() -> bytes:
        files = []
        for it, r in results:
            loaded = it["loaded"]
            data = output_like(loaded, r.output) if loaded is not None else images.png_bytes(r.output)
            files.append((f"{it['stem']}_deblurred.png", data))
        return archives.build_zip(files)

    st.download_button(
        f"Download all {len(results)} as a zip",
        zip_all,
        file_name="deblurred.zip",
        mime="application/zip",
        key="deblur_download_zip",
        on_click="ignore",
        icon=":material/folder_zip:",
    )


def _show_results(results: list, choice: MethodChoice, spec: str | None, steer: EstimateSettings | None) -> None:
    """A table of several results with a picker, the downloads, then the chosen result in full."""
    st.subheader("Result")
    if len(results) > 1:
        rows = []
        for item, res in results:
            row = {"photo": item["name"], "seconds": round(res.seconds, 2)}
            if res.psnr_out is not None:
                row.update({"PSNR (dB)": round(res.psnr_out, 2), "SSIM": round(res.ssim_out, 3)})
            else:
                row.update({"sharpness before": round(res.sharp_in, 3), "sharpness after": round(res.sharp_out, 3)})
            rows.append(row)
        st.dataframe(rows, hide_index=True)
        names = [item["name"] for item, _ in results]
        shown = st.selectbox("Show the result of", names, key="deblur_show")
        item, res = results[names.index(shown)]
    else:
        item, res = results[0]
    file_name = f"{item['stem']}_deblurred.png"
    c1, c2 = st.columns(2)
    with c1:
        download_png(f"Download {file_name}", item["loaded"], res.output, file_name, "deblur_download")
    if len(results) > 1:
        with c2:
            _download_all(results)
    widgets.result_view("deblur_photo", item["rgb"], res, item.get("truth"), choice, blurred_label="Your photo")
    st.markdown("The same on the command line:")
    st.code(cli_command(choice, item["name"], spec, approximate=True), language="bash", wrap_lines=True)
    if steer is not None and steer != EstimateSettings():
        st.caption(f"The command line estimates with {EstimateSettings().describe()}; the result above used yours.")


def photo_mode() -> None:
    uploads, inputs = _photo_inputs()
    if not inputs:
        show_example()
        return
    if uploads:
        _sharp_originals(inputs[: len(uploads)])
    first = inputs[0]
    choice, options, kernel, spec, steer = _method_and_kernel(first)
    services.set_current_input(
        services.CurrentInput(
            name=first["name"],
            blurred=first["rgb"],
            truth=first.get("truth"),
            kernel=kernel,
            kernel_spec=spec,
            description=f"your photo {first['name']}",
            key_parts=(first["key"], first.get("truth_key"), spec),
            kernel_approximate=True,
        )
    )
    failed = choice.kernel == "estimates" and steer is None  # the estimate failed, and the panel said why
    if failed or not _requested(inputs, choice, options, spec, steer):
        return
    results = []
    for item in inputs:
        with services.friendly_errors(f"deblurring {item['name']}"):
            key_parts, estimate = (item["key"], item.get("truth_key"), spec), None
            if steer is not None:  # each photo's own estimate, with the settings of the panel
                estimate = services.estimate_job(item["rgb"], item["key"], steer)
                key_parts += (services.estimate_key(item["key"], steer),)
            # A kernel shaped with the sliders is a guess: the learned deconvolver leans less on it.
            res = services.restore_job(
                item["rgb"], choice, kernel, item.get("truth"), options, key_parts, estimate, kernel_approximate=True
            )
            results.append((item, res))
    if results:
        _show_results(results, choice, spec, steer)


# -- mode 2: blur it for me --------------------------------------------------------------------------


def _sharp_source() -> tuple:
    """The sharp picture to blur: a sample or an upload; returns (pixels, name, cache key, loaded file or None)."""
    source = st.radio("Sharp picture", ["A sample", "My own sharp picture"], horizontal=True, key="deblur_blur_source")
    sharp, sharp_name, sharp_key, loaded = None, None, None, None
    if source == "A sample":
        key = st.selectbox(
            "Sample",
            list(samples.SAMPLES),
            format_func=lambda k: samples.SAMPLES[k].title,
            key="deblur_blur_sample",
        )
        sharp, sharp_name, sharp_key = samples.sample_image(key), f"{key}.png", digest("sample", key)
    else:
        file = st.file_uploader("Sharp picture", type=IMAGE_TYPES, key="deblur_blur_upload")
        ups, problems = services.decode_uploads([file] if file else [], "deblur_blur_decoded")
        for problem in problems:
            st.error(problem)
        if ups:
            sharp, sharp_name, sharp_key, loaded = ups[0].rgb, ups[0].name, ups[0].key, ups[0].loaded
    if sharp is not None:
        st.space(24)  # room for the picture's full-screen button, which sits above its top edge
        st.image(images.preview(sharp, 480).pixels, caption=f"Sharp original: {sharp_name}", width="stretch")
    return sharp, sharp_name, sharp_key, loaded


def _blur_choice() -> tuple[np.ndarray | None, str | None, str, float]:
    """The blur to apply: a kernel from the sliders or a file, and the noise; returns (kernel, spec, words, noise)."""
    kind = st.selectbox(
        "Blur",
        ["motion", "gaussian", "defocus", "shake", "file"],
        format_func=lambda k: widgets.KIND_LABELS.get(k, "My own kernel (.npy or image)"),
        key="deblur_blur_kind",
    )
    kernel, spec, describe = None, None, ""
    with services.friendly_errors("building the kernel"):
        if kind == "file":
            kfile = st.file_uploader("Kernel file", type=["npy", *IMAGE_TYPES], key="deblur_blur_kernel_file")
            if kfile is not None:
                kernel = kernels.load_kernel(kfile.getvalue(), name=kfile.name)
                spec, describe = kfile.name, f"your kernel {kfile.name}"
            else:
                st.caption("A .npy array or a greyscale image; bright pixels are where light falls.")
        else:
            settings = _blur_settings(kind)
            kernel, spec, describe = settings.kernel(), settings.spec(), settings.describe()
    noise_levels = st.slider(
        "Noise (grey levels of 255)",
        0.0,
        10.0,
        1.0,
        0.5,
        key="deblur_blur_noise",
        help="Standard deviation of the Gaussian noise added after the blur.",
    )
    if kernel is not None:
        widgets.show_kernel(kernel, "Blur kernel")
    return kernel, spec, describe, noise_levels / 255.0


def _blur_result(blurred, sharp, sharp_name, loaded, choice, options, kernel, spec, describe, noise, blur_key):
    """Restore the blurred picture with its true kernel and show the result with its downloads."""
    with services.friendly_errors("deblurring the picture"):
        res = services.restore_job(blurred, choice, kernel, np.asarray(sharp), options, (blur_key,))
        st.subheader("Result")
        stem = sharp_name.rsplit(".", 1)[0]
        c1, c2 = st.columns(2)
        with c1:
            download_png(
                f"Download {stem}_deblurred.png", loaded, res.output, f"{stem}_deblurred.png", "deblur_blur_download"
            )
        with c2:
            st.download_button(
                f"Download the blurred {stem}_blurred.png",
                lambda: images.png_bytes(blurred),
                file_name=f"{stem}_blurred.png",
                mime="image/png",
                key="deblur_blur_download_blurred",
                on_click="ignore",
            )
        widgets.result_view(
            "deblur_blur", blurred, res, np.asarray(sharp), choice, blurred_label=f"Blurred ({describe})"
        )
        st.markdown("The same on the command line:")
        st.code(cli_command(choice, sharp_name, spec, blur_spec=spec, noise=noise), language="bash", wrap_lines=True)


def blur_mode() -> None:
    c_src, c_blur = st.columns([1, 1], gap="large")
    with c_src:
        sharp, sharp_name, sharp_key, loaded = _sharp_source()
    with c_blur:
        kernel, spec, describe, noise = _blur_choice()
    if sharp is None:
        st.info("Choose a sample or upload a sharp picture to blur.")
        return
    if kernel is None:
        return
    blur_key = digest("blur", sharp_key, kernel, noise)
    with services.friendly_errors("blurring the picture"):
        blurred = services.run_job(
            blur_key, lambda _p, _c: blur_picture(sharp, kernel, noise, seed=0), "Blurring the picture"
        )
    menu = services.get_menu(sharp.shape[:2])
    for note in menu.notes[1:] if not menu.model_available else menu.notes:
        st.info(note)
    # The blur is known here, so the method that uses the kernel best comes first.
    choice, options = widgets.method_picker("deblur_blur", menu, default=menu.kernel_default())
    if choice.needs_kernel:
        st.caption("The blur is known here, so this method receives the true kernel.")
    services.set_current_input(
        services.CurrentInput(
            name=sharp_name,
            blurred=blurred,
            truth=np.asarray(sharp),
            kernel=kernel,
            kernel_spec=spec,
            description=f"{sharp_name} with {describe}",
            key_parts=(blur_key,),
        )
    )
    request = {"blur": blur_key, "method": choice.cache_id(), "options": sorted(options.items())}
    if st.button("Blur and deblur", type="primary", key="deblur_blur_run", icon=":material/auto_fix_high:"):
        st.session_state["deblur_blur_request"] = request
    done = st.session_state.get("deblur_blur_request")
    if done != request:
        if done:
            st.info("You changed the settings since the last run: press **Blur and deblur** to apply them.")
        st.image(images.preview(blurred).pixels, caption=f"Blurred: {describe}", width="stretch")
        return
    _blur_result(blurred, sharp, sharp_name, loaded, choice, options, kernel, spec, describe, noise, blur_key)


def _blur_settings(kind: str) -> KernelSettings:
    """The sliders for one blur type (keys prefixed so each type keeps its own values)."""
    defaults = KernelSettings(kind=kind, length=15, angle=30, sigma=2.0, radius=4.0, size=21, seed=3)
    if kind == "motion":
        return KernelSettings(
            kind=kind,
            length=st.slider("Length (px)", 3, 61, int(defaults.length), key="deblur_blur_length"),
            angle=st.slider("Angle (°)", 0, 179, int(defaults.angle), key="deblur_blur_angle"),
        )
    if kind == "gaussian":
        return KernelSettings(kind=kind, sigma=st.slider("Sigma (px)", 0.5, 8.0, 2.0, 0.1, key="deblur_blur_sigma"))
    if kind == "defocus":
        return KernelSettings(kind=kind, radius=st.slider("Radius (px)", 1.0, 20.0, 4.0, 0.5, key="deblur_blur_radius"))
    return KernelSettings(
        kind=kind,
        size=st.slider("Size (px)", 7, 51, 21, 2, key="deblur_blur_size"),
        seed=int(st.number_input("Shake pattern", 0, 9999, 3, key="deblur_blur_seed")),
    )


def warm_up() -> None:
    """On a fresh server, a bar right under the title while the model the page starts with loads.

    Drawn before the controls so the first visitor sees at once that the page is alive (on the visitor's
    first run only the title and the bar, the controls half a second later); when the model is ready the
    bar reruns the page, which then shows the worked example.
    """
    loading = False
    with services.friendly_errors("loading the model"):
        choice = services.get_menu().kernel_default()
        loading = not services.model_ready(choice)
        if loading:
            services.model_loading_panel(choice, "the worked example")
    if loading:
        services.draw_rest_of_page_on_next_tick()


# -- page ------------------------------------------------------------------------------------------------

st.title("Deblur")
st.caption(
    "Restore a blurry photo, or blur a sharp picture on purpose to see how well each method undoes it. "
    "Everything runs on this server; nothing is sent anywhere."
)
warm_up()
mode = st.radio("What would you like to do?", MODES, horizontal=True, key="deblur_mode")
if mode == MODES[0]:
    photo_mode()
else:
    blur_mode()
