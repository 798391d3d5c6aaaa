"""The method catalogue: the one place that knows every restoration method and what it needs.

Each method is a :class:`Method` record: its name (what ``restore()`` and ``--method`` take), a
title and a one-line summary for people, what it needs of the blur kernel (``needs`` it given,
``estimates`` it itself, or ``none``: a blind method), its options with their ranges, what it takes
(a ``photo``, and/or video ``frames`` one at a time), the model file it runs if it is learned, and the
function that runs it. The command line's ``--method`` help and options, the app's method menus
(photo and video), Compare, Benchmark and About all read this catalogue; none of them keeps a list of
method names of its own.

Trained models in the model registry are methods too, of one kind: any name that is not in the
catalogue is looked up there (``default``, a model's name, a ``.keras`` path) and run by the record
:data:`deblur_core.restoration.builtin.TRAINED_MODEL`.

Adding a method is one :func:`register` call with its record, next to the built-in ones in
:mod:`deblur_core.restoration.builtin`, plus its own module for the algorithm (see CONTRIBUTING.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deblur_core.learned.registry import release_method_name, reserve_method_name
from deblur_core.naming import NamedRegistry

if TYPE_CHECKING:
    from deblur_core.restoration.restore import MethodCall

__all__ = [
    "CATALOGUE",
    "FAMILIES",
    "KERNEL_USES",
    "TAKES",
    "TAKES_TEXT",
    "Method",
    "Option",
    "describe_model",
    "get_method",
    "kernel_needed",
    "method_for_model",
    "methods",
    "model_takes",
    "register",
    "unregister",
]

KERNEL_USES = ("needs", "estimates", "none")
"""What a method needs of the blur kernel: it ``needs`` it given, it ``estimates`` it, or ``none`` (blind)."""
TAKES = ("photo", "frames")
"""What a method takes: a still ``photo``, and/or video ``frames`` one at a time."""
FAMILIES = ("classical", "learned")
"""Classical methods are formulas; learned ones run a trained model file."""


@dataclass(frozen=True)
class Option:
    """One option of a method: its keyword, how people see it, its range on the command line and in the app.

    Attributes
    ----------
    name : str
        The keyword the method takes (``iterations``); the command-line flag is ``--iterations``.
    title : str
        The label of the app's control.
    help : str
        One line for ``--help`` (the method's name is put in front).
    kind : type
        ``int`` or ``float``: how the command line reads the value.
    default : object
        The method's own default; ``"auto"`` and the like mean the method decides.
    low, high : float, optional
        The range the command line accepts (inclusive); None leaves that end open.
    metavar : str
        The placeholder in ``--help``.
    widget : tuple
        ``(low, high, step)`` of the app's slider; empty when :attr:`choices` are offered instead.
    choices : tuple
        The values of the app's select slider.
    app_value : object
        Where the app's control starts (defaults to :attr:`default`).
    automatic : object
        A choice meaning "let the method decide": when picked, the option is not passed on.
    app_help : str
        The tooltip of the app's control.
    offered_for : tuple of str
        Where the app shows the control: for a ``photo``, for video ``frames``, or both.
    """

    name: str
    title: str
    help: str
    kind: type = int
    default: object = None
    low: float | None = None
    high: float | None = None
    metavar: str = "N"
    widget: tuple = ()
    choices: tuple = ()
    app_value: object = None
    automatic: object = None
    app_help: str = ""
    offered_for: tuple[str, ...] = TAKES

    @property
    def flag(self) -> str:
        """The command-line flag: ``--iterations``."""
        return "--" + self.name.replace("_", "-")

    @property
    def start(self) -> object:
        """Where the app's control starts."""
        return self.default if self.app_value is None else self.app_value

    def range_text(self) -> str:
        """``from 1 to 10000``, ``of at least 1``, ``of at most 5`` or ``of any size``."""
        if self.low is not None and self.high is not None:
            return f"from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"of at least {self.low:g}"
        if self.high is not None:
            return f"of at most {self.high:g}"
        return "of any size"


@dataclass(frozen=True)
class Method:
    """One restoration method, as the whole project sees it.

    Attributes
    ----------
    name : str
        What ``restore()`` and ``--method`` take: lower case, words joined by ``-``.
    title : str
        The method as people name it (``Wiener deconvolution``).
    summary : str
        One line: what it does and what it costs (the command line's help).
    kernel : {"needs", "estimates", "none"}
        What it needs of the blur kernel.
    run : callable
        ``run(call)`` with a :class:`~deblur_core.restoration.restore.MethodCall`; returns the restored
        image, or ``(image, kernel)`` for a method that estimates the kernel.
    options : tuple of Option
        The keyword options it takes.
    takes : tuple of str
        ``photo`` and/or ``frames``.
    family : {"classical", "learned"}
        A formula, or a trained model file.
    model : str, optional
        The model in the registry that a learned method runs; the method is offered only where that
        model is installed.
    description : str
        A few sentences for the app's caption and the About page (defaults to :attr:`summary`).
    slow : bool
        Seconds per megapixel or more: not picked by default in Compare and Benchmark.
    references : tuple of str
        The papers the method follows, for About.
    with_kernel : str, optional
        For a method that estimates the kernel: the method of the catalogue that does the rest of its
        work with the kernel given, so that an estimate made beforehand (with other settings, or shown
        to a person first) can be handed over (see :func:`~deblur_core.restoration.restore.restore_with_estimate`).
    loads_model_itself : bool
        Its run starts loading its model on a thread of its own while its classical first step runs, so a
        caller need not load the model before calling it (the command line then does not wait for it).
    exact_model : str, optional
        For a method that takes a kernel: the model it runs instead of :attr:`model` when the kernel is known
        exactly (not estimated, not shaped by hand), where that model is installed.
    """

    name: str
    title: str
    summary: str
    kernel: str
    run: Callable[[MethodCall], object] = field(repr=False, compare=False)
    options: tuple[Option, ...] = ()
    takes: tuple[str, ...] = TAKES
    family: str = "classical"
    model: str | None = None
    description: str = ""
    slow: bool = False
    references: tuple[str, ...] = ()
    with_kernel: str | None = None
    loads_model_itself: bool = False
    exact_model: str | None = None

    def __post_init__(self) -> None:
        if self.kernel not in KERNEL_USES:
            raise ValueError(
                f"A method's kernel is one of {', '.join(KERNEL_USES)}; '{self.name}' says {self.kernel!r}."
            )
        if not self.takes or set(self.takes) - set(TAKES):
            raise ValueError(f"A method takes some of {', '.join(TAKES)}; '{self.name}' says {self.takes!r}.")
        if self.family not in FAMILIES:
            raise ValueError(f"A method's family is one of {', '.join(FAMILIES)}; '{self.name}' says {self.family!r}.")
        if self.with_kernel is not None and self.kernel != "estimates":
            raise ValueError(
                f"Only a method that estimates the kernel hands it on (with_kernel); '{self.name}' does not estimate it."
            )
        if len({o.name for o in self.options}) != len(self.options):
            raise ValueError(f"The method '{self.name}' names an option twice.")

    @property
    def text(self) -> str:
        """The description, or the summary where there is none."""
        return self.description or self.summary

    @property
    def needs_kernel(self) -> bool:
        return self.kernel == "needs"

    def option(self, name: str) -> Option | None:
        """The option called ``name``, or None."""
        return next((o for o in self.options if o.name == name), None)

    def available(self, model_names: list[str] | tuple[str, ...]) -> bool:
        """Whether it can run with these models installed (a method without a model always can)."""
        return self.model is None or self.model in model_names


CATALOGUE: NamedRegistry[Method] = NamedRegistry("restoration method")
"""Every restoration method by name, in the order they were registered (the order of the menus)."""


def register(method: Method) -> Method:
    """Add ``method`` to the catalogue; its name is then no longer available for models.

    Raises
    ------
    ValueError
        If a method of that name is registered already.
    """
    CATALOGUE.register(method.name, method)
    reserve_method_name(method.name)
    return method


def unregister(name: str) -> Method:
    """Take the method called ``name`` out of the catalogue (a plug-in unloaded, a test's toy method)."""
    method = CATALOGUE.unregister(name)
    release_method_name(name)
    return method


def method_for_model(model: str) -> Method | None:
    """The catalogue method that runs the model called ``model`` (the learned deconvolver for deconv-unet and
    deconv-unet-exact), or None."""
    return next((m for m in CATALOGUE.values() if model in (m.model, m.exact_model)), None)


def get_method(name: str) -> Method | None:
    """The method called ``name``, or None (the name may then be a trained model's)."""
    return CATALOGUE.get(name)


def methods(takes: str | None = None) -> list[Method]:
    """Every method in the catalogue, or those that take ``photo`` or ``frames``."""
    return [m for m in CATALOGUE.values() if takes is None or takes in m.takes]


TAKES_TEXT = {"photo": "still photos", "frames": "video frames"}


def model_takes(entry) -> tuple[str, ...]:
    """What a trained model of the registry takes, in the catalogue's terms.

    A model for photos takes a ``photo`` (and video ``frames`` one at a time); a model that sees
    several frames at once, or was trained on moving clips, takes video ``frames`` only. A model that
    takes a kernel takes what its catalogue method takes.
    """
    if entry.takes_kernel:
        method = method_for_model(entry.name)
        return method.takes if method is not None else TAKES
    return TAKES if entry.suits_photos() else ("frames",)


def describe_model(entry) -> str:
    """A model card's "what it takes" in one line, with where the app and the command line offer it."""
    from deblur_core.learned.cards import describe_input

    takes = " and ".join(TAKES_TEXT[t] for t in model_takes(entry))
    return f"{describe_input(entry.input)}; offered for {takes}"


def kernel_needed(method: Method) -> str:
    """The sentence for a method that needs the kernel but was not given one."""
    return (
        f"{method.title} needs the blur kernel: give it with --kernel (for example --kernel gaussian:sigma=2) "
        "or choose the blur in the app."
    )
