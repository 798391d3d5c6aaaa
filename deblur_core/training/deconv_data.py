"""Training data for the learned deconvolver: whole photos blurred, deconvolved, then cut into patches.

The deconvolution that feeds the network is computed on the whole training photo with exactly the
function used at test time (:func:`deblur_core.learned.deconvolver.network_input`), so the network never sees
a patch-sized deconvolution that a real photo would not produce; several patches are then cut from
each photo. On a third of the samples the network is handed a *wrong* kernel (see
:func:`perturb_kernel`) while the photo was blurred with the true one, so that it learns to lean on
the blurred photo where the deconvolution is off, as it will be with an estimated kernel. Optionally
(``p_estimated``) a share of the photos gets the kernel the blind estimator itself finds in the blurred photo
(:func:`deblur_core.classical.estimate.estimate_kernel`, on the whole photo, as at test time), deconvolved the
way an estimated kernel is at test time (``ESTIMATED_NSR_FACTOR``): the errors the estimator really makes, not
only invented ones. A photo the estimator leaves alone (a fallback) gets a perturbed kernel instead.

Samples are written in shards (``.npz``: the stack quantised to 8 and 16 bits, the noise level, the
sharp patch) by a producer process that keeps a pool of recent shards on disk; the trainer draws its
batches from the pool, so the training step is only the network.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from deblur_core.degrade import add_noise, blur, jpeg, quantize
from deblur_core.files import atomic_write_with
from deblur_core.kernels import identity_kernel, normalize_kernel, random_kernel
from deblur_core.learned.deconvolver import (
    ESTIMATED_NSR_FACTOR,
    INPUT_CHANNELS,
    NSR_FACTOR,
    SIGMA_SCALE,
    WIDE_INPUT_CHANNELS,
    network_input,
)
from deblur_core.training.scenes import drawn_scene

# The kernel families drawn (deblur_core.kernels.random_kernel, one as likely as another): the training mixture and
# the thin smooth traces recorded camera shake looks like, which the tangled walks of "shake" are not.
FAMILIES = ("gaussian", "defocus", "motion", "shake", "trace")
# Share of samples deconvolved with a perturbed kernel, and of unblurred ones (identity kernel).
P_WRONG_KERNEL = 1 / 3
# With p_approximate > 0 (a run that also trains the way an approximate kernel is run), the share of those kernels that
# are wrong; the kernels run as exact ones are then wrong less often, so that P_WRONG_KERNEL of all are wrong.
WRONG_WHEN_APPROXIMATE = 0.6
P_IDENTITY = 0.08
NOISE_MAX = 0.03
P_NO_NOISE = 0.15
P_JPEG = 0.1
# Share of photos replaced by a drawn scene (text, stripes, shapes, lines; see scenes.py).
P_SCENE = 0.15


def _resize_kernel(k: np.ndarray, scale: float) -> np.ndarray:
    size = max(1, int(round(k.shape[0] * scale)) | 1)
    return cv2.resize(k.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


def _rotate_kernel(k: np.ndarray, degrees: float) -> np.ndarray:
    pad = np.pad(k, k.shape[0] // 4 + 1)
    return ndimage.rotate(pad, degrees, reshape=False, order=1)


def perturb_kernel(kernel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plausibly wrong version of ``kernel``, as a kernel estimator might return.

    One or two of: noise near the support; dropped points; added points; a slight blur; a stretch
    along one axis; a rotation of up to 15 degrees; a size error of up to 25 % (the right family, the
    wrong size). The result is a valid kernel (non-negative, odd, centred, sums to 1).
    """
    k = np.asarray(kernel, np.float64)
    if k.shape == (1, 1):
        k = np.pad(k, 1)
    for _ in range(1 + int(rng.random() < 0.4)):
        kind = int(rng.integers(7))
        peak = float(k.max())
        if kind == 0:  # noise near the support
            near = ndimage.binary_dilation(k > 0.05 * peak, iterations=2)
            k = k + near * rng.uniform(0, 0.15 * peak, k.shape)
        elif kind == 1:  # dropped points
            keep = rng.random(k.shape) > rng.uniform(0.1, 0.35)
            if (k * keep).sum() > 0.3 * k.sum():
                k = k * keep
        elif kind == 2:  # added points
            n = int(rng.integers(1, 4))
            ys, xs = rng.integers(0, k.shape[0], n), rng.integers(0, k.shape[1], n)
            k = k.copy()
            k[ys, xs] += rng.uniform(0.2, 0.6, n) * peak
        elif kind == 3:  # slightly blurred
            k = ndimage.gaussian_filter(np.pad(k, 2), rng.uniform(0.4, 1.0))
        elif kind == 4:  # stretched along one axis
            size = max(1, int(round(k.shape[0] * rng.uniform(0.75, 1.25))) | 1)
            k = cv2.resize(k.astype(np.float32), (k.shape[1], size), interpolation=cv2.INTER_LINEAR)
            k = np.rot90(k, int(rng.integers(2)))
        elif kind == 5:
            k = _rotate_kernel(k, rng.uniform(-15, 15))
        else:
            k = _resize_kernel(k, rng.uniform(0.75, 1.25))
        k = np.clip(k, 0, None)
        if k.sum() <= 0:
            return normalize_kernel(kernel)
    # normalize_kernel re-centres the mass, as every method does with the kernel it is given.
    return normalize_kernel(k)


def sample_degradation(
    rng: np.random.Generator, p_estimated: float = 0.0, p_approximate: float = 0.0, p_wrong: float = P_WRONG_KERNEL
) -> dict:
    """Draw the kernel, noise level and JPEG quality of one training photo, and which kernel the network gets:
    ``estimated`` (a share ``p_estimated`` of the blurred photos: the estimator's own), else ``wrong`` (perturbed)
    on a share ``p_wrong`` (a third by default; 0 for a network meant for kernels known exactly), else the true one.

    ``approximate`` marks a share ``p_approximate`` of the others as run the way a kernel that is not known exactly is
    run at test time (shaped by hand, or estimated: ``ESTIMATED_NSR_FACTOR``); such a kernel is wrong more often
    (``WRONG_WHEN_APPROXIMATE``), the rest less often, so that ``p_wrong`` of all are wrong."""
    if rng.random() < P_IDENTITY:
        family, kernel = "clean", identity_kernel()
    else:
        family, kernel = random_kernel(rng, FAMILIES)
    sigma = 0.0 if rng.random() < P_NO_NOISE else float(rng.uniform(0.0, NOISE_MAX))
    quality = int(rng.integers(60, 96)) if rng.random() < P_JPEG else None
    estimated = p_estimated > 0 and family != "clean" and rng.random() < p_estimated  # no draw at 0: same stream
    approximate = not estimated and p_approximate > 0 and rng.random() < p_approximate
    wrong = not estimated and rng.random() < _wrong_share(approximate, p_approximate, p_wrong)
    return {
        "family": family,
        "kernel": kernel,
        "sigma": sigma,
        "jpeg": quality,
        "wrong": wrong,
        "estimated": estimated,
        "approximate": approximate,
    }


def _wrong_share(approximate: bool, p_approximate: float, p_wrong: float = P_WRONG_KERNEL) -> float:
    """How often a kernel marked (or not marked) approximate is a wrong one, ``p_wrong`` of all kernels being wrong."""
    if approximate:
        return WRONG_WHEN_APPROXIMATE
    if p_approximate <= 0:
        return p_wrong
    return max(0.0, (p_wrong - p_approximate * WRONG_WHEN_APPROXIMATE) / (1 - p_approximate))


def degrade_photo(sharp: np.ndarray, deg: dict, rng: np.random.Generator) -> np.ndarray:
    """Blur (reflect borders), add noise, JPEG-compress if asked, round to 8 bits: the benchmark's protocol."""
    out = blur(sharp, deg["kernel"])
    if deg["sigma"] > 0:
        out = add_noise(out, deg["sigma"], rng)
    if deg["jpeg"]:
        out = jpeg(out, deg["jpeg"])
    return quantize(out)


def _given_kernel(blurred: np.ndarray, deg: dict, rng: np.random.Generator) -> tuple[np.ndarray, float, bool]:
    """The kernel the network is handed, the Wiener step's factor for it, and whether it is the estimator's own."""
    if deg["estimated"]:
        from deblur_core.classical.estimate import estimate_kernel

        found = estimate_kernel(blurred)
        if not found.fallback:
            return found.kernel, ESTIMATED_NSR_FACTOR, True
        return perturb_kernel(deg["kernel"], rng), NSR_FACTOR, False
    factor = ESTIMATED_NSR_FACTOR if deg["approximate"] else NSR_FACTOR
    return (perturb_kernel(deg["kernel"], rng) if deg["wrong"] else deg["kernel"]), factor, False


def make_samples(
    sharp: np.ndarray,
    rng: np.random.Generator,
    patch: int,
    count: int,
    p_estimated: float = 0.0,
    channels: int = INPUT_CHANNELS,
    p_approximate: float = 0.0,
    p_wrong: float = P_WRONG_KERNEL,
) -> dict:
    """Degrade a whole photo, build the network's stack on it, cut ``count`` patches.

    Returns a dict of arrays: ``blurred`` (N x P x P x 3 uint8), ``deconvolved`` (uint16, the
    Wiener channels times 65535), ``sigma`` (N float32, the estimated noise level), ``sharp``
    (uint8), ``wrong`` (N bool: the kernel handed to the network was not the true one) and ``estimated``
    (N bool: it was the estimator's, found in the blurred photo; a share ``p_estimated`` of blurred photos) and
    ``approximate`` (N bool: deconvolved the way a kernel not known exactly is, a share ``p_approximate`` of the rest,
    :func:`sample_degradation`);
    for the wider stack (``channels=WIDE_INPUT_CHANNELS``) also ``strong`` (uint16, the Wiener result regularised
    more).
    """
    deg = sample_degradation(rng, p_estimated, p_approximate, p_wrong)
    blurred = degrade_photo(sharp, deg, rng)
    given, nsr_factor, estimated = _given_kernel(blurred, deg, rng)
    stack = network_input(blurred, given, nsr_factor=nsr_factor, channels=channels)
    h, w = sharp.shape[:2]
    ys = rng.integers(0, h - patch + 1, count)
    xs = rng.integers(0, w - patch + 1, count)
    cut = [stack[y : y + patch, x : x + patch] for y, x in zip(ys, xs, strict=True)]
    ref = [sharp[y : y + patch, x : x + patch] for y, x in zip(ys, xs, strict=True)]
    cut_arr = np.stack(cut)
    samples = {
        "blurred": np.round(cut_arr[..., 0:3] * 255).astype(np.uint8),
        "deconvolved": np.round(np.clip(cut_arr[..., 3:6], 0, 1) * 65535).astype(np.uint16),
        "sigma": (cut_arr[:, 0, 0, 6] / SIGMA_SCALE).astype(np.float32),
        "sharp": np.round(np.stack(ref) * 255).astype(np.uint8),
        "wrong": np.full(count, deg["wrong"] or deg["estimated"]),
        "estimated": np.full(count, estimated),
        "approximate": np.full(count, deg["approximate"]),
    }
    if channels == WIDE_INPUT_CHANNELS:
        samples["strong"] = np.round(np.clip(cut_arr[..., 7:10], 0, 1) * 65535).astype(np.uint16)
    return samples


def decode_batch(
    blurred: np.ndarray, deconvolved: np.ndarray, sigma: np.ndarray, strong: np.ndarray | None = None
) -> np.ndarray:
    """Stored patches back to the network's stack: N x P x P x 7 float32 (x 10 with ``strong``)."""
    n, p = blurred.shape[:2]
    noise = np.broadcast_to((sigma * SIGMA_SCALE).astype(np.float32)[:, None, None, None], (n, p, p, 1))
    parts = [blurred.astype(np.float32) / 255.0, deconvolved.astype(np.float32) / 65535.0, noise]
    if strong is not None:
        parts.append(strong.astype(np.float32) / 65535.0)
    return np.concatenate(parts, axis=3)


def augment(stack: np.ndarray, sharp: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The same random flip and quarter turn for a batch's inputs and targets (the blur turns with them)."""
    k = int(rng.integers(4))
    stack, sharp = np.rot90(stack, k, axes=(1, 2)), np.rot90(sharp, k, axes=(1, 2))
    if rng.random() < 0.5:
        stack, sharp = stack[:, :, ::-1], sharp[:, :, ::-1]
    return np.ascontiguousarray(stack), np.ascontiguousarray(sharp)


def produce(
    images: list[np.ndarray],
    pool_dir: Path,
    seed: int,
    patch: int = 128,
    per_photo: int = 6,
    shard_size: int = 192,
    max_shards: int = 240,
    stop_after: int | None = None,
    log=print,
    p_scene: float = P_SCENE,
    p_estimated: float = 0.0,
    channels: int = INPUT_CHANNELS,
    p_approximate: float = 0.0,
    p_wrong: float = P_WRONG_KERNEL,
) -> None:
    """Write shards of samples into ``pool_dir`` forever (or ``stop_after`` shards), dropping the oldest.

    A share ``p_scene`` of the photos is replaced by a freshly drawn scene (:func:`drawn_scene`); a share
    ``p_estimated`` of the blurred ones gets the estimator's kernel (:func:`make_samples`); ``channels`` is the
    stack's width and ``p_wrong`` the share of wrong kernels (:func:`make_samples`).

    The shard counter continues from the files already there, so a restarted producer does not
    overwrite fresh shards; each shard's randomness comes from (seed, shard number).
    """
    pool_dir.mkdir(parents=True, exist_ok=True)
    usable = [im for im in images if min(im.shape[:2]) >= patch]
    existing = sorted(pool_dir.glob("shard-*.npz"))
    number = 1 + max((int(p.stem.split("-")[1]) for p in existing), default=-1)
    written = 0
    while stop_after is None or written < stop_after:
        rng = np.random.default_rng([seed, number])
        parts: list[dict] = []
        t0 = time.perf_counter()
        while sum(len(p["sigma"]) for p in parts) < shard_size:
            if rng.random() < p_scene:
                image = drawn_scene(rng, size=int(rng.integers(max(patch, 256), 513)))
            else:
                image = usable[int(rng.integers(len(usable)))]
            parts.append(make_samples(image, rng, patch, per_photo, p_estimated, channels, p_approximate, p_wrong))
        shard = {key: np.concatenate([p[key] for p in parts])[:shard_size] for key in parts[0]}
        atomic_write_with(pool_dir / f"shard-{number:06d}.npz", lambda tmp, shard=shard: np.savez(tmp, **shard))
        written += 1
        number += 1
        shards = sorted(pool_dir.glob("shard-*.npz"))
        for old in shards[: max(0, len(shards) - max_shards)]:
            old.unlink(missing_ok=True)
        log(f"shard {number - 1}: {shard_size} samples in {time.perf_counter() - t0:.1f} s")


class Pool:
    """Random batches from the shards in a folder, re-listed now and then as the producer adds more."""

    def __init__(self, pool_dir: Path, rng: np.random.Generator, resident: int = 48, refresh_every: int = 50):
        self.pool_dir = Path(pool_dir)
        self.rng = rng
        self.resident = resident
        self.refresh_every = refresh_every
        self.loaded: dict[str, dict] = {}
        self.calls = 0

    def _refresh(self) -> None:
        names = sorted(p.name for p in self.pool_dir.glob("shard-*.npz"))
        if not names:
            raise FileNotFoundError(f"No training shards in {self.pool_dir} yet.")
        # Keep the newest shards resident (fresh data), plus a random sample of older ones.
        newest = names[-self.resident // 2 :]
        older = names[: -self.resident // 2]
        pick = (
            list(self.rng.choice(older, min(len(older), self.resident - len(newest)), replace=False)) if older else []
        )
        wanted = set(newest) | set(pick)
        for name in list(self.loaded):
            if name not in wanted:
                del self.loaded[name]
        for name in wanted - set(self.loaded):
            try:
                with np.load(self.pool_dir / name) as data:
                    self.loaded[name] = {k: data[k] for k in data.files}
            except (OSError, ValueError, EOFError, zipfile.BadZipFile):
                continue  # removed or being replaced by the producer: skip it this time

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        if self.calls % self.refresh_every == 0 or not self.loaded:
            self._refresh()
        self.calls += 1
        names = list(self.loaded)
        blurred, deconv, sigma, sharp, strong = [], [], [], [], []
        for _ in range(size):
            shard = self.loaded[names[int(self.rng.integers(len(names)))]]
            i = int(self.rng.integers(len(shard["sigma"])))
            blurred.append(shard["blurred"][i])
            deconv.append(shard["deconvolved"][i])
            sigma.append(shard["sigma"][i])
            sharp.append(shard["sharp"][i])
            if "strong" in shard:
                strong.append(shard["strong"][i])
        if strong and len(strong) != size:
            raise ValueError(f"The shards in {self.pool_dir} mix the 7- and 10-channel stacks; use one run per width.")
        stack = decode_batch(
            np.stack(blurred), np.stack(deconv), np.array(sigma, np.float32), np.stack(strong) if strong else None
        )
        target = np.stack(sharp).astype(np.float32) / 255.0
        return augment(stack, target, self.rng)


def validation_cases(images: list[np.ndarray], seed: int = 1234, max_side: int = 512) -> list[dict]:
    """Fixed degradations of held-out whole photos (no perturbed kernels): the learning curve's cases."""
    cases = []
    for i, image in enumerate(images):
        rng = np.random.default_rng([seed, i])
        h, w = image.shape[:2]
        if min(h, w) < 64:
            continue
        image = image[: min(h, max_side), : min(w, max_side)]
        _, kernel = random_kernel(rng)
        deg = {"kernel": kernel, "sigma": float(rng.choice([0.005, 0.01, 0.02])), "jpeg": None}
        cases.append({"sharp": image, "kernel": kernel, "blurred": degrade_photo(image, deg, rng)})
    return cases


def scene_validation_cases(count: int = 24, seed: int = 999, size: int = 320) -> list[dict]:
    """Fixed degradations of drawn scenes (text, stripes, shapes) that no training step draws.

    The producer's scenes come from the random streams ``(seed, shard)`` of its own seed; these come
    from ``(999, i)``, a stream it never uses with the default seeds.
    """
    cases = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        sharp = drawn_scene(rng, size)
        _, kernel = random_kernel(rng)
        deg = {"kernel": kernel, "sigma": float(rng.choice([0.005, 0.01, 0.02])), "jpeg": None}
        cases.append({"sharp": sharp, "kernel": kernel, "blurred": degrade_photo(sharp, deg, rng)})
    return cases
