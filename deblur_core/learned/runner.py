"""A loaded model with its card, ready to run on a photo or a stack of video frames of any size.

:class:`ModelRunner` meets what the card says the model takes: RGB or the Y channel, how many frames,
the multiple its sides must have, a fixed input size (tiled), an output scale. Large pictures go
through :func:`deblur_core.learned.tiling.tiled_apply`. Runners are made and cached by the model
registry (:meth:`deblur_core.learned.registry.Registry.runner`).
"""

from __future__ import annotations

import threading

import numpy as np

from deblur_core.image import rgb_to_ycbcr, ycbcr_to_rgb
from deblur_core.learned.tiling import pad_to_multiple, tiled_apply
from deblur_core.progress import CancelFn, ProgressFn


def _bicubic(image: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic enlargement (imported here: OpenCV and SciPy cost a model listing nothing until a model enlarges)."""
    from deblur_core.degrade import bicubic_upscale

    return bicubic_upscale(image, scale)


class ModelRunner:
    """A loaded model plus its card: runs it on images of any size, safely from several threads."""

    def __init__(self, model, card: dict, tile: int | None = None, overlap: int = 32):
        self.model = model
        self.card = card
        self.spec = card["input"]
        fixed = self.spec.get("fixed_size")
        self.multiple = int(self.spec.get("multiple", 1))
        # Tiles of 1024 px run a 1-megapixel photo in one piece and a 12-megapixel one in 12 tiles that repeat
        # only 5 % of its pixels (768 px tiles repeated 140 % of a 1-megapixel photo's). With 1536 px tiles the
        # 12-megapixel photo peaked at 2.5 GB through the command line.
        self.tile = int(fixed[0]) if fixed else (tile or 1024)
        self.overlap = min(overlap, self.tile // 4)
        self.fixed = bool(fixed)
        self._first_call = threading.Lock()
        self._warm = False

    @property
    def frames(self) -> int:
        return int(self.spec.get("frames", 1))

    @property
    def takes_kernel(self) -> bool:
        """Whether the model refines a deconvolution with a given kernel (the learned deconvolver)."""
        return self.spec.get("kernel") == "needs"

    @property
    def scale(self) -> int:
        return int(self.spec.get("scale", 1))

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        if self.fixed and batch.shape[1:3] != (self.tile, self.tile):
            # Fixed-input models get a full tile: pad the piece and crop the answer.
            h, w = batch.shape[1:3]
            padded, _ = pad_to_multiple(batch[0], 1, (self.tile, self.tile))
            return self._predict(padded[None])[:, :h, :w]
        if not self._warm:
            with self._first_call:  # Keras builds its predict function on the first call; do it once
                out = self.model.predict_on_batch(np.asarray(batch, np.float32))
                self._warm = True
                return np.asarray(out)
        return np.asarray(self.model.predict_on_batch(np.asarray(batch, np.float32)))

    def __call__(
        self,
        image: np.ndarray,
        upscale: bool = False,
        on_progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
    ) -> np.ndarray:
        """Restore ``image`` (H x W x 3, or H x W x 3*frames for video models); returns H x W x 3.

        With ``upscale=True`` a model whose card has ``scale`` > 1 first enlarges the image by
        that factor with bicubic interpolation (the DBSRCNN protocol), so the output is larger.
        """
        if self.takes_kernel:
            # The learned deconvolver reads the stack of deblur_core.learned.deconvolver.network_input.
            expected = int(self.spec["channels"])
            if image.ndim != 3 or image.shape[2] != expected:
                raise ValueError(
                    f"This model takes the {expected}-channel stack of its deconvolution; got shape {image.shape}."
                )
            out = tiled_apply(image, self._predict, self.tile, self.overlap, self.multiple, 3, on_progress, cancel)
            return _clipped(out)
        expected = 3 * self.frames
        if image.ndim != 3 or image.shape[2] != expected:
            raise ValueError(
                f"This model takes {self.frames} frame(s) of RGB ({expected} channels); got shape {image.shape}."
            )
        if upscale and self.scale > 1:
            image = np.concatenate([_bicubic(image[..., i : i + 3], self.scale) for i in range(0, expected, 3)], axis=2)
        if self.spec.get("color") == "y":
            ycc = rgb_to_ycbcr(image)
            y = tiled_apply(ycc[..., :1], self._predict, self.tile, self.overlap, self.multiple, 1, on_progress, cancel)
            return ycbcr_to_rgb(np.concatenate([y, ycc[..., 1:]], axis=2))
        out = tiled_apply(image, self._predict, self.tile, self.overlap, self.multiple, 3, on_progress, cancel)
        return _clipped(out)


def _clipped(out: np.ndarray) -> np.ndarray:
    """``out`` (a float32 array of tiled_apply's own) clipped to [0, 1] in place: no 144-MB copy at 12 MP."""
    return np.clip(out, 0.0, 1.0, out=out)
