"""Long, resumable training of the learned deconvolver.

Two processes share a run folder:

``python -m deblur_core.training.deconv_train produce RUN``
    writes shards of fresh samples into ``RUN/pool`` (see :mod:`deblur_core.training.deconv_data`), dropping
    the oldest, until stopped;
``python -m deblur_core.training.deconv_train train RUN --steps N``
    trains on batches drawn from the pool with a warm-up and cosine learning-rate schedule, saves a
    checkpoint (model and optimizer state) every few hundred steps, measures the held-out photos
    every ``--val-every`` steps and keeps the best model. A stopped run continues from its last
    checkpoint.

Validation uses a fixed tenth of the training photos, held out whole (never seen by the producer),
each blurred with a fixed kernel from the training mixture and noise, deconvolved through the same
code path as at test time.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from deblur_core.files import atomic_write_json, atomic_write_with
from deblur_core.learned.deconvolver import INPUT_CHANNELS, WIDE_INPUT_CHANNELS
from deblur_core.settings import data_dir
from deblur_core.training.data import find_images, load_images, split_holdout
from deblur_core.training.deconv_validation import EstimatedValidator, Validator, perturbed_cases

TRAIN_FOLDERS = ("T91", "BSD100", "BSD400")


def split_photos(root: Path | None = None) -> tuple[list[Path], list[Path]]:
    """(training, held-out) photo paths: every tenth of the sorted training folders is held out."""
    root = root or data_dir()
    paths = find_images([root / "train" / f for f in TRAIN_FOLDERS])
    return split_holdout(paths)


def learning_rate(step: int, total: int, peak: float, warmup: int = 500, floor: float = 1e-5) -> float:
    """Linear warm-up to ``peak``, then a cosine down to ``floor`` at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * t))


def _log(run: Path, text: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {text}"
    print(line, flush=True)
    with open(run / "train.log", "a") as fh:
        fh.write(line + "\n")


def _save_atomic(model, path: Path) -> None:
    atomic_write_with(path, model.save, suffix=".keras")


def _score(entry: dict, exact_only: bool = False) -> float:
    """What picks the best step: the mean of the scores measured (true kernels; perturbed and estimated ones where
    they are scored too), or for a network meant only for kernels known exactly (a run produced with ``--p-wrong
    0``) the true kernels' score alone."""
    keys = ("psnr",) if exact_only else ("psnr", "perturbed", "estimated")
    return float(np.mean([entry[key] for key in keys if key in entry]))


def _estimated_validator(
    run: Path, held_out: list[np.ndarray] | None, count: int, state: dict, channels: int
) -> EstimatedValidator:
    """The estimated-kernel validator on ``count`` held-out photos (another draw of blurs), noted in ``state``."""
    from deblur_core.training.deconv_data import validation_cases

    photos = held_out if held_out is not None else load_images(split_photos()[1])
    estimated = EstimatedValidator(
        validation_cases(photos[:count], seed=4321), run / "estimated-validation.json", channels
    )
    _log(
        run,
        f"estimated-kernel validation: {len(estimated.cases)} photos, a kernel found in {estimated.found}, "
        f"blurred {estimated.blurred:.2f} dB, Wiener with those kernels {estimated.wiener:.2f} dB",
    )
    state["validation"]["estimated"] = {
        "photos": len(estimated.cases),
        "found": estimated.found,
        "blurred": estimated.blurred,
        "wiener": estimated.wiener,
    }
    return estimated


def _measure(
    run: Path,
    model,
    step: int,
    validate: Validator,
    estimated: EstimatedValidator | None,
    perturbed: Validator | None = None,
) -> dict:
    """One point of the learning curve: the true-kernel score, and the perturbed- and estimated-kernel ones if asked
    for."""
    entry = {"step": step, "psnr": validate(model), "time": time.time()}
    text = f"validation at {step}: {entry['psnr']:.3f} dB ({entry['psnr'] - validate.wiener:+.3f} vs Wiener)"
    if perturbed is not None:
        entry["perturbed"] = perturbed(model)
        text += (
            f"; perturbed kernels {entry['perturbed']:.3f} dB ({entry['perturbed'] - perturbed.wiener:+.3f} vs Wiener)"
        )
    if estimated is not None:
        entry["estimated"] = estimated(model)
        entry["estimated_worse"] = estimated.last_worse
        text += (
            f"; estimated kernels {entry['estimated']:.3f} dB ({entry['estimated'] - estimated.blurred:+.3f} "
            f"vs blurred, {estimated.last_worse} cases 0.5 dB worse)"
        )
    _log(run, text)
    return entry


# The training losses --loss offers (Keras's names for them), as the model card names them.
LOSSES = {"mae": "mean absolute error", "mse": "mean squared error"}
# The shipped network's shape (deblur_core.learned.architectures.deconv_unet): a new run is built with it, and the
# export writes it on the card with the input width.
DECONV_ARCH_ARGS = {"base_filters": 24, "depth": 3, "blocks_per_level": 1, "bottleneck_blocks": 3}


def _model_for(run: Path, ckpt: Path, state: dict, init: Path | None, peak_lr: float, channels: int, loss: str = "mae"):
    """The run's checkpoint, or a new network of ``channels`` inputs compiled with ``loss`` (from ``init``'s weights
    if given; step 0 in ``state``)."""
    import keras

    from deblur_core.learned.architectures import deconv_unet

    if ckpt.exists():
        model = keras.models.load_model(ckpt)
        _log(run, f"resumed at step {state['step']}")
        return model
    model = deconv_unet(**DECONV_ARCH_ARGS, input_channels=channels)
    if init is not None:
        model.set_weights(widened_weights(keras.models.load_model(init, compile=False), model))
        _log(run, f"started from the weights of {init}")
        state["init"] = str(init)
    # Clipping keeps one bad batch (a badly wrong kernel) from blowing up the weights.
    model.compile(optimizer=keras.optimizers.Adam(peak_lr, global_clipnorm=1.0), loss=loss)
    state["step"] = 0
    state["loss"] = loss
    return model


def widened_weights(source, target) -> list[np.ndarray]:
    """``source``'s weights for ``target``, which may read more input channels: the first layer's weights for the
    channels ``source`` lacks start at zero, so the widened network starts out computing exactly what ``source``
    does, and training then learns what the new channels add."""
    weights = []
    for have, want in zip(source.get_weights(), target.get_weights(), strict=True):
        if have.shape != want.shape:
            if have.ndim != 4 or have.shape[:2] != want.shape[:2] or have.shape[3] != want.shape[3]:
                raise ValueError(f"Cannot start a network with weights of shape {want.shape} from {have.shape}.")
            grown = np.zeros(want.shape, have.dtype)
            grown[:, :, : have.shape[2]] = have
            have = grown
        weights.append(have)
    return weights


def _validators(
    run: Path, state: dict, held_out: list[np.ndarray] | None, count: int, channels: int, approximate: bool
) -> tuple[Validator, Validator]:
    """The learning curve's validators: ``count`` held-out photos with their true kernels and with wrong ones (scored
    the way a kernel marked approximate is run, if ``approximate``), noted in ``state``."""
    from deblur_core.training.deconv_data import validation_cases

    cases = validation_cases(held_out if held_out is not None else load_images(split_photos()[1][:count]))
    validate = Validator(cases, channels)
    perturbed = Validator(perturbed_cases(cases), channels, approximate=approximate)
    _log(
        run,
        f"validation: {len(cases)} held-out photos, blurred {validate.blurred:.2f} dB, Wiener {validate.wiener:.2f} dB",
    )
    state["validation"] = {
        "photos": len(cases),
        "blurred": validate.blurred,
        "wiener_auto": validate.wiener,
        "perturbed_wiener_auto": perturbed.wiener,
        "perturbed_approximate": approximate,
    }
    return validate, perturbed


def train(
    run: Path,
    steps: int,
    batch: int = 16,
    peak_lr: float = 5e-4,
    val_every: int = 1000,
    ckpt_every: int = 250,
    val_images: int = 30,
    held_out: list[np.ndarray] | None = None,
    init: Path | None = None,
    estimated_val: int = 0,
    channels: int = INPUT_CHANNELS,
    loss: str = "mae",
    perturbed_approximate: bool = False,
) -> None:
    """Train (or resume) the deconvolver in ``run`` up to ``steps`` steps; see the module notes.

    ``held_out`` replaces the held-out training photos for validation (tests pass a small list).
    ``init`` starts a new run from the weights of a saved model (fine-tuning the shipped one, say)
    instead of from scratch; a run with a checkpoint always resumes from it. ``estimated_val`` > 0 also
    scores the method with the blind estimator's kernels on that many held-out photos (other draws of the
    blur). Every validation also scores the held-out photos handed a wrong kernel (:func:`perturbed_cases`); the best
    step is the one with the best mean of the scores (of the true kernels' alone where the producer hands no wrong
    kernel, :func:`_score`). ``channels`` is the network's input width for a new run
    (``WIDE_INPUT_CHANNELS`` adds the more regularised deconvolution; from a 7-channel ``init`` its weights start at
    zero, :func:`widened_weights`). ``loss`` is a key of ``LOSSES`` (mean squared error suits fine-tuning a network
    for PSNR; a resumed run keeps the loss it was compiled with). ``perturbed_approximate`` scores the wrong kernels
    the way the method runs a kernel marked approximate (:func:`deblur_core.learned.deconvolver.method_settings`), for a
    run whose producer trains that way (``produce --p-approximate``).
    """
    from deblur_core.training.deconv_data import P_WRONG_KERNEL, Pool

    run.mkdir(parents=True, exist_ok=True)
    state_path, ckpt = run / "state.json", run / "checkpoint.keras"
    state = json.loads(state_path.read_text()) if state_path.exists() else {"step": 0, "history": [], "best": None}
    model = _model_for(run, ckpt, state, init, peak_lr, channels, loss)
    channels = int(model.input_shape[-1])
    state.update({"total_steps": steps, "batch": batch, "peak_lr": peak_lr, "channels": channels})
    validate, perturbed = _validators(run, state, held_out, val_images, channels, perturbed_approximate)
    estimated = _estimated_validator(run, held_out, estimated_val, state, channels) if estimated_val > 0 else None
    if state["step"] == 0:
        state["history"] = [_measure(run, model, 0, validate, estimated, perturbed)]
    exact_only = _recipe(run).get("p_wrong", P_WRONG_KERNEL) == 0
    pool = Pool(run / "pool", np.random.default_rng([7, state["step"]]))
    while not list((run / "pool").glob("shard-*.npz")):
        _log(run, "waiting for the producer's first shard")
        time.sleep(20)
    t0, losses = time.perf_counter(), []
    while state["step"] < steps:
        step = state["step"]
        model.optimizer.learning_rate.assign(learning_rate(step, steps, peak_lr))
        x, y = pool.batch(batch)
        losses.append(float(np.asarray(model.train_on_batch(x, y))))
        state["step"] = step + 1
        if state["step"] % 50 == 0:
            rate = 50 / (time.perf_counter() - t0)
            _log(run, f"step {state['step']}: loss {np.mean(losses):.5f}, {rate:.2f} steps/s")
            t0, losses = time.perf_counter(), []
        if state["step"] % val_every == 0 or state["step"] == steps:
            entry = _measure(run, model, state["step"], validate, estimated, perturbed)
            state["history"].append(entry)
            if state["best"] is None or _score(entry, exact_only) > _score(state["best"], exact_only):
                state["best"] = {k: v for k, v in entry.items() if k != "time"}
                _save_atomic(model, run / "best.keras")
            _save_atomic(model, ckpt)
            atomic_write_json(state_path, state)
            t0 = time.perf_counter()
        elif state["step"] % ckpt_every == 0:
            _save_atomic(model, ckpt)
            atomic_write_json(state_path, state)
            t0 = time.perf_counter()
    _log(run, f"done: best {state['best']}")


def training_minutes(history: list[dict]) -> float:
    """Wall time spent training, from the validation times (gaps of over 30 minutes are pauses, not training)."""
    times = [h["time"] for h in history]
    return sum(b - a for a, b in zip(times, times[1:], strict=False) if b - a < 1800) / 60


def export(run: Path, out: Path, scene_count: int = 24) -> Path:
    """Save the run's best model with its model card (the learning curve included) as ``out``.

    The card also gets the model's PSNR on ``scene_count`` held-out drawn scenes beside plain Wiener's.
    """
    import keras

    from deblur_core.learned.registry import save_model
    from deblur_core.training.deconv_data import (
        NOISE_MAX,
        P_IDENTITY,
        P_JPEG,
        P_NO_NOISE,
        P_SCENE,
        P_WRONG_KERNEL,
        scene_validation_cases,
    )

    state = json.loads((run / "state.json").read_text())
    model = keras.models.load_model(run / "best.keras", compile=False)
    val = state["validation"]
    channels = int(model.input_shape[-1])
    recipe = _recipe(run)
    families = recipe.get("families", ["gaussian", "defocus", "motion", "shake"])
    scenes = Validator(scene_validation_cases(scene_count, size=128 if scene_count < 24 else 320), channels)
    best = state["best"]
    card = {
        "name": out.stem,
        "architecture": "deconv-unet",
        "arch_args": {**DECONV_ARCH_ARGS, "input_channels": channels},
        "description": _description(recipe.get("p_wrong", P_WRONG_KERNEL)),
        "training": {
            "data": [f"train/{f}" for f in TRAIN_FOLDERS]
            + ["a fixed tenth of the photos held out whole", f"drawn scenes (text, stripes, shapes) for {P_SCENE:.0%}"],
            "degradations": {
                "kernels": "the training mixture (Gaussian, defocus, motion, camera shake) up to 31 px"
                + (", and thin camera-shake traces" if "trace" in families else ""),
                "families": families,
                "identity_share": P_IDENTITY,
                "noise": f"sigma 0 to {NOISE_MAX} ({P_NO_NOISE:.0%} without noise), 8-bit rounding",
                "jpeg_share": P_JPEG,
                "wrong_kernel_share": round(recipe.get("p_wrong", P_WRONG_KERNEL), 3),
                "estimated_kernel_share": recipe.get("p_estimated", 0.0),
                "approximate_kernel_share": recipe.get("p_approximate", 0.0),
                "drawn_scene_share": P_SCENE,
            },
            "loss": LOSSES[state.get("loss", "mae")],
            "patch_size": 128,
            "batch_size": state["batch"],
            "steps": state["step"],
            "learning_rate": state["peak_lr"],
            "schedule": "linear warm-up over 500 steps, then cosine to 1e-5",
            "best_step": best["step"],
            "started_from": state.get("init"),
            "minutes": round(training_minutes(state["history"]), 1),
            "history": state["history"],
        },
        "validation": {
            "psnr": round(best["psnr"], 2),
            "wiener_psnr": round(val["wiener_auto"], 2),
            "blurred_psnr": round(val["blurred"], 2),
            "photos": val["photos"],
            "data": "held-out training photos, whole, each with a fixed kernel of the training mixture and noise 0.005-0.02",
            "scenes": {
                "psnr": round(scenes(model), 2),
                "wiener_psnr": round(scenes.wiener, 2),
                "count": len(scenes.cases),
                "data": "drawn scenes (text, stripes, shapes, lines) from a random stream training never draws",
            },
        },
    }
    card["validation"] |= _other_kernel_scores(val, best)
    return save_model(model, out, card)


def _description(p_wrong: float) -> str:
    """The model card's description: the network for any kernel, or (trained without wrong kernels) the one for a
    kernel known exactly."""
    text = (
        "The learned deconvolver: Wiener deconvolution with the given blur kernel, refined by a small network "
        "that removes the noise and ripples the deconvolution leaves. Needs the kernel."
    )
    if p_wrong > 0:
        return text
    return text + (
        " This network was trained only on kernels known exactly; the deconvolver runs it with such a kernel, and "
        "its other network with an estimated or hand-shaped one."
    )


def _other_kernel_scores(val: dict, best: dict) -> dict:
    """The model card's scores with wrong and with estimated kernels, where the run measured them."""
    out = {}
    if "perturbed" in best:
        out["perturbed_kernels"] = {
            "psnr": round(best["perturbed"], 2),
            "wiener_psnr": round(val["perturbed_wiener_auto"], 2),
            "data": "the same held-out photos, each handed a wrong kernel (perturb_kernel, a fixed draw)"
            + (", run as a kernel marked approximate" if val.get("perturbed_approximate") else ""),
        }
    if "estimated" in val and "estimated" in best:
        out["estimated_kernels"] = {
            "psnr": round(best["estimated"], 2),
            "wiener_psnr": round(val["estimated"]["wiener"], 2),
            "blurred_psnr": round(val["estimated"]["blurred"], 2),
            "photos": val["estimated"]["photos"],
            "kernel_found": val["estimated"]["found"],
            "cases_over_half_a_db_worse": best["estimated_worse"],
            "data": "held-out training photos, another draw of blurs, with the kernels the blind estimator finds",
        }
    return out


def _recipe(run: Path) -> dict:
    """What the run's producer was asked for (``recipe.json``, written by produce_main; empty if none was)."""
    path = run / "recipe.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def produce_main(
    run: Path,
    seed: int,
    max_shards: int,
    p_estimated: float = 0.0,
    channels: int = INPUT_CHANNELS,
    p_approximate: float = 0.0,
    p_wrong: float | None = None,
) -> None:
    from deblur_core.training.deconv_data import FAMILIES, P_WRONG_KERNEL, produce

    p_wrong = P_WRONG_KERNEL if p_wrong is None else p_wrong
    for flag, share, most in (
        ("--p-estimated", p_estimated, 1.0),
        ("--p-approximate", p_approximate, 0.5),
        ("--p-wrong", p_wrong, 1.0),
    ):
        if not 0 <= share <= most:
            raise SystemExit(f"{flag} must be a share from 0 to {most:g}.")
    run.mkdir(parents=True, exist_ok=True)
    before = _recipe(run).get("families")
    if before not in (None, list(FAMILIES)):
        _log(run, f"producer: the kernel families change from {before} to {list(FAMILIES)}")
    atomic_write_json(
        run / "recipe.json",
        {
            "p_estimated": p_estimated,
            "p_approximate": p_approximate,
            "p_wrong": p_wrong,
            "channels": channels,
            "families": list(FAMILIES),
        },
    )
    training, _ = split_photos()
    images = load_images(training)
    produce(
        images,
        run / "pool",
        seed=seed,
        max_shards=max_shards,
        log=lambda t: _log(run, "producer " + t),
        p_estimated=p_estimated,
        channels=channels,
        p_approximate=p_approximate,
        p_wrong=p_wrong,
    )


def _produce_parser(sub) -> argparse.ArgumentParser:
    """The ``produce`` command's options."""
    p = sub.add_parser("produce", help="write training shards into RUN/pool until stopped")
    p.add_argument("run", type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-shards", type=int, default=240)
    p.add_argument(
        "--p-estimated",
        type=float,
        default=0.0,
        help="share of blurred photos handed the kernel the blind estimator finds in them (about 1.5 s each)",
    )
    p.add_argument(
        "--p-approximate",
        type=float,
        default=0.0,
        help="share of the other photos deconvolved the way a kernel marked approximate is (at most 0.5; "
        "60 %% of those kernels are wrong, fewer of the rest, a third in all)",
    )
    p.add_argument(
        "--p-wrong",
        type=float,
        default=None,
        help="share of photos handed a wrong (perturbed) kernel (default a third; 0 for a network meant only for "
        "kernels known exactly)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deblur_core.training.deconv_train", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = _produce_parser(sub)
    t = sub.add_parser("train", help="train (or resume) on RUN/pool")
    for command in (p, t):
        command.add_argument(
            "--channels",
            type=int,
            choices=(INPUT_CHANNELS, WIDE_INPUT_CHANNELS),
            default=INPUT_CHANNELS,
            help=f"the network's input width: {INPUT_CHANNELS}, or {WIDE_INPUT_CHANNELS} with the more regularised "
            "deconvolution",
        )
    t.add_argument("run", type=Path)
    t.add_argument("--steps", type=int, default=20000)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--lr", type=float, default=5e-4)
    t.add_argument("--val-every", type=int, default=1000)
    t.add_argument("--ckpt-every", type=int, default=250)
    t.add_argument("--val-images", type=int, default=30)
    t.add_argument("--loss", choices=sorted(LOSSES), default="mae", help="the training loss of a new run")
    t.add_argument(
        "--estimated-val",
        type=int,
        default=0,
        help="also score the method with the blind estimator's kernels on this many held-out photos",
    )
    t.add_argument(
        "--perturbed-approximate",
        action="store_true",
        help="score the wrong kernels the way the method runs a kernel marked approximate",
    )
    t.add_argument(
        "--init", type=Path, help="start a new run from this model's weights (e.g. models/deconv-unet.keras)"
    )
    e = sub.add_parser("export", help="save RUN's best model with its card")
    e.add_argument("run", type=Path)
    e.add_argument("--out", type=Path, required=True, help="the .keras file to write (its card goes beside it)")
    args = parser.parse_args(argv)
    if args.command == "export":
        print(export(args.run, args.out))
    elif args.command == "produce":
        produce_main(
            args.run, args.seed, args.max_shards, args.p_estimated, args.channels, args.p_approximate, args.p_wrong
        )
    else:
        train(
            args.run,
            args.steps,
            args.batch,
            args.lr,
            args.val_every,
            args.ckpt_every,
            args.val_images,
            init=args.init,
            estimated_val=args.estimated_val,
            channels=args.channels,
            loss=args.loss,
            perturbed_approximate=args.perturbed_approximate,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
