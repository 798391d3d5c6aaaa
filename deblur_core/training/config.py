"""What a training run needs: :class:`TrainConfig`, one set of defaults for the command line and the app."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from deblur_core.degrade import DegradationMix

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    """Everything a training run needs; stored in the model card."""

    out: str
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

    def to_card(self) -> dict:
        d = asdict(self)
        for key in ("out", "resume", "workers", "recommended", "description", "arch", "arch_args"):
            d.pop(key)
        return d
