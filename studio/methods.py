"""What the app offers to restore a picture: the trained models that fit it, and the methods of the catalogue.

The method menus of the Deblur, Compare and Benchmark pages (:func:`method_menu`) and of the Video
page (:func:`video_menu`) are built here from the model registry and the method catalogue
(:mod:`deblur_core.restoration`); no page keeps a list of method names. This module never imports
streamlit.
"""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass
from pathlib import PurePath

from deblur_core.io import DEFAULT_MAX_PIXELS
from deblur_core.learned.cards import purpose, validation_gain
from deblur_core.learned.registry import Registry
from deblur_core.restoration import Method, Option, methods
from deblur_core.restoration.restore import DEFAULT_WITH_KERNEL

__all__ = ["MethodChoice", "MethodMenu", "catalogue_choices", "cli_command", "method_menu", "video_menu"]


@dataclass(frozen=True)
class MethodChoice:
    """One entry of the method picker."""

    method: str  # the name restore() takes: a model name or a method of the catalogue
    label: str
    description: str
    kernel: str = "none"  # what it needs of the kernel: "needs", "estimates" or "none" (the catalogue's words)
    upscale: bool = False  # restore(..., upscale=True): a DBSRCNN-style model enlarges as well
    scale: int = 1  # output size over input size
    version: str = ""  # changes when the model file changes, so cached results follow it
    recommended: bool = False
    options: tuple[Option, ...] = ()  # the method's options, from its catalogue record
    model: str | None = None  # the model file it runs, loaded before the first use
    slow: bool = False  # seconds per megapixel or more: not picked by default for comparisons
    purpose: str = ""  # what a model is for, in a few words, shown beside its name in the picker
    gain: float | None = None  # a model's validation PSNR over its blurred input's, in dB, from its card
    note: str = ""  # said under the picker while this choice is selected
    with_kernel: str | None = None  # for a method that estimates the kernel: the method that takes it instead

    @property
    def needs_kernel(self) -> bool:
        return self.kernel == "needs"

    @property
    def weak(self) -> bool:
        """A model whose card shows it does not beat its blurred input: offered for comparison, never preselected."""
        return self.gain is not None and self.gain <= 0

    @property
    def picker_text(self) -> str:
        """The line in the method picker: the name, what it is for, and a mark when it does not help."""
        text = self.label + (" · worse than its input" if self.weak else "")
        if self.purpose:
            start = self.purpose[:1].lower() if self.purpose[1:2].islower() else self.purpose[:1]
            text += f" — {start}{self.purpose[1:]}"
        return text

    def weak_warning(self) -> str:
        """The sentence that goes with a weak model, from its card's numbers ('' for any other choice)."""
        if not self.weak:
            return ""
        return (
            f"{self.method} does not beat its blurred input: on its held-out photos it scored {-self.gain:.2f} dB "
            "below them (see its card on the Models page). It is offered for comparison only."
        )

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

    def kernel_default(self) -> MethodChoice:
        """What to preselect when the blur kernel is known: the learned deconvolver where its model is installed."""
        return self.by_method(DEFAULT_WITH_KERNEL) or self.default

    def featured(self, limit: int | None = None) -> list[MethodChoice]:
        """The default and the first ``limit`` quick methods that need the kernel: what comparisons start with."""
        quick = [c for c in self.choices if c.needs_kernel and not c.slow][:limit]
        return list(dict.fromkeys([self.default, *quick]))


def _version(entry) -> str:
    return f"{entry.path.stat().st_mtime_ns}" if entry.path.exists() else ""


def _choice(method: Method, version: str = "") -> MethodChoice:
    return MethodChoice(
        method.name,
        method.title,
        method.text,
        method.kernel,
        version=version,
        options=method.options,
        model=method.model,
        slow=method.slow,
        with_kernel=method.with_kernel,
    )


def catalogue_choices(registry: Registry | None = None, takes: str = "photo") -> list[MethodChoice]:
    """The catalogue's methods that take ``photo`` (or ``frames``), in catalogue order.

    A method that runs a model file is offered only where ``registry`` holds that model.
    """
    entries = {e.name: e for e in registry.list()} if registry is not None else {}
    out = []
    for method in methods(takes=takes):
        if method.model is None:
            out.append(_choice(method))
        elif method.model in entries:
            out.append(_choice(method, _version(entries[method.model])))
    return out


def _catalogue_models() -> set[str]:
    """Models that a catalogue method runs: offered through that method, not on their own."""
    return {name for m in methods() for name in (m.model, m.exact_model) if name is not None}


def _offered(entry) -> bool:
    """Whether a model is offered on its own for photos (not a video model, not run by a catalogue method)."""
    return entry.suits_photos() and entry.name not in _catalogue_models()


def _model_choice(entry, default_name: str | None, image_size: tuple[int, int] | None) -> MethodChoice:
    """The picker entry of one blind photo model: its label, purpose and card numbers."""
    scale = int(entry.input.get("scale", 1))
    description = (entry.description or entry.card.get("summary") or "A trained model.").strip()
    model = {
        "description": description.split(". ")[0].rstrip(".") + ".",
        "version": _version(entry),
        "model": entry.name,
        "purpose": purpose(entry.card) if scale <= 1 else "",  # "deblur + enlarge 3x" says it already
        "gain": validation_gain(entry.card),
    }
    if scale <= 1:
        gain = model["gain"]
        recommended = entry.name == default_name and (gain is None or gain > 0)
        label = f"{entry.name} (recommended)" if recommended else entry.name
        return MethodChoice(entry.name, label, recommended=recommended, **model)
    h, w = image_size or (0, 0)
    if h * w * scale * scale <= DEFAULT_MAX_PIXELS:
        return MethodChoice(entry.name, f"{entry.name}: deblur + enlarge {scale}x", upscale=True, scale=scale, **model)
    note = (
        f"{entry.name} can also enlarge {scale}x, but this picture would then exceed "
        f"{DEFAULT_MAX_PIXELS / 1e6:.0f} megapixels, so it is offered for deblurring only."
    )
    return MethodChoice(entry.name, f"{entry.name}: deblur only", note=note, **model)


def method_menu(registry: Registry, image_size: tuple[int, int] | None = None) -> MethodMenu:
    """The methods for a still image of ``image_size`` (height, width): models first, then the catalogue's.

    A model whose card has an output scale above 1 (DBSRCNN) is offered as "deblur + enlarge" while
    the enlarged result stays within ``deblur_core.io.DEFAULT_MAX_PIXELS``, and as deblur only above
    that, with a note shown while it is selected. Models for video (several frames, or trained on moving
    clips) are left out. Each model says what it is for; one whose card shows it does not beat its blurred
    input is marked, kept for comparison and never the default. Without a default model (or when it is such
    a model) the default is the first method of the catalogue, with a note.
    """
    notes: list[str] = []
    try:
        default_name = registry.default_name()
    except ValueError:
        default_name = None
    models = [_model_choice(entry, default_name, image_size) for entry in registry.list() if _offered(entry)]
    models.sort(key=lambda c: not c.recommended)
    others = catalogue_choices(registry)
    # A model that does not beat its blurred input is never the preselected choice.
    default = next((c for c in models if c.recommended and not c.weak), None)
    if default is None:
        default = others[0]
        need = "; it needs the blur kernel, which you shape below" if default.needs_kernel else ""
        why = "No trained model is installed" if default_name is None else "The default model does not beat its input"
        notes.insert(0, f"{why}, so the default method is {default.label}{need}.")
    return MethodMenu(models + others, default, notes, model_available=bool(models))


def video_menu(registry: Registry) -> tuple[list[MethodChoice], MethodChoice]:
    """Video models first, then still-image models (deblur only), then the catalogue's methods for frames."""
    menu = method_menu(registry)
    models = []
    for entry in registry.list():
        if entry.frames == 3 or entry.trained_on_clips:
            text = (entry.description or "A video model.").strip().split(". ")[0].rstrip(".")
            if entry.frames == 3:
                label, seen = f"{entry.name} (uses the previous and next frames)", "Sees three frames at once."
            else:
                label, seen = f"{entry.name} (one frame at a time)", "Trained on moving clips; sees one frame."
            models.append(MethodChoice(entry.name, label, f"{text}. {seen}", version=_version(entry), model=entry.name))
    still = []
    for choice in menu.choices:
        if choice.upscale:  # video frames keep their size: an enlarging model only deblurs here
            choice = dataclasses.replace(choice, label=f"{choice.method}: deblur only", upscale=False, scale=1)
        still.append(choice)
    frame_methods = {c.method for c in catalogue_choices(registry, "frames")}
    photo_methods = {c.method for c in catalogue_choices(registry, "photo")}
    still = [c for c in still if c.method not in photo_methods or c.method in frame_methods]
    still += [c for c in catalogue_choices(registry, "frames") if c.method not in photo_methods]
    choices = models + still
    preferred = next((c for c in models if c.method == "video-unet3"), models[0] if models else None)
    if preferred is None:
        preferred = menu.default if menu.default in choices else choices[0]
    return choices, preferred


def cli_command(
    method: MethodChoice,
    file_name: str,
    kernel_spec: str | None = None,
    *,
    blur_spec: str | None = None,
    noise=0.0,
    approximate: bool = False,
) -> str:
    """The equivalent command line for what the page just did (``approximate``: the kernel was a guess shaped by hand,
    fitted to the photo first, which the learned deconvolver also leans on less)."""
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
        if approximate:
            cmd += " --fit-kernel"
        if approximate and method.method == "deconvolver":
            cmd += " --approximate-kernel"
    if method.upscale:
        cmd += " --upscale"
    lines.append(cmd)
    return "\n".join(lines)
