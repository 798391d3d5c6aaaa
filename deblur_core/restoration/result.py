"""What a restoration returns: the image, the kernel it used and where that came from, and its stages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KERNEL_SOURCES", "Restoration", "Stage"]

KERNEL_SOURCES = ("given", "fitted", "estimated", "none")
"""Where the kernel of a result came from: ``given`` by the caller, the caller's ``fitted`` to the photo
(``restore(..., fit_kernel=True)``), ``estimated`` by the method, or ``none`` (blind)."""


@dataclass(frozen=True)
class Stage:
    """One step of a restoration (``Wiener deconvolution``, ``residual network``) and its wall time in seconds."""

    name: str
    seconds: float


@dataclass(frozen=True)
class Restoration:
    """A restored image with what produced it.

    Attributes
    ----------
    image : ndarray
        float32 RGB in [0, 1]: the input's size, or ``scale`` times it for an enlarging model.
    kernel : ndarray or None
        The blur kernel the method used (float32, 2-D): the one it was given (or that one fitted to the photo),
        or the one it estimated; None for a blind method.
    kernel_source : {"given", "fitted", "estimated", "none"}
        Where :attr:`kernel` came from.
    stages : tuple of Stage
        The steps run, in order, with their seconds.
    method : str
        The method's name as asked for (``wiener``, ``default``, a model's name or path).
    """

    image: np.ndarray
    kernel: np.ndarray | None
    kernel_source: str
    stages: tuple[Stage, ...]
    method: str

    def __post_init__(self) -> None:
        if self.kernel_source not in KERNEL_SOURCES:
            raise ValueError(f"A kernel source is one of {', '.join(KERNEL_SOURCES)}; got {self.kernel_source!r}.")
        if (self.kernel is None) != (self.kernel_source == "none"):
            raise ValueError("A restoration has a kernel exactly when its kernel source is not 'none'.")

    @property
    def seconds(self) -> float:
        """Total wall time of the stages, in seconds."""
        return float(sum(s.seconds for s in self.stages))

    def kernel_text(self) -> str:
        """The kernel in words: ``given, 15 x 15 px`` (or ``fitted, ...``), ``estimated, 21 x 21 px`` or ``none (a blind
        method)``."""
        if self.kernel is None:
            return "none (a blind method)"
        h, w = self.kernel.shape
        return f"{self.kernel_source}, {w} x {h} px"
