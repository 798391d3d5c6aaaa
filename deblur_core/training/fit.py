"""Training: ``fit()`` with a module-level monitor callback, and saving the best model with its card.

:func:`train` is what both ``python -m deblur_core train`` and the web app's training page run.
It reports progress through an ``on_progress(done, total, info)`` callable, stops when a
``cancel()`` callable returns True or the time budget is spent, keeps the best checkpoint (by
validation PSNR) and can resume from it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from deblur_core.degrade import DegradationMix
from deblur_core.progress import CancelFn, ProgressFn
from deblur_core.training.config import TrainConfig


@dataclass
class TrainResult:
    """What a finished run produced."""

    model_path: Path
    epochs_run: int
    best_val_psnr: float
    best_val_ssim: float
    stopped_because: str
    history: list[dict]


def _checkpoint_paths(out: Path) -> tuple[Path, Path]:
    """Hidden checkpoint files beside the output (hidden names are never listed as models)."""
    return out.with_name(f".{out.stem}.ckpt.keras"), out.with_name(f".{out.stem}.ckpt.state.json")


def build_datasets(cfg: TrainConfig, input_spec: dict):
    """The training and fixed validation datasets for ``cfg``."""
    from deblur_core.io import read_rgb
    from deblur_core.training.data import (
        BlurDataset,
        PairedDataset,
        PatchSettings,
        find_images,
        find_pairs,
        load_images,
        split_holdout,
        split_pairs,
    )

    if not cfg.data and not cfg.paired:
        raise ValueError("Give at least one training folder (--data DIR or --paired DIR).")
    mode = "y" if input_spec.get("color") == "y" else "rgb"
    frames = int(input_spec.get("frames", 1))
    patch = int(input_spec["fixed_size"][0]) if input_spec.get("fixed_size") else cfg.patch_size
    if patch % int(input_spec.get("multiple", 1)):
        raise ValueError(f"The patch size must be a multiple of {input_spec['multiple']} for this architecture.")
    settings = PatchSettings(patch, cfg.batch_size, cfg.steps_per_epoch, frames, mode, cfg.sr_scale, clips=cfg.clips)
    val_settings = PatchSettings(
        patch, cfg.batch_size, cfg.val_batches, frames, mode, cfg.sr_scale, augment=False, clips=cfg.clips
    )
    mix = DegradationMix.from_dict(cfg.degradations)
    kwargs = {"workers": cfg.workers, "use_multiprocessing": False} if cfg.workers > 1 else {}
    if cfg.data:
        paths = find_images(cfg.data)
        if len(paths) < 2:
            raise ValueError(f"Found {len(paths)} image(s) in {', '.join(cfg.data)}; at least two are needed.")
        train_paths, val_paths = split_holdout(paths)
        train = BlurDataset(load_images(train_paths), settings, mix, seed=cfg.seed, **kwargs)
        val = BlurDataset(load_images(val_paths), val_settings, mix, seed=cfg.seed + 7919, fixed=True)
        return train, val, {"train_images": len(train_paths), "val_images": len(val_paths)}
    pairs = [p for folder in cfg.paired for p in find_pairs(folder)]
    train_pairs, val_pairs = split_pairs(pairs)

    def load(ps):
        return [(read_rgb(b), read_rgb(s)) for b, s in ps]

    train = PairedDataset(load(train_pairs), settings, seed=cfg.seed, **kwargs)
    val = PairedDataset(load(val_pairs), val_settings, seed=cfg.seed + 7919, fixed=True)
    return train, val, {"train_pairs": len(train_pairs), "val_pairs": len(val_pairs)}


def evaluate_batches(model, batches: list[tuple[np.ndarray, np.ndarray]], loss_fn) -> dict:
    """Loss, PSNR (dB) and SSIM of ``model`` on fixed validation batches, plus the blurred input's PSNR."""
    from deblur_core.metrics import psnr, ssim

    losses, psnrs, ssims, base = [], [], [], []
    for x, y in batches:
        pred = np.clip(np.asarray(model.predict_on_batch(x)), 0.0, 1.0)
        losses.append(float(np.asarray(loss_fn(y, pred))))
        centre = (
            x[..., (x.shape[-1] // 2 // y.shape[-1]) * y.shape[-1] :][..., : y.shape[-1]]
            if x.shape[-1] != y.shape[-1]
            else x
        )
        for t, p, b in zip(y, pred, centre, strict=True):
            t3, p3, b3 = (np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a for a in (t, p, b))
            psnrs.append(min(psnr(t3, p3), 100.0))
            ssims.append(ssim(t3, p3))
            base.append(min(psnr(t3, np.clip(b3, 0, 1)), 100.0))
    return {
        "val_loss": float(np.mean(losses)),
        "val_psnr": float(np.mean(psnrs)),
        "val_ssim": float(np.mean(ssims)),
        "val_blurred_psnr": float(np.mean(base)),
    }


class TrainingMonitor(keras.callbacks.Callback):
    """Progress, cancel, time budget, validation metrics and best-checkpoint saving, as one Keras callback.

    It sets the cosine learning rate before each batch, reports every batch and epoch through
    ``on_progress``, stops training when ``cancel()`` says so, the time budget is spent or the
    validation PSNR has not improved for ``cfg.patience`` epochs (:attr:`stop_reason` says which),
    and saves the best model so far as the checkpoint with the card.
    """

    def __init__(
        self,
        cfg: TrainConfig,
        steps_per_epoch: int,
        val_batches: list,
        loss_fn,
        card: dict,
        checkpoint: tuple[Path, Path],
        initial_epoch: int = 0,
        best: dict | None = None,
        history: list[dict] | None = None,
        on_progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
        on_preview: Callable[[int, np.ndarray, np.ndarray, np.ndarray], None] | None = None,
    ):
        super().__init__()
        self.cfg = cfg
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = cfg.epochs * steps_per_epoch
        self.val_batches = val_batches
        self.loss_fn = loss_fn
        self.card = card
        self.ckpt_path, self.state_path = checkpoint
        self.initial_epoch = initial_epoch
        self.best = best if best is not None else {"val_psnr": -math.inf, "val_ssim": 0.0}
        self.history = history if history is not None else []
        self.on_progress = on_progress
        self.cancel = cancel
        self.on_preview = on_preview
        self.stop_reason = "finished all epochs"
        self.started = time.monotonic()
        self.wait = 0
        self.epoch_start = time.monotonic()
        self.epoch = initial_epoch

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epoch_start = time.monotonic()

    def on_train_batch_begin(self, batch, logs=None):
        cfg = self.cfg
        if cfg.schedule == "cosine":
            run_steps = (cfg.epochs - self.initial_epoch) * self.steps_per_epoch
            done = (self.epoch - self.initial_epoch) * self.steps_per_epoch + batch
            budget = cfg.minutes * 60 if cfg.minutes else None
            fraction = done / max(1, run_steps)
            if budget:
                fraction = max(fraction, (time.monotonic() - self.started) / budget)
            lr = cosine_lr(fraction, cfg.learning_rate, cfg.min_lr)
            self.model.optimizer.learning_rate.assign(lr)

    def on_train_batch_end(self, batch, logs=None):
        cfg = self.cfg
        done = self.epoch * self.steps_per_epoch + batch + 1
        elapsed = time.monotonic() - self.epoch_start
        rate = (batch + 1) / max(elapsed, 1e-6)
        if self.on_progress:
            self.on_progress(
                done,
                self.total_steps,
                {
                    "event": "batch",
                    "epoch": self.epoch + 1,
                    "step": batch + 1,
                    "loss": float(logs.get("loss", float("nan"))),
                    "steps_per_s": rate,
                    "eta_s": (self.total_steps - done) / max(rate, 1e-6),
                },
            )
        if self.cancel is not None and self.cancel():
            self._stop("stopped on request")
        if cfg.minutes is not None and time.monotonic() - self.started > cfg.minutes * 60:
            self._stop(f"time budget of {cfg.minutes:g} minutes reached")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        metrics = evaluate_batches(self.model, self.val_batches, self.loss_fn)
        logs.update(metrics)
        row = {
            "epoch": epoch + 1,
            "loss": float(logs.get("loss", float("nan"))),
            **metrics,
            "lr": float(np.asarray(self.model.optimizer.learning_rate)),
            "seconds": time.monotonic() - self.started,
        }
        self.history.append(row)
        improved = self._keep_best(epoch, metrics)
        if self.on_preview is not None:
            x, y = self.val_batches[0]
            pred = np.clip(np.asarray(self.model.predict_on_batch(x[:1])), 0, 1)[0]
            self.on_preview(epoch + 1, x[0], pred, y[0])
        if self.on_progress:
            done = (epoch + 1) * self.steps_per_epoch
            per_epoch = (time.monotonic() - self.started) / max(1, epoch + 1 - self.initial_epoch)
            info = {
                "event": "epoch",
                **row,
                "best_val_psnr": self.best["val_psnr"],
                "improved": improved,
                "eta_s": per_epoch * (self.cfg.epochs - epoch - 1),
            }
            self.on_progress(done, self.total_steps, info)
        if self.wait >= self.cfg.patience:
            self._stop(f"no validation improvement for {self.cfg.patience} epochs")

    def _keep_best(self, epoch: int, metrics: dict) -> bool:
        """Save the checkpoint if the validation PSNR improved, and the state for resuming; True if it did."""
        from deblur_core.files import atomic_write_json
        from deblur_core.learned.registry import save_model

        improved = metrics["val_psnr"] > self.best["val_psnr"] + 1e-4
        if improved:
            self.best.update(val_psnr=metrics["val_psnr"], val_ssim=metrics["val_ssim"], epoch=epoch + 1)
            self.wait = 0
            save_model(self.model, self.ckpt_path, {**self.card, "validation": _validation(self.best, metrics)})
        else:
            self.wait += 1
        atomic_write_json(self.state_path, {"epoch": epoch + 1, "best": self.best, "history": self.history})
        return improved


def _model_card(cfg: TrainConfig, out: Path, data_info: dict) -> dict:
    return {
        "name": out.stem,
        "architecture": cfg.arch,
        "arch_args": cfg.arch_args,
        "description": cfg.description,
        "recommended": cfg.recommended,
        "training": {**cfg.to_card(), **data_info},
    }


def _start_model(cfg: TrainConfig):
    """A fresh model, or the one to resume with its epoch, best scores and history."""
    from deblur_core.learned.architectures import build
    from deblur_core.learned.registry import load_model_file

    initial_epoch, best, history = 0, {"val_psnr": -math.inf, "val_ssim": 0.0}, []
    if cfg.resume:
        model = load_model_file(Path(cfg.resume), {"architecture": cfg.arch, "arch_args": cfg.arch_args})
        state_file = Path(cfg.resume).with_name(Path(cfg.resume).name.removesuffix(".keras") + ".state.json")
        if state_file.is_file():
            state = json.loads(state_file.read_text())
            initial_epoch, best, history = state["epoch"], state["best"], state.get("history", [])
    else:
        model = build(cfg.arch, **cfg.arch_args)
    return model, initial_epoch, best, history


def train(
    cfg: TrainConfig,
    on_progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    on_preview: Callable[[int, np.ndarray, np.ndarray, np.ndarray], None] | None = None,
) -> TrainResult:
    """Train a model as ``cfg`` says and save it with its card at ``cfg.out``.

    Parameters
    ----------
    cfg : TrainConfig
        The run's settings.
    on_progress : callable, optional
        ``on_progress(done_steps, total_steps, info)``; ``info["event"]`` is ``"batch"`` or
        ``"epoch"`` (with losses, validation PSNR/SSIM, learning rate, steps per second, ETA).
    cancel : callable, optional
        Checked after every batch; when it returns True training stops and the best checkpoint
        is saved as the result.
    on_preview : callable, optional
        ``on_preview(epoch, blurred, restored, sharp)`` with one validation sample per epoch.

    Returns
    -------
    TrainResult
    """
    from deblur_core.learned.architectures import input_spec
    from deblur_core.learned.losses import get_loss, psnr_metric

    out = Path(cfg.out)
    if out.suffix != ".keras":
        raise ValueError("The output model path must end with .keras.")
    if cfg.schedule not in SCHEDULES:
        raise ValueError(f"Unknown learning-rate schedule {cfg.schedule!r}; choose one of {', '.join(SCHEDULES)}.")
    spec = input_spec(cfg.arch, **cfg.arch_args)
    loss_fn = get_loss(cfg.loss)
    train_ds, val_ds, data_info = build_datasets(cfg, spec)
    val_batches = [val_ds[i] for i in range(len(val_ds))]
    ckpt_path, state_path = _checkpoint_paths(out)
    keras.utils.set_random_seed(cfg.seed)
    card = _model_card(cfg, out, data_info)
    model, initial_epoch, best, history = _start_model(cfg)
    model.compile(
        optimizer=keras.optimizers.Adam(cfg.learning_rate, global_clipnorm=0.5), loss=loss_fn, metrics=[psnr_metric]
    )
    monitor = TrainingMonitor(
        cfg,
        len(train_ds),
        val_batches,
        loss_fn,
        card,
        (ckpt_path, state_path),
        initial_epoch,
        best,
        history,
        on_progress,
        cancel,
        on_preview,
    )
    callbacks: list = [monitor]
    if cfg.schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_psnr", mode="max", factor=0.5, patience=max(2, cfg.patience // 3), min_lr=cfg.min_lr
            )
        )
    model.fit(train_ds, epochs=cfg.epochs, initial_epoch=initial_epoch, callbacks=callbacks, verbose=0)
    return _save_result(out, card, monitor)


def _save_result(out: Path, card: dict, monitor: TrainingMonitor) -> TrainResult:
    """The best checkpoint saved as the model at ``out``, with its full card; the checkpoint files removed."""
    from deblur_core.learned.registry import load_model_file, save_model

    ckpt_path, state_path, best, history = monitor.ckpt_path, monitor.state_path, monitor.best, monitor.history
    if not ckpt_path.is_file():
        raise RuntimeError("Training stopped before the first epoch finished; no model was saved.")
    best_model = load_model_file(ckpt_path, card)
    final_card = {
        **card,
        "validation": _validation(best, history[-1] if history else {}),
        "training": {
            **card["training"],
            "epochs_run": len(history),
            "best_epoch": best.get("epoch"),
            "stopped_because": monitor.stop_reason,
            "minutes_run": (time.monotonic() - monitor.started) / 60,
            "history": history,
        },
    }
    save_model(best_model, out, final_card)
    ckpt_path.unlink(missing_ok=True)
    state_path.unlink(missing_ok=True)
    ckpt_path.with_suffix(".json").unlink(missing_ok=True)
    return TrainResult(out, len(history), best["val_psnr"], best["val_ssim"], monitor.stop_reason, history)


SCHEDULES = ("plateau", "cosine")


def cosine_lr(fraction: float, start: float, end: float) -> float:
    """Learning rate after ``fraction`` (0-1) of a run that decays from ``start`` to ``end`` on a half cosine.

    With a time budget the fraction is whichever is further along, steps or minutes, so the rate
    reaches ``end`` when the run stops for either reason.
    """
    fraction = min(max(fraction, 0.0), 1.0)
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * fraction))


def _validation(best: dict, last: dict) -> dict:
    return {
        "psnr": round(best["val_psnr"], 2),
        "ssim": round(best["val_ssim"], 3),
        "blurred_psnr": round(last.get("val_blurred_psnr", float("nan")), 2),
        "data": "held-out tenth of the training images, degraded with a fixed seed",
    }
