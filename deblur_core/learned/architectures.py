"""Keras model builders, registered by name.

Each builder is a plain function with spelled-out keyword arguments that returns an uncompiled
``keras.Model``. :data:`ARCHITECTURES` maps a name to its builder and to a function describing what
the model takes (colour or luminance, how many frames, the multiple its sides must have, a fixed
input size, the output scale), which ends up in the model card.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from deblur_core.naming import NamedRegistry

if TYPE_CHECKING:
    import keras
    from keras import layers
else:

    class _ImportedOnUse:
        """A module imported at its first attribute access.

        Reading a model card (its architecture's name and input) must not cost the seconds TensorFlow
        takes to import: the model list, the command line's checks and the app's first page need none.
        """

        def __init__(self, name: str) -> None:
            self._name = name

        def __getattr__(self, attribute: str):
            return getattr(importlib.import_module(self._name), attribute)

    keras = _ImportedOnUse("keras")
    layers = _ImportedOnUse("keras.layers")


@dataclass(frozen=True)
class Architecture:
    """A registered architecture: its builder and what its models take."""

    name: str
    builder: Callable[..., keras.Model]
    describe_input: Callable[..., dict]
    summary: str


ARCHITECTURES: NamedRegistry[Architecture] = NamedRegistry("architecture")


def register(name: str, summary: str, describe_input: Callable[..., dict]):
    """Decorator: add a builder to :data:`ARCHITECTURES` under ``name`` (a name is registered once)."""

    def wrap(builder: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
        ARCHITECTURES.register(name, Architecture(name, builder, describe_input, summary))
        return builder

    return wrap


def build(name: str, **kwargs) -> keras.Model:
    """Build the architecture ``name`` with keyword arguments ``kwargs``.

    Raises
    ------
    ValueError
        If the name is not registered or an argument is not accepted.
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture '{name}'. Available: {', '.join(sorted(ARCHITECTURES))}.")
    try:
        return ARCHITECTURES[name].builder(**kwargs)
    except TypeError as exc:
        raise ValueError(f"Architecture '{name}' does not accept these arguments: {exc}.") from None


def input_spec(name: str, **kwargs) -> dict:
    """What a model of architecture ``name`` built with ``kwargs`` takes (goes into the model card)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture '{name}'. Available: {', '.join(sorted(ARCHITECTURES))}.")
    return ARCHITECTURES[name].describe_input(**kwargs)


def _residual_block(x, filters: int, name: str):
    """Two 3x3 convolutions with a skip connection (no normalisation: it hurts restoration)."""
    y = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(x)
    y = layers.LeakyReLU(0.1, name=f"{name}_act")(y)
    y = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def _unet_correction(inputs, base_filters: int, depth: int, blocks_per_level: int, bottleneck_blocks: int):
    """The residual U-Net body shared by the blind and the kernel-taking models: the RGB correction.

    A strided 4x4 stem, so all heavy work happens at half resolution or below; residual blocks on the
    way down and up with additive skips; a transposed-convolution head that starts at zero.
    """
    x = layers.Conv2D(base_filters, 4, strides=2, padding="same", name="stem")(inputs)
    x = layers.LeakyReLU(0.1, name="stem_act")(x)
    skips = []
    for level in range(depth):
        filters = base_filters * 2**level
        for b in range(blocks_per_level):
            x = _residual_block(x, filters, f"down{level}_{b}")
        if level < depth - 1:
            skips.append(x)
            x = layers.Conv2D(filters * 2, 3, strides=2, padding="same", name=f"down{level}_stride")(x)
            x = layers.LeakyReLU(0.1, name=f"down{level}_act")(x)
    for b in range(bottleneck_blocks):
        x = _residual_block(x, base_filters * 2 ** (depth - 1), f"bottleneck_{b}")
    for level in reversed(range(depth - 1)):
        filters = base_filters * 2**level
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same", name=f"up{level}_tconv")(x)
        x = layers.Add(name=f"up{level}_skip")([x, skips[level]])
        for b in range(blocks_per_level):
            x = _residual_block(x, filters, f"up{level}_{b}")
    return layers.Conv2DTranspose(3, 4, strides=2, padding="same", kernel_initializer="zeros", name="head")(x)


def _pick_channels(inputs, first: int, name: str):
    """Channels ``first`` to ``first + 2`` of ``inputs``, by a fixed 1x1 convolution.

    A convolution rather than a Lambda layer, so the saved model needs no custom code and loads with
    safe_mode on.
    """
    select = layers.Conv2D(3, 1, use_bias=False, trainable=False, name=name)
    picked = select(inputs)
    weights = np.zeros((1, 1, inputs.shape[-1], 3), "float32")
    for c in range(3):
        weights[0, 0, first + c, c] = 1.0
    select.set_weights([weights])
    return picked


def _unet_input(
    frames: int = 1, base_filters: int = 24, depth: int = 3, blocks_per_level: int = 1, bottleneck_blocks: int = 2
) -> dict:
    return {"color": "rgb", "channels": 3, "frames": frames, "multiple": 2**depth, "fixed_size": None, "scale": 1}


@register("unet", "Residual fully convolutional encoder-decoder (U-Net); the default, fast on a CPU.", _unet_input)
def unet(
    frames: int = 1, base_filters: int = 24, depth: int = 3, blocks_per_level: int = 1, bottleneck_blocks: int = 2
) -> keras.Model:
    """A residual U-Net that predicts the correction to add to the blurred frame.

    The first layer is a strided 4x4 convolution, so all heavy work happens at half resolution or
    below; a transposed convolution brings the result back to full resolution. This keeps the cost
    near 20 k multiply-adds per pixel for ``base_filters=24``, fast enough for photos on a laptop CPU,
    while the lowest level (1/2**depth) sees far enough to undo 25-pixel motion blur.

    Parameters
    ----------
    frames : int
        Number of RGB frames stacked on the channel axis (1 for photos, 3 for video: previous,
        current, next). The output restores the middle frame.
    base_filters : int
        Channels at half resolution; doubled at each deeper level.
    depth : int
        Number of stride-2 levels; input sides must be a multiple of ``2**depth`` (the inference
        code pads and crops).
    blocks_per_level : int
        Residual blocks per level on the way down and on the way up.
    bottleneck_blocks : int
        Residual blocks at the lowest resolution.

    Returns
    -------
    keras.Model
        Input ``(None, None, 3 * frames)`` float32 in [0, 1]; output ``(None, None, 3)``.
    """
    if frames < 1 or frames % 2 == 0:
        raise ValueError("frames must be an odd number of at least 1.")
    if depth < 1 or base_filters < 4:
        raise ValueError("depth must be at least 1 and base_filters at least 4.")
    inputs = keras.Input((None, None, 3 * frames), name="blurred")
    centre = inputs
    correction = _unet_correction(inputs, base_filters, depth, blocks_per_level, bottleneck_blocks)
    if frames > 1:
        centre = _pick_channels(inputs, 3 * (frames // 2), "centre_frame")
    outputs = layers.Add(name="restored")([centre, correction])
    return keras.Model(inputs, outputs, name="unet")


def _autoencoder_input(image_size: int = 128, latent_channels: int = 32) -> dict:
    return {
        "color": "rgb",
        "channels": 3,
        "frames": 1,
        "multiple": 8,
        "fixed_size": [image_size, image_size],
        "scale": 1,
    }


@register(
    "autoencoder",
    "The classic convolutional autoencoder recipe: fixed 128x128 input, sigmoid output.",
    _autoencoder_input,
)
def autoencoder(image_size: int = 128, latent_channels: int = 32) -> keras.Model:
    """The seed recipe: Conv2D encoder (64/128/256), latent bottleneck, Conv2DTranspose decoder.

    Input ``(image_size, image_size, 3)``, sigmoid output of the same shape, trained with MSE.
    Where this differs from the published recipe: the recipe's flattened dense latent vector would
    hold about 33 million weights at 128x128 (a 130 MB file) and loses all spatial layout, so here
    the bottleneck is a 1x1 convolution to ``latent_channels`` channels at 1/8 resolution (an
    8192-number latent code for 128x128). Everything else follows the recipe. The app tiles larger
    images into 128x128 pieces for this model.
    """
    if image_size % 8:
        raise ValueError("image_size must be a multiple of 8.")
    inputs = keras.Input((image_size, image_size, 3), name="blurred")
    x = inputs
    for filters in (64, 128, 256):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu", name=f"enc_{filters}")(x)
    x = layers.Conv2D(latent_channels, 1, activation="relu", name="latent")(x)
    for filters in (256, 128, 64):
        x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu", name=f"dec_{filters}")(x)
    outputs = layers.Conv2DTranspose(3, 3, padding="same", activation="sigmoid", name="restored")(x)
    return keras.Model(inputs, outputs, name="autoencoder")


def _dbsrcnn_input(channels: int = 1, filters: int = 32, scale: int = 3) -> dict:
    return {
        "color": "y" if channels == 1 else "rgb",
        "channels": channels,
        "frames": 1,
        "multiple": 1,
        "fixed_size": None,
        "scale": scale,
    }


@register(
    "dbsrcnn", "DBSRCNN (Albluwi et al. 2018): joint deblurring and super-resolution on the Y channel.", _dbsrcnn_input
)
def dbsrcnn(channels: int = 1, filters: int = 32, scale: int = 3) -> keras.Model:
    """DBSRCNN: conv 32@9x9 and conv 32@5x5 concatenated, then 32@5x5, 32@5x5 and a 5x5 output.

    The input is the bicubic-enlarged image (``scale`` times; 1 for deblurring alone) on the Y
    channel (``channels=1``), as in the paper; about 106 k parameters. ReLU everywhere but the
    linear output, 'same' padding so the output has the input's size.
    """
    inputs = keras.Input((None, None, channels), name="blurred")
    f1 = layers.Conv2D(filters, 9, padding="same", activation="relu", name="feature_9x9")(inputs)
    f2 = layers.Conv2D(filters, 5, padding="same", activation="relu", name="feature_5x5")(f1)
    x = layers.Concatenate(name="concat")([f1, f2])
    x = layers.Conv2D(filters, 5, padding="same", activation="relu", name="map_1")(x)
    x = layers.Conv2D(filters, 5, padding="same", activation="relu", name="map_2")(x)
    outputs = layers.Conv2D(channels, 5, padding="same", name="restored")(x)
    return keras.Model(inputs, outputs, name="dbsrcnn")


# The learned deconvolver: blurred RGB, Wiener RGB and the noise map (see deblur_core.learned.deconvolver), and in
# the wider stack the Wiener result regularised more.
DECONV_INPUT_CHANNELS = 7
DECONV_WIDE_INPUT_CHANNELS = 10


def _deconv_unet_input(
    base_filters: int = 24,
    depth: int = 3,
    blocks_per_level: int = 1,
    bottleneck_blocks: int = 3,
    input_channels: int = DECONV_INPUT_CHANNELS,
) -> dict:
    return {
        "color": "rgb",
        "channels": input_channels,
        "frames": 1,
        "multiple": 2**depth,
        "fixed_size": None,
        "scale": 1,
        "kernel": "needs",
    }


@register(
    "deconv-unet",
    "Residual U-Net refining a Wiener deconvolution with the given kernel: the learned deconvolver.",
    _deconv_unet_input,
)
def deconv_unet(
    base_filters: int = 24,
    depth: int = 3,
    blocks_per_level: int = 1,
    bottleneck_blocks: int = 3,
    input_channels: int = DECONV_INPUT_CHANNELS,
):
    """The refining network: a residual U-Net over the stack of :func:`deblur_core.learned.deconvolver.network_input`.

    The same shape as the blind ``unet``: a strided 4x4 stem, so every layer works at half resolution
    or below (about 22 k multiply-adds per pixel at ``base_filters=24``), residual blocks on the way
    down and up, and a transposed-convolution head that predicts the correction added to the Wiener
    channels of the input. The head starts at zero, so an untrained model returns the Wiener result.

    ``input_channels`` is 7 (blurred, Wiener, noise map) or 10 (and the Wiener result regularised more).

    Returns
    -------
    keras.Model
        Input ``(None, None, input_channels)`` float32; output ``(None, None, 3)``. Sides must be a multiple of
        ``2**depth`` (the runner pads and crops).
    """
    if depth < 1 or base_filters < 4:
        raise ValueError("depth must be at least 1 and base_filters at least 4.")
    if input_channels not in (DECONV_INPUT_CHANNELS, DECONV_WIDE_INPUT_CHANNELS):
        raise ValueError(f"input_channels must be {DECONV_INPUT_CHANNELS} or {DECONV_WIDE_INPUT_CHANNELS}.")
    inputs = keras.Input((None, None, input_channels), name="stack")
    correction = _unet_correction(inputs, base_filters, depth, blocks_per_level, bottleneck_blocks)
    base = _pick_channels(inputs, 3, "deconvolved")
    outputs = layers.Add(name="restored")([base, correction])
    return keras.Model(inputs, outputs, name="deconv_unet")
