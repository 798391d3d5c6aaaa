"""What a training run needs: :class:`TrainConfig`, one set of defaults for the command line, jobs and the app.

The command line's ``train`` options take their defaults from here; a training job started by the
app is a :class:`TrainConfig` turned into that same command line (:meth:`TrainConfig.to_args`), so
what a visitor starts is exactly what a user could type, and reading the command line back gives the
same configuration.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from deblur_core.degrade import DegradationMix

__all__ = ["FAMILIES", "TrainConfig", "degradations_from"]

FAMILIES = ("gaussian", "defocus", "motion", "shake")
"""The blur families training can degrade sharp images with."""


def degradations_from(
    families: list[str] | tuple[str, ...] = FAMILIES,
    noise_max: float | None = None,
    p_clean: float | None = None,
    jpeg_prob: float | None = None,
) -> dict:
    """The ``degradations`` record of a :class:`TrainConfig` from the settings a person chooses.

    Each family gets the same weight; settings left at None keep :class:`DegradationMix`'s defaults
    (noise up to 0.02, 8 % left sharp, no JPEG).

    Raises
    ------
    ValueError
        For an unknown blur family or a setting outside [0, 1].
    """
    if noise_max is not None and not 0 <= noise_max <= 1:
        raise ValueError(f"The largest noise sigma is in [0, 1] units; got {noise_max}.")
    for name, value in (("The share left sharp", p_clean), ("The share JPEG-compressed", jpeg_prob)):
        if value is not None and not 0 <= value <= 1:
            raise ValueError(f"{name} is a probability from 0 to 1; got {value}.")
    mix = DegradationMix()
    settings = {
        "families": dict.fromkeys(families, 1.0),
        "p_clean": mix.p_clean if p_clean is None else p_clean,
        "noise_range": list(mix.noise_range if noise_max is None else (0.0, noise_max)),
        "p_jpeg": mix.p_jpeg if jpeg_prob is None else jpeg_prob,
        "round8": mix.round8,
    }
    return DegradationMix.from_dict(settings).to_dict()


@dataclass
class TrainConfig:
    """Everything a training run needs; stored in the model card.

    ``out`` is where the model is saved (``NAME.keras``, its card ``NAME.json`` beside it); a training
    job fills it in with the user model folder. Fields not on the command line (``val_batches``,
    ``workers``, ``min_lr``, ``recommended``) keep their defaults in :meth:`to_args`.
    """

    out: str = ""
    arch: str = "unet"
    arch_args: dict = field(default_factory=dict)
    data: list[str] = field(default_factory=list)  # folders of sharp images, degraded on the fly
    paired: list[str] = field(default_factory=list)  # folders in a paired layout
    loss: str = "charbonnier"
    patch_size: int = 128
    batch_size: int = 8
    learning_rate: float = 1e-3
    epochs: int = 50
    steps_per_epoch: int = 200
    val_batches: int = 8
    minutes: float | None = None
    patience: int = 10
    degradations: dict = field(default_factory=lambda: DegradationMix().to_dict())
    sr_scale: int = 0
    clips: bool = False  # train on synthetic video clips (moving crops blurred by averaging sub-frames)
    seed: int = 0
    workers: int = 1
    resume: str | None = None
    schedule: str = "plateau"  # "plateau": halve on a validation plateau; "cosine": decay to min_lr by the end
    min_lr: float = 1e-5
    description: str = ""
    recommended: bool = False

    def to_args(self) -> list[str]:
        """The ``python -m deblur_core train`` arguments (after ``train``) that give this configuration back."""
        args = ["--arch", self.arch]
        for key, value in self.arch_args.items():
            args += ["--arch-arg", f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
        if self.data:
            args += ["--data", *[str(d) for d in self.data]]
        if self.paired:
            args += ["--paired", *[str(d) for d in self.paired]]
        mix = self.degradations
        args += [
            "--out",
            str(self.out),
            "--loss",
            self.loss,
            "--patch-size",
            str(self.patch_size),
            "--batch-size",
            str(self.batch_size),
            "--lr",
            repr(float(self.learning_rate)),
            "--epochs",
            str(self.epochs),
            "--steps-per-epoch",
            str(self.steps_per_epoch),
            "--patience",
            str(self.patience),
            "--schedule",
            self.schedule,
            "--families",
            ",".join(mix["families"]),
            "--noise-max",
            repr(float(mix["noise_range"][1])),
            "--p-clean",
            repr(float(mix["p_clean"])),
            "--jpeg-prob",
            repr(float(mix["p_jpeg"])),
            "--sr-scale",
            str(self.sr_scale),
            "--seed",
            str(self.seed),
        ]
        if self.clips:
            args.append("--clips")
        if self.minutes:
            args += ["--minutes", repr(float(self.minutes))]
        if self.resume:
            args += ["--resume", str(self.resume)]
        if self.description:
            args += ["--description", self.description]
        return args

    def to_card(self) -> dict:
        d = asdict(self)
        for key in ("out", "resume", "workers", "recommended", "description", "arch", "arch_args"):
            d.pop(key)
        return d
