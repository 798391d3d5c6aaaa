"""What the app offers to restore a picture: registry models that take a still image, and the classical methods.

This module never imports streamlit.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import PurePath

from deblur_core.io import DEFAULT_MAX_PIXELS
from deblur_core.learned.registry import CLASSICAL_NAMES, Registry

CLASSICAL_INFO: dict[str, tuple[str, str]] = {
    "wiener": (
        "Wiener deconvolution",
        "Divides the blur out in the frequency domain, holding back the frequencies where noise would win. "
        "Instant, needs the blur kernel; a wrong kernel leaves ripples.",
    ),
    "richardson-lucy": (
        "Richardson-Lucy",
        "Repeatedly re-blurs its current guess and corrects it where it disagrees with the photo. "
        "Needs the blur kernel; more iterations give more detail and more noise.",
    ),
    "unsupervised-wiener": (
        "Unsupervised Wiener",
        "A Wiener filter that estimates the noise and image statistics by itself (a Gibbs sampler). "
        "Needs the blur kernel but no tuning; the slowest of the three.",
    ),
}


@dataclass(frozen=True)
class MethodChoice:
    """One entry of the method picker."""

    method: str  # the name restore() takes: a model name or a classical method
    label: str
    description: str
    classical: bool
    upscale: bool = False  # restore(..., upscale=True): a DBSRCNN-style model enlarges as well
    scale: int = 1  # output size over input size
    version: str = ""  # changes when the model file changes, so cached results follow it
    recommended: bool = False

    @property
    def needs_kernel(self) -> bool:
        return self.classical

    def cache_id(self) -> str:
        return f"{self.method}|up={int(self.upscale)}|{self.version}"


@dataclass(frozen=True)
class MethodMenu:
    """The methods offered for one picture, the default among them, and notes for the visitor."""

    choices: list[MethodChoice]
    default: MethodChoice
    notes: list[str]
    model_available: bool

    def by_label(self, label: str) -> MethodChoice:
        for choice in self.choices:
            if choice.label == label:
                return choice
        return self.default

    def by_method(self, method: str) -> MethodChoice | None:
        for choice in self.choices:
            if choice.method == method:
                return choice
        return None


def classical_choices() -> list[MethodChoice]:
    return [MethodChoice(name, CLASSICAL_INFO[name][0], CLASSICAL_INFO[name][1], True) for name in CLASSICAL_NAMES]


def method_menu(registry: Registry, image_size: tuple[int, int] | None = None) -> MethodMenu:
    """The methods for a still image of ``image_size`` (height, width): models first, then classical.

    A model whose card has an output scale above 1 (DBSRCNN) is offered as "deblur + enlarge" while
    the enlarged result stays within ``deblur_core.io.DEFAULT_MAX_PIXELS``, and as deblur only above
    that, with a note. Models for video (several frames, or trained on moving clips) are left out.
    Without a default model the default is Wiener, with a note.
    """
    notes: list[str] = []
    try:
        default_name = registry.default_name()
    except ValueError:
        default_name = None
    models: list[MethodChoice] = []
    for entry in registry.list():
        if not entry.suits_photos():
            continue
        scale = int(entry.input.get("scale", 1))
        description = (entry.description or entry.card.get("summary") or "A trained model.").strip()
        first_sentence = description.split(". ")[0].rstrip(".") + "."
        version = f"{entry.path.stat().st_mtime_ns}" if entry.path.exists() else ""
        recommended = entry.name == default_name
        if scale > 1:
            h, w = image_size or (0, 0)
            if h * w * scale * scale <= DEFAULT_MAX_PIXELS:
                label = f"{entry.name}: deblur + enlarge {scale}x"
                models.append(MethodChoice(entry.name, label, first_sentence, False, True, scale, version))
            else:
                label = f"{entry.name}: deblur only"
                models.append(MethodChoice(entry.name, label, first_sentence, False, False, 1, version))
                notes.append(
                    f"{entry.name} can also enlarge {scale}x, but this picture would then exceed "
                    f"{DEFAULT_MAX_PIXELS / 1e6:.0f} megapixels, so it is offered for deblurring only."
                )
        else:
            label = f"{entry.name} (recommended)" if recommended else entry.name
            models.append(MethodChoice(entry.name, label, first_sentence, False, False, 1, version, recommended))
    models.sort(key=lambda c: not c.recommended)
    classical = classical_choices()
    if default_name is not None and models and models[0].recommended:
        default = models[0]
    else:
        default = classical[0]
        notes.insert(
            0,
            "No trained model is installed, so the default method is Wiener deconvolution; "
            "it needs the blur kernel, which you shape below.",
        )
    return MethodMenu(models + classical, default, notes, model_available=bool(models))


def cli_command(
    method: MethodChoice, file_name: str, kernel_spec: str | None = None, *, blur_spec: str | None = None, noise=0.0
) -> str:
    """The equivalent command line for what the page just did."""
    name = shlex.quote(file_name)
    method_arg = "default" if method.recommended else method.method
    lines = []
    if blur_spec is not None:
        blur_cmd = f"python -m deblur_core blur {name} --out blurred/ --kernel {shlex.quote(blur_spec)}"
        if noise:
            blur_cmd += f" --noise {noise:.6g} --seed 0"
        lines.append(blur_cmd)
        # The blur command writes <stem>.png into its output folder.
        name = shlex.quote(f"blurred/{PurePath(file_name).stem}.png")
    cmd = f"python -m deblur_core deblur {name} --out out/ --method {shlex.quote(method_arg)}"
    if method.needs_kernel and kernel_spec:
        cmd += f" --kernel {shlex.quote(kernel_spec)}"
    if method.upscale:
        cmd += " --upscale"
    lines.append(cmd)
    return "\n".join(lines)
