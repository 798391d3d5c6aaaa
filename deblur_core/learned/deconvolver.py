"""The learned deconvolver: Wiener deconvolution with the given kernel, refined by a small network.

A small network cannot learn to undo a 25-pixel blur on its own, but it learns well to clean up what a
deconvolution leaves behind (amplified noise, ringing, the frequencies the kernel destroyed), because
that is a local job. The kernel therefore enters through classical deconvolution, and the network
sees a stack of these per pixel:

- the blurred photo (RGB), so it can fall back on it where the deconvolution is wrong;
- the Wiener deconvolution with the kernel (RGB), at half the automatic regularisation of
  :func:`deblur_core.classical.auto_nsr`: a little sharper and noisier than the best plain Wiener,
  leaving the denoising to the network;
- the estimated noise level as a constant map (``sigma * SIGMA_SCALE``), so the network knows how
  hard to denoise;
- for a network with ``WIDE_INPUT_CHANNELS`` inputs, also the same deconvolution regularised
  ``STRONG_FACTOR`` times more (RGB): smoother, with much less of the ringing a wrong kernel causes, so the
  network can lean on it where the sharp one is off (a few deconvolutions at several strengths, as in
  Vasu, Maligireddy and Rajagopalan 2018). It is made from the sharp one by one filter per channel
  (:func:`reregularised`), not by a second Wiener solve.

The network (:func:`deblur_core.learned.architectures.deconv_unet`) predicts the correction to add to the
Wiener result. Training and inference build the stack with the same function, :func:`network_input`, on
the whole photo.

A last step, :func:`data_consistency`, pulls the network's result back towards what the photo itself
says wherever the kernel lets it through: the proximal step of half-quadratic splitting (as in
USRNet and DPIR's data module). Where the kernel keeps a frequency, the photo knows it better than
the network; where the kernel wipes it out, the network's answer stays. With the identity kernel
(nothing to undo) it gives back the photo, up to its noise.

References
----------
1. Dong, Roth and Schiele, "Deep Wiener deconvolution: Wiener meets deep learning for image
   deblurring", NeurIPS 2020.
2. Kruse, Rother and Schmidt, "Learning to push the limits of efficient FFT-based image
   deconvolution", ICCV 2017.
3. Zhang, Zuo, Gu and Zhang, "Learning deep CNN denoiser prior for image restoration", CVPR 2017.
4. Zhang, Van Gool and Timofte, "Deep unfolding network for image super-resolution", CVPR 2020.
5. Vasu, Maligireddy and Rajagopalan, "Non-blind deblurring: handling kernel uncertainty with CNNs",
   CVPR 2018.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import scipy.fft as sfft

from deblur_core.classical.deconvolution import _check_inputs, wiener
from deblur_core.classical.fourier import (
    FFT_WORKERS,
    _gradient_filter,
    _ramp,
    fft_workers,
    one_fft_worker,
    psf2otf,
)
from deblur_core.classical.noise import _nsr_from, estimate_noise_sigma
from deblur_core.progress import CancelFn, ProgressFn

# The Wiener step's regularisation relative to auto_nsr: half of it keeps more detail for the network.
NSR_FACTOR = 0.5
# The noise map's value is sigma (in [0, 1] units) times this: 0.01 -> 0.1, a typical activation size.
SIGMA_SCALE = 10.0
INPUT_CHANNELS = 7
# The wider stack: the seven above, then the deconvolution regularised STRONG_FACTOR times more. On 30 held-out
# training photos with a perturbed kernel (10 % too large, noise near its support), Wiener at 4 times the automatic
# ratio scored 24.97 dB against 24.40 at 1 time and 23.65 at half; with the true kernel 25.93 against 26.57 and 26.42.
WIDE_INPUT_CHANNELS = 10
STRONG_FACTOR = 8.0
# The typical error of the network's result (in [0, 1] units), against which the consistency step weighs
# the photo's noise. On held-out training photos 0.015-0.02 scored best (+0.02-0.03 dB over none), on
# held-out drawn scenes 0.02-0.03 (+0.3 dB); with a perturbed kernel it costs 0.06 dB at 0.02.
CONSISTENCY_SIGMA = 0.02
# With a kernel estimated from the photo (less sure than a known one): the Wiener step at the full automatic
# ratio, and the network's result trusted more against the photo seen through that kernel. On 118 blurred crops
# of the photos held out from the deconvolver's training (two draws of the training mixture each, noise 0-0.02),
# with the estimator's own kernels: +1.940 dB over the blurred input against +1.885 with the known-kernel
# settings, 2 cases more than 0.5 dB worse instead of 5 (ratio 1.0 alone: +1.940, 3 worse; 2.0 with 0.01:
# +1.909; 0.01 alone: +1.879).
ESTIMATED_NSR_FACTOR = 1.0
ESTIMATED_CONSISTENCY_SIGMA = 0.01
# Up to this many pixels the consistency step's and the re-regularisation's channels run at once (each thread holds
# about 20 bytes a pixel).
PARALLEL_CHANNEL_PIXELS = 4_000_000
MODEL_NAME = "deconv-unet"
"""The shipped model the learned deconvolver runs."""

__all__ = [
    "CONSISTENCY_SIGMA",
    "ESTIMATED_CONSISTENCY_SIGMA",
    "ESTIMATED_NSR_FACTOR",
    "INPUT_CHANNELS",
    "MODEL_NAME",
    "NSR_FACTOR",
    "NetworkStack",
    "SIGMA_SCALE",
    "STRONG_FACTOR",
    "WIDE_INPUT_CHANNELS",
    "data_consistency",
    "method_settings",
    "network_input",
    "reregularised",
    "stack_ratio",
]


def method_settings(approximate: bool) -> tuple[float, float]:
    """(the Wiener step's factor on the automatic ratio, the consistency step's trust) for a kernel known exactly, or
    for one that is only approximately right (estimated from the photo, or shaped by hand)."""
    if approximate:
        return ESTIMATED_NSR_FACTOR, ESTIMATED_CONSISTENCY_SIGMA
    return NSR_FACTOR, CONSISTENCY_SIGMA


def network_input(
    blurred: np.ndarray,
    kernel: np.ndarray,
    sigma: float | None = None,
    nsr_factor: float = NSR_FACTOR,
    *,
    channels: int = INPUT_CHANNELS,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    lazy: bool = False,
    ratio: float | None = None,
) -> np.ndarray | NetworkStack:
    """The stack the deconvolver's network reads: blurred RGB, Wiener RGB, noise map; H x W x 7 float32
    (x 10 with ``channels=WIDE_INPUT_CHANNELS``: then the Wiener result regularised more as well).

    Parameters
    ----------
    blurred : ndarray
        The blurred photo, float32 RGB, H x W x 3 in [0, 1].
    kernel : ndarray
        The blur kernel (2-D, non-negative, sums to 1).
    sigma : float, optional
        The noise level in [0, 1] units; estimated from the photo when None.
    nsr_factor : float
        The Wiener step's regularisation relative to the automatic ratio (``NSR_FACTOR``; the network was
        trained with it).
    channels : int
        ``INPUT_CHANNELS`` (7) or ``WIDE_INPUT_CHANNELS`` (10), as the network reads.
    on_progress, cancel : callable, optional
        Passed on to the Wiener step (``cancel`` returning True raises ``Cancelled``).
    lazy : bool
        Return a :class:`NetworkStack` (the same values, its parts kept apart) instead of an array: the network
        run in tiles then never needs the whole stack at once (480 MB for a 12-MP photo).
    ratio : float, optional
        The Wiener step's ratio, where the caller has it already (:func:`stack_ratio`); ``nsr_factor`` is then unused.

    Raises
    ------
    ValueError
        If the photo or the kernel is invalid.
    """
    img, k = _check_inputs(blurred, kernel, "The learned deconvolver")
    if channels not in (INPUT_CHANNELS, WIDE_INPUT_CHANNELS):
        raise ValueError(
            f"The deconvolver's stack has {INPUT_CHANNELS} or {WIDE_INPUT_CHANNELS} channels, not {channels}."
        )
    if sigma is None:
        sigma = estimate_noise_sigma(img)
    if ratio is None:
        ratio = stack_ratio(img, k, sigma, nsr_factor)
    if lazy:
        deconvolved = wiener(img, k, nsr=ratio, on_progress=on_progress, cancel=cancel)
        parts = [img, deconvolved, np.float32(sigma * SIGMA_SCALE)]
        if channels == WIDE_INPUT_CHANNELS:
            parts.append(reregularised(deconvolved, k, ratio, STRONG_FACTOR))
        return NetworkStack(parts)
    # Built in place: the Wiener step writes straight into its channels, saving a copy of the photo's size.
    stack = np.empty(img.shape[:2] + (channels,), np.float32)
    stack[..., :3] = img
    stack[..., 6] = sigma * SIGMA_SCALE
    wiener(img, k, nsr=ratio, on_progress=on_progress, cancel=cancel, out=stack[..., 3:6])
    if channels == WIDE_INPUT_CHANNELS:
        reregularised(stack[..., 3:6], k, ratio, STRONG_FACTOR, out=stack[..., 7:10])
    return stack


def stack_ratio(image: np.ndarray, kernel: np.ndarray, sigma: float, nsr_factor: float = NSR_FACTOR) -> float:
    """The Wiener step's ratio in the stack: ``nsr_factor`` times the automatic one for this photo, kernel and noise.

    Raises ValueError, as :func:`network_input` does, if the photo or the kernel is invalid."""
    img, k = _check_inputs(image, kernel, "The learned deconvolver")
    return nsr_factor * _nsr_from(img, k, sigma)


class NetworkStack:
    """The network's stack kept as its parts (H x W x C arrays and constant channels): ``stack[rows, columns]`` puts
    that part of it together, as :func:`deblur_core.learned.tiling.tiled_apply` asks for one tile at a time, and
    ``np.asarray(stack)`` the whole of it."""

    def __init__(self, parts: list[np.ndarray | np.float32]) -> None:
        arrays = [p for p in parts if isinstance(p, np.ndarray)]
        self.parts = parts
        self.shape = arrays[0].shape[:2] + (sum(p.shape[2] if isinstance(p, np.ndarray) else 1 for p in parts),)
        self.ndim = 3
        self.dtype = np.dtype(np.float32)

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        rows, cols = key
        first = next(p for p in self.parts if isinstance(p, np.ndarray))[rows, cols]
        out = np.empty(first.shape[:2] + (self.shape[2],), np.float32)
        c = 0
        for part in self.parts:
            if isinstance(part, np.ndarray):
                out[..., c : c + part.shape[2]] = part[rows, cols]
                c += part.shape[2]
            else:
                out[..., c] = part
                c += 1
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[:, :]
        return whole if dtype is None else whole.astype(dtype, copy=False)


def reregularised(
    deconvolved: np.ndarray, kernel: np.ndarray, ratio: float, factor: float, *, out: np.ndarray | None = None
) -> np.ndarray:
    """A Wiener result made with ratio ``ratio``, turned into the one with ``factor`` times that ratio; H x W x 3.

    With the gradient regulariser ``R`` and the kernel's transfer function ``H``, the Wiener result at ratio ``r``
    is ``conj(H) Y / (|H|^2 + r R)``, so the one at ``f r`` is it times ``(|H|^2 + r R) / (|H|^2 + f r R)``: one
    filter, a low-pass where the kernel is weak, applied to the mirror-padded result (one FFT pair per channel
    instead of a second solve with its border refinement), clipped to [0, 1].
    """
    k = np.asarray(kernel, np.float32)
    h, w = deconvolved.shape[:2]
    pad_y, pad_x, shape = _padded_canvas(h, w, k)
    otf = psf2otf(k, shape)
    power = (otf.real**2 + otf.imag**2).astype(np.float32)
    reg = np.float32(ratio) * _gradient_filter(shape)
    gain = (power + reg) / (power + np.float32(factor) * reg)
    result = out if out is not None else np.empty(deconvolved.shape, np.float32)

    def channel(c: int) -> None:
        canvas = np.pad(
            deconvolved[..., c], ((pad_y, shape[0] - h - pad_y), (pad_x, shape[1] - w - pad_x)), "symmetric"
        )
        spectrum = sfft.rfft2(canvas, workers=fft_workers())
        spectrum *= gain
        result[..., c] = sfft.irfft2(spectrum, s=shape, workers=fft_workers())[pad_y : pad_y + h, pad_x : pad_x + w]

    _per_channel(channel, deconvolved.shape[2], h * w)
    return np.clip(result, 0.0, 1.0, out=result)


def _per_channel(channel, count: int, pixels: int) -> None:
    """Run ``channel(c)`` for each of ``count`` channels: up to PARALLEL_CHANNEL_PIXELS pixels on threads of their own,
    each with one FFT worker (the element-wise steps between the FFTs then run in parallel too); above it one after
    another, each with all the FFT workers, to bound the memory."""
    threads = min(FFT_WORKERS, count) if pixels <= PARALLEL_CHANNEL_PIXELS else 1

    def run(c: int) -> None:
        with one_fft_worker() if threads > 1 else contextlib.nullcontext():
            channel(c)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(run, range(count)))


def data_consistency(
    blurred: np.ndarray,
    refined: np.ndarray,
    kernel: np.ndarray,
    sigma: float,
    trust: float = CONSISTENCY_SIGMA,
    *,
    overwrite: bool = False,
) -> np.ndarray:
    """The result closest to ``refined`` that the blurred photo also agrees with; H x W x 3 float32.

    Minimises ``|k * x - y|^2 / sigma^2 + |x - refined|^2 / trust^2`` over x (y the photo, k the
    kernel) in the Fourier domain: ``x = refined + conj(K) R / (|K|^2 + (sigma / trust)^2)`` with R
    the spectrum of ``y - k * refined``. The residual is tapered to zero over one kernel size at the
    photo's border, where the blur reached pixels outside the frame and the residual says nothing
    reliable; there the network's result stays. In float32, the channels on threads of their own (:func:`_per_channel`).

    Parameters
    ----------
    blurred, refined : ndarray
        The blurred photo and the network's result, float32 RGB, H x W x 3 in [0, 1].
    kernel : ndarray
        The blur kernel the result was made with.
    sigma : float
        The photo's noise level (:func:`deblur_core.classical.estimate_noise_sigma`).
    trust : float
        The network's typical error: smaller trusts the network more.
    overwrite : bool
        Write the result into ``refined`` (float32) instead of a new array, to save its memory.
    """
    k = np.asarray(kernel, np.float32)
    h, w = blurred.shape[:2]
    pad_y, pad_x, shape = _padded_canvas(h, w, k)
    otf = psf2otf(k, shape).astype(np.complex64)
    gain = np.conj(otf) / (np.abs(otf) ** 2 + np.float32((sigma / trust) ** 2))
    taper = np.outer(_edge_weight(h, k.shape[0]), _edge_weight(w, k.shape[1]))
    flipped = np.ascontiguousarray(k[::-1, ::-1])  # filter2D correlates
    out = refined if overwrite and refined.dtype == np.float32 else np.empty_like(refined, dtype=np.float32)

    def channel(c: int) -> None:
        x = np.ascontiguousarray(refined[..., c], dtype=np.float32)
        residual = np.zeros(shape, np.float32)
        reblurred = cv2.filter2D(x, -1, flipped, borderType=cv2.BORDER_REFLECT)
        residual[pad_y : pad_y + h, pad_x : pad_x + w] = taper * (blurred[..., c] - reblurred)
        spectrum = sfft.rfft2(residual, workers=fft_workers())
        spectrum *= gain
        correction = sfft.irfft2(spectrum, s=shape, workers=fft_workers())[pad_y : pad_y + h, pad_x : pad_x + w]
        out[..., c] = x + correction

    _per_channel(channel, refined.shape[2], h * w)
    return np.clip(out, 0.0, 1.0, out=out)


def _padded_canvas(h: int, w: int, k: np.ndarray) -> tuple[int, int, tuple[int, int]]:
    """The padding (one kernel size, at least 8 px, on each side) and the FFT-friendly canvas of an h x w photo."""
    pad_y, pad_x = max(8, k.shape[0]), max(8, k.shape[1])
    return pad_y, pad_x, (sfft.next_fast_len(h + 2 * pad_y, real=True), sfft.next_fast_len(w + 2 * pad_x, real=True))


def _edge_weight(n: int, width: int) -> np.ndarray:
    """0 at both ends of an axis of ``n`` pixels, rising as a raised cosine to 1 over ``width`` pixels (float32)."""
    ramp = min(width, n // 2)
    return (_ramp(n, ramp) if ramp > 1 else np.ones(n)).astype(np.float32)
