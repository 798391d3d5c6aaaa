"""How the learned deconvolver's training measures itself: held-out whole photos restored through the same code path as
at test time, with their true kernels, with wrong ones, and with the kernels the blind estimator finds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from deblur_core.classical.noise import estimate_noise_sigma
from deblur_core.files import atomic_write_json
from deblur_core.learned.deconvolver import INPUT_CHANNELS, data_consistency, network_input


class Validator:
    """PSNR of the method (the network and the consistency step), of plain Wiener (auto) and of the input on the held-out photos."""

    def __init__(self, cases: list[dict], channels: int = INPUT_CHANNELS, approximate: bool = False):
        from deblur_core.classical.deconvolution import wiener
        from deblur_core.learned.deconvolver import method_settings
        from deblur_core.metrics import psnr

        self.cases = cases
        self.sigmas = [estimate_noise_sigma(c["blurred"]) for c in cases]
        # How the method runs these kernels: as exact ones, or as approximate ones (kernel_estimated=True).
        nsr_factor, self.trust = method_settings(approximate)
        self.stacks = [
            network_input(c["blurred"], c["kernel"], s, nsr_factor, channels=channels)
            for c, s in zip(cases, self.sigmas, strict=True)
        ]
        self.wiener = float(np.mean([psnr(c["sharp"], wiener(c["blurred"], c["kernel"])) for c in cases]))
        self.blurred = float(np.mean([psnr(c["sharp"], c["blurred"]) for c in cases]))

    def __call__(self, model) -> float:
        from deblur_core.metrics import psnr

        scores = []
        for case, stack, sigma in zip(self.cases, self.stacks, self.sigmas, strict=True):
            restored = _restored(model, stack, case["blurred"], case["kernel"], sigma, trust=self.trust)
            scores.append(psnr(case["sharp"], restored))
        return float(np.mean(scores))


def _restored(model, stack: np.ndarray, blurred: np.ndarray, kernel: np.ndarray, sigma: float, **consistency):
    """What the method returns for one photo: the network on its stack, then the consistency step."""
    from deblur_core.learned.tiling import crop_to, pad_to_multiple

    padded, size = pad_to_multiple(stack, 8)
    out = np.clip(crop_to(np.asarray(model.predict_on_batch(padded[None]))[0], size), 0, 1)
    return data_consistency(blurred, out, kernel, sigma, **consistency)


class EstimatedValidator:
    """The deconvolver handed the blind estimator's own kernels, as ``estimated-deconvolver`` runs it.

    Each case's kernel is estimated once, from its blurred photo (cached in ``RUN/estimated-validation.json``);
    a case the estimator leaves alone scores its blurred photo, as the method returns it. ``self.last_worse``
    counts the cases more than 0.5 dB below their blurred photo in the last call.
    """

    def __init__(self, cases: list[dict], cache: Path | None = None, channels: int = INPUT_CHANNELS):
        from deblur_core.classical.deconvolution import wiener
        from deblur_core.learned.deconvolver import ESTIMATED_NSR_FACTOR
        from deblur_core.metrics import psnr

        self.cases = cases
        self.kernels = self._kernels(cases, cache)
        self.sigmas = [estimate_noise_sigma(c["blurred"]) for c in cases]
        self.base = [psnr(c["sharp"], c["blurred"]) for c in cases]
        self.stacks = [
            None if k is None else network_input(c["blurred"], k, s, nsr_factor=ESTIMATED_NSR_FACTOR, channels=channels)
            for c, k, s in zip(cases, self.kernels, self.sigmas, strict=True)
        ]
        self.blurred = float(np.mean(self.base))
        self.wiener = float(
            np.mean(
                [
                    b if k is None else psnr(c["sharp"], wiener(c["blurred"], k))
                    for c, k, b in zip(cases, self.kernels, self.base, strict=True)
                ]
            )
        )
        self.found = sum(k is not None for k in self.kernels)
        self.last_worse = 0

    @staticmethod
    def _kernels(cases: list[dict], cache: Path | None) -> list[np.ndarray | None]:
        from deblur_core.classical.estimate import estimate_kernel

        if cache is not None and cache.is_file():
            stored = json.loads(cache.read_text())
            if len(stored) == len(cases):
                return [None if k is None else np.asarray(k, np.float32) for k in stored]
        kernels = []
        for case in cases:
            found = estimate_kernel(case["blurred"])
            kernels.append(None if found.fallback else np.asarray(found.kernel, np.float32))
        if cache is not None:
            atomic_write_json(cache, [None if k is None else k.tolist() for k in kernels])
        return kernels

    def __call__(self, model) -> float:
        from deblur_core.learned.deconvolver import ESTIMATED_CONSISTENCY_SIGMA
        from deblur_core.metrics import psnr

        scores = []
        for case, stack, kernel, sigma, base in zip(
            self.cases, self.stacks, self.kernels, self.sigmas, self.base, strict=True
        ):
            if stack is None:
                scores.append(base)
                continue
            result = _restored(model, stack, case["blurred"], kernel, sigma, trust=ESTIMATED_CONSISTENCY_SIGMA)
            scores.append(psnr(case["sharp"], result))
        self.last_worse = sum(s < b - 0.5 for s, b in zip(scores, self.base, strict=True))
        return float(np.mean(scores))


def perturbed_cases(cases: list[dict], seed: int = 2468) -> list[dict]:
    """The same held-out cases, each handed a wrong kernel (:func:`perturb_kernel`, a fixed draw) while its photo
    stays blurred with the true one."""
    from deblur_core.training.deconv_data import perturb_kernel

    return [c | {"kernel": perturb_kernel(c["kernel"], np.random.default_rng([seed, i]))} for i, c in enumerate(cases)]
