"""The model registry: shipped models in ``models/`` and user models in a folder of the user's.

A model is a pair ``NAME.keras`` + ``NAME.json`` (its model card), or, for imported models,
``NAME.weights.h5`` + ``NAME.json`` whose card names a registered architecture and its arguments.
Shipped models are read-only. ``default`` resolves to the shipped model whose card says
``"recommended": true``. Broken cards are reported in :attr:`Registry.problems` and skipped, so one
bad file never stops the registry from working.

The registry is also the one model cache of the process: :meth:`Registry.runner` loads a model once
and keeps the most recently used few (:attr:`Registry.max_loaded`); a model that falls out of the
cache is really freed, because nothing else holds it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from deblur_core.learned.runner import ModelRunner
from deblur_core.settings import SHIPPED_MODELS_DIR, user_models_dir

RESERVED_WORDS = ("default", "blurred", "none", "bicubic")
"""Names that mean something else wherever a method is chosen; no model may have them."""
_method_names: list[str] = []  # the restoration methods' names, told by the method catalogue


def reserve_method_name(name: str) -> None:
    """Keep ``name`` from models: it belongs to a restoration method of the catalogue.

    The method catalogue (:mod:`deblur_core.restoration`) calls this for every method it registers,
    so model names never shadow a method, and the registry's messages list the methods among the
    choices, without this module knowing any of them.
    """
    if name not in _method_names:
        _method_names.append(name)


def release_method_name(name: str) -> None:
    """Undo :func:`reserve_method_name` (a method taken out of the catalogue)."""
    if name in _method_names:
        _method_names.remove(name)


def reserved_names() -> tuple[str, ...]:
    """Every name a model may not have: the methods of the catalogue and :data:`RESERVED_WORDS`."""
    return (*_method_names, *RESERVED_WORDS)


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_model_name(name: str) -> str:
    """Validate a model name: letters, digits, ``_ . -``, at most 64 characters, not reserved."""
    if not _NAME_RE.match(name or "") or name.endswith((".json", ".keras", ".h5")):
        raise ValueError(
            f"'{name}' is not a usable model name: use letters, digits, '-', '_' or '.', at most 64 characters."
        )
    if name.lower() in {n.lower() for n in reserved_names()}:
        raise ValueError(f"'{name}' is reserved for a built-in method; choose another name.")
    return name


def validate_card(card: dict) -> dict:
    """Check a model card's required fields and that its architecture is registered.

    Returns the card with the ``input`` description filled in from the architecture.

    Raises
    ------
    ValueError
        Naming the first problem found.
    """
    from deblur_core.learned.architectures import ARCHITECTURES, input_spec

    if not isinstance(card, dict):
        raise ValueError("A model card must be a JSON object.")
    arch = card.get("architecture")
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"The card names architecture '{arch}', which is not one of {', '.join(sorted(ARCHITECTURES))}."
        )
    args = card.get("arch_args", {})
    if not isinstance(args, dict):
        raise ValueError("The card's 'arch_args' must be an object of keyword arguments.")
    try:
        spec = input_spec(arch, **args)
    except TypeError as exc:
        raise ValueError(f"The card's arch_args do not fit architecture '{arch}': {exc}.") from None
    out = dict(card)
    out["input"] = {**spec, **(card.get("input") or {})}
    return out


@dataclass
class ModelEntry:
    """One model: its name, files, card and whether it ships with the project."""

    name: str
    path: Path
    card: dict
    shipped: bool

    @property
    def card_path(self) -> Path:
        return self.path.with_name(self.name + ".json")

    @property
    def architecture(self) -> str:
        return self.card["architecture"]

    @property
    def input(self) -> dict:
        return self.card["input"]

    @property
    def frames(self) -> int:
        return int(self.input.get("frames", 1))

    @property
    def description(self) -> str:
        return self.card.get("description", "")

    @property
    def is_weights_only(self) -> bool:
        return self.path.name.endswith(".weights.h5")

    def fits_still_image(self) -> bool:
        """Whether the model takes one frame (video models take several)."""
        return self.frames == 1

    @property
    def trained_on_clips(self) -> bool:
        """Whether the model learnt from moving clips: a video model, even when it sees one frame at a time."""
        return bool(self.card.get("training", {}).get("clips", False))

    @property
    def takes_kernel(self) -> bool:
        """Whether the model needs the blur kernel: it refines a deconvolution (the learned deconvolver)."""
        return self.input.get("kernel") == "needs"

    def suits_photos(self) -> bool:
        """Whether the model is a blind one for still photos: one frame in, not trained on video clips, no kernel.

        A model that takes a kernel runs through its catalogue method (``deconvolver``), not on its own.
        """
        return self.fits_still_image() and not self.trained_on_clips and not self.takes_kernel


@dataclass
class Registry:
    """Lists, resolves and loads models. Loaded models are cached and shared across threads.

    At most ``max_loaded`` models stay loaded; the least recently used one is dropped first.
    """

    shipped_dir: Path = SHIPPED_MODELS_DIR
    user_dir: Path | None = None
    problems: list[str] = field(default_factory=list)
    max_loaded: int = 8

    def __post_init__(self) -> None:
        self.shipped_dir = Path(self.shipped_dir)
        self.user_dir = Path(self.user_dir) if self.user_dir is not None else user_models_dir()
        self._lock = threading.Lock()
        self._runners: OrderedDict[tuple[str, float], ModelRunner] = OrderedDict()

    # -- listing --------------------------------------------------------------------------------
    def _scan(self, folder: Path, shipped: bool) -> list[ModelEntry]:
        entries = []
        if not folder.is_dir():
            return entries
        for card_path in sorted(folder.glob("*.json")):
            if card_path.name.startswith("."):
                continue
            name = card_path.stem
            model_path = next(
                (p for p in (folder / f"{name}.keras", folder / f"{name}.weights.h5") if p.is_file()), None
            )
            if model_path is None:
                continue  # a card without its model (for example a progress file) is not a model
            try:
                card = validate_card(json.loads(card_path.read_text("utf-8")))
            except (ValueError, OSError) as exc:
                self.problems.append(f"{card_path.name}: {exc}")
                continue
            entries.append(ModelEntry(name, model_path, card, shipped))
        return entries

    def list(self) -> list[ModelEntry]:
        """Shipped models first, then user models; a user model never hides a shipped one."""
        self.problems = []
        shipped = self._scan(self.shipped_dir, True)
        names = {e.name for e in shipped}
        user = [e for e in self._scan(self.user_dir, False) if e.name not in names]
        return shipped + user

    def names(self) -> list[str]:
        return [e.name for e in self.list()]

    def default_name(self) -> str:
        """The recommended shipped model; raises ValueError listing what is available if none is."""
        entries = self.list()
        for e in entries:
            if e.shipped and e.card.get("recommended"):
                return e.name
        available = ", ".join([e.name for e in entries] + _method_names)
        raise ValueError(f"No default model is installed. Available methods: {available}.")

    def get(self, name: str) -> ModelEntry:
        """Find a model by name (``default`` is resolved); raises ValueError with the choices."""
        if name == "default":
            name = self.default_name()
        for e in self.list():
            if e.name == name:
                return e
        available = ", ".join(self.names() + _method_names) or "none"
        raise ValueError(f"There is no model called '{name}'. Available methods: {available}.")

    def entry_from_path(self, path: str | Path) -> ModelEntry:
        """A model given as a ``.keras`` path with its card beside it (command-line use)."""
        path = Path(path)
        card_path = path.with_name(path.name.removesuffix(".keras").removesuffix(".weights.h5") + ".json")
        if not path.is_file():
            raise ValueError(f"The model file '{path}' does not exist.")
        if not card_path.is_file():
            raise ValueError(f"The model '{path}' has no card: expected '{card_path.name}' beside it.")
        card = validate_card(json.loads(card_path.read_text("utf-8")))
        return ModelEntry(card_path.stem, path, card, shipped=False)

    # -- loading --------------------------------------------------------------------------------
    def runner(self, entry: ModelEntry) -> ModelRunner:
        """The :class:`ModelRunner` of ``entry``, loaded once (safe_mode on) and kept while it is used.

        A model file that changes on disk is loaded afresh; the old version ages out of the cache.
        """
        key = (str(entry.path), entry.path.stat().st_mtime)
        with self._lock:
            if key in self._runners:
                self._runners.move_to_end(key)
            else:
                self._runners[key] = ModelRunner(load_model_file(entry.path, entry.card), entry.card)
                while len(self._runners) > max(1, self.max_loaded):
                    self._runners.popitem(last=False)
            return self._runners[key]

    def load(self, entry: ModelEntry):
        """The Keras model of ``entry``, from the same cache as :meth:`runner`."""
        return self.runner(entry).model

    def loaded(self) -> list[str]:
        """Paths of the models held in memory now, least recently used first."""
        with self._lock:
            return [path for path, _mtime in self._runners]

    def resolve(self, method: str) -> ModelEntry:
        """A model entry from a name (``default`` included) or a ``.keras`` path with its card beside it."""
        if method.endswith((".keras", ".weights.h5")) or "/" in method or "\\" in method:
            return self.entry_from_path(Path(method))
        return self.get(method)

    # -- user models ----------------------------------------------------------------------------
    def _user_entry(self, name: str) -> ModelEntry:
        entry = self.get(name)
        if entry.shipped:
            raise ValueError(f"'{name}' ships with Deblur Studio and is read-only.")
        return entry

    def rename(self, name: str, new_name: str) -> ModelEntry:
        """Rename a user model (its file and card)."""
        check_model_name(new_name)
        entry = self._user_entry(name)
        if new_name in self.names():
            raise ValueError(f"A model called '{new_name}' already exists.")
        suffix = entry.path.name[len(name) :]
        new_path = entry.path.with_name(new_name + suffix)
        card = dict(entry.card, name=new_name)
        from deblur_core.files import atomic_write_json

        os.replace(entry.path, new_path)
        atomic_write_json(new_path.with_name(new_name + ".json"), card)
        entry.card_path.unlink(missing_ok=True)
        return ModelEntry(new_name, new_path, card, False)

    def delete(self, name: str) -> None:
        """Delete a user model: its card first, so a half-deleted model is never listed."""
        entry = self._user_entry(name)
        entry.card_path.unlink(missing_ok=True)
        entry.path.unlink(missing_ok=True)

    def import_weights(self, name: str, weights: bytes, card: dict) -> ModelEntry:
        """Import weights for a registered architecture; validated by loading them before saving.

        Full ``.keras``/``.h5`` model files from others are never loaded: only weights, into an
        architecture defined in this package.
        """
        import tempfile

        from deblur_core.files import atomic_write_bytes, atomic_write_json

        check_model_name(name)
        if name in self.names():
            raise ValueError(f"A model called '{name}' already exists.")
        if weights[:8] != b"\x89HDF\r\n\x1a\n":
            raise ValueError("The weights file is not an HDF5 .weights.h5 file.")
        card = validate_card(card)
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp) / "check.weights.h5"
            tmp_path.write_bytes(weights)
            load_model_file(tmp_path, card)  # raises ValueError if the weights do not fit
        dest = self.user_dir / f"{name}.weights.h5"
        atomic_write_bytes(dest, weights)
        card = dict(card, name=name, imported=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
        atomic_write_json(self.user_dir / f"{name}.json", card)
        return ModelEntry(name, dest, card, False)


def load_model_file(path: Path, card: dict):
    """Load a ``.keras`` model (safe_mode on) or weights into the card's architecture."""
    import keras

    from deblur_core.learned import losses  # noqa: F401 - registers custom losses for deserialisation
    from deblur_core.learned.architectures import build

    path = Path(path)
    try:
        if path.name.endswith(".weights.h5"):
            model = build(card["architecture"], **card.get("arch_args", {}))
            model.load_weights(path)
            return model
        return keras.saving.load_model(path, compile=False)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise ValueError(f"The model file '{path.name}' could not be loaded: {exc}") from None


def save_model(model, path: str | Path, card: dict) -> Path:
    """Save ``model`` as ``.keras`` and its card as ``.json`` beside it, both atomically.

    The card gains ``parameters``, ``date`` and ``versions`` entries. The model file is written
    first, then the card, so the registry (which lists cards with a model) never sees a half-saved
    model.
    """
    import keras

    from deblur_core import __version__
    from deblur_core.files import atomic_write_json, atomic_write_with

    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError("Save models with the .keras ending.")
    card = dict(card)
    card.setdefault("name", path.stem)
    card["parameters"] = int(model.count_params())
    card["date"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    card["versions"] = {"deblur_core": __version__, "keras": keras.__version__, "backend": keras.backend.backend()}
    card = validate_card(card)
    atomic_write_with(path, lambda tmp: model.save(tmp), suffix=".keras")
    atomic_write_json(path.with_suffix(".json"), card)
    return path


_DEFAULT_REGISTRY: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry (shipped models plus the user model folder)."""
    global _DEFAULT_REGISTRY
    if _DEFAULT_REGISTRY is None:
        _DEFAULT_REGISTRY = Registry()
    return _DEFAULT_REGISTRY


def resolve_model(method: str, registry: Registry | None = None) -> ModelEntry:
    """A model entry from a registry name (``default`` included) or a ``.keras`` path."""
    return (registry or default_registry()).resolve(method)


def get_runner(entry: ModelEntry, registry: Registry | None = None) -> ModelRunner:
    """The cached :class:`ModelRunner` for ``entry`` (see :meth:`Registry.runner`)."""
    return (registry or default_registry()).runner(entry)
