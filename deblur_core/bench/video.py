"""Video benchmark: does seeing the neighbouring frames help? ``python -m deblur_core.bench.video``.

Held-out clips are made from the Set5 and Set14 images exactly as the video models' training clips
are made from the training images (:func:`deblur_core.training.data.synthetic_clip`): a crop moving over the
image along a straight, gently accelerating path, each frame the average of seven sub-frame
positions (real-looking motion blur), noise of sigma 0 to 0.02 and rounding to 8 bits. The ground
truth is the sharp crop at the middle of the middle frame.

Measured on each clip: the blurred middle frame itself, ``video-unet3`` (given the previous, current
and next frames), ``video-unet1`` (given the middle frame only; trained on the same clips for the
same time) and, when installed, the ``default`` still-image model on the middle frame. The output is
a markdown table (printed; also written to ``--out`` with a CSV of every clip beside it).
Nothing is trained or tuned here, and the clips come from the evaluation images only.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

from deblur_core.metrics import format_psnr, format_ssim, psnr, ssim
from deblur_core.settings import data_dir

SETS = ("Set5", "Set14")
VIDEO_MODELS = ("video-unet3", "video-unet1")
BLURRED = "blurred input"


def make_clips(data: Path, samples: int = 4, size: int = 192, seed: int = 0) -> list[dict]:
    """``samples`` clips per evaluation image: ``{"set", "image", "clip", "blurred" (HxWx9), "sharp"}``.

    Each clip's random path, speed and noise come from a generator seeded by (seed, image index,
    sample index), so the clips are the same on every run and for every method.
    """
    from deblur_core.degrade import DegradationMix
    from deblur_core.io import read_rgb
    from deblur_core.training.data import synthetic_clip

    mix = DegradationMix()  # the training mixture's noise (sigma 0-0.02) and 8-bit rounding
    clips = []
    index = 0
    for set_name in SETS:
        for path in sorted((data / "val" / set_name).glob("*.png")):
            image = read_rgb(path)
            for k in range(samples):
                rng = np.random.default_rng([seed, index, k])
                blurred, sharp = synthetic_clip(image, size, 3, rng, mix)
                clips.append({"set": set_name, "image": path.stem, "clip": k, "blurred": blurred, "sharp": sharp})
            index += 1
    return clips


def available_methods(registry) -> tuple[list[str], list[str]]:
    """(methods to measure, notes on what is missing)."""
    names = registry.names()
    methods, notes = [], []
    for name in VIDEO_MODELS:
        if name in names:
            methods.append(name)
        else:
            notes.append(f"{name} is not installed, so it is not measured.")
    try:
        default = registry.default_name()
    except ValueError:
        notes.append("No default still-image model is installed, so it is not measured.")
    else:
        if registry.get(default).frames == 1:
            methods.append("default")
    return methods, notes


def evaluate(clips: list[dict], methods: list[str], registry, log=print) -> list[dict]:
    """One row per clip and method: PSNR (dB), SSIM and milliseconds per frame."""
    from deblur_core.restoration import restore_image
    from deblur_core.video import model_frames

    rows = []
    frames = {m: model_frames(m, registry) for m in methods}
    for m in methods:  # load and warm up each model before timing it
        restore_image(clips[0]["blurred"] if frames[m] == 3 else clips[0]["blurred"][..., 3:6], m, registry=registry)
    for i, c in enumerate(clips):
        middle = np.ascontiguousarray(c["blurred"][..., 3:6])
        base = {"set": c["set"], "image": c["image"], "clip": c["clip"]}
        rows.append(
            {**base, "method": BLURRED, "psnr": psnr(c["sharp"], middle), "ssim": ssim(c["sharp"], middle), "ms": 0.0}
        )
        for m in methods:
            start = time.perf_counter()
            out = restore_image(c["blurred"] if frames[m] == 3 else middle, m, registry=registry)
            ms = (time.perf_counter() - start) * 1000
            rows.append({**base, "method": m, "psnr": psnr(c["sharp"], out), "ssim": ssim(c["sharp"], out), "ms": ms})
        if log and (i + 1) % 10 == 0:
            log(f"{i + 1}/{len(clips)} clips", file=sys.stderr)
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Per method, in the order measured: mean PSNR and SSIM, gain over the blurred input, time."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    base = {(r["set"], r["image"], r["clip"]): r for r in rows if r["method"] == BLURRED}
    per = {m: [r for r in rows if r["method"] == m] for m in methods}
    three = {(r["set"], r["image"], r["clip"]): r["psnr"] for r in per.get("video-unet3", [])}
    out = []
    for m in methods:
        rs = per[m]
        gains = [r["psnr"] - base[(r["set"], r["image"], r["clip"])]["psnr"] for r in rs]
        entry = {
            "method": m,
            "clips": len(rs),
            "psnr": float(np.mean([r["psnr"] for r in rs])),
            "ssim": float(np.mean([r["ssim"] for r in rs])),
            "gain": float(np.mean(gains)),
            "ms": float(np.mean([r["ms"] for r in rs])),
            "set_psnr": {
                s: float(np.mean([r["psnr"] for r in rs if r["set"] == s]))
                for s in SETS
                if any(r["set"] == s for r in rs)
            },
        }
        if three and m not in ("video-unet3", BLURRED):
            # How often the 3-frame model beats this one on the same clip.
            entry["unet3_wins"] = sum(three[(r["set"], r["image"], r["clip"])] > r["psnr"] for r in rs)
        out.append(entry)
    return out


def markdown(summary: list[dict], notes: list[str], samples: int, size: int, seconds: float) -> str:
    """The report fragment for BENCHMARKS_VIDEO.md."""
    n = summary[0]["clips"] if summary else 0
    sets = [s for s in SETS if summary and s in summary[0]["set_psnr"]]
    lines = [
        "## Video: three frames against one",
        "",
        f"{n} held-out clips ({samples} per image of {' and '.join(sets)}, {size} x {size} pixels), made like the "
        "training clips: a crop moving over the image, each frame the average of 7 sub-frame positions, "
        "noise sigma 0-0.02, 8-bit. PSNR (dB) and SSIM of the middle frame against its sharp version; "
        "time per frame on this machine's CPU.",
        "",
        "| method | frames seen | PSNR (dB) | gain (dB) | SSIM | "
        + " | ".join(f"{s} PSNR (dB)" for s in sets)
        + " | ms / frame | video-unet3 better on |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(sets) + "---:|---:|",
    ]
    for e in summary:
        seen = {"video-unet3": "3", BLURRED: "–"}.get(e["method"], "1")
        wins = f"{e['unet3_wins']} of {e['clips']}" if "unet3_wins" in e else "–"
        ms = f"{e['ms']:.0f}" if e["method"] != BLURRED else "–"
        per_set = " | ".join(format_psnr(e["set_psnr"][s]).removesuffix(" dB") for s in sets)
        lines.append(
            f"| {e['method']} | {seen} | {format_psnr(e['psnr']).removesuffix(' dB')} | {e['gain']:+.2f} | "
            f"{format_ssim(e['ssim'])} | {per_set} | {ms} | {wins} |"
        )
    lines.append("")
    lines += [f"- {note}" for note in notes]
    lines.append(f"- Measured in {seconds / 60:.1f} minutes with `python -m deblur_core.bench.video`.")
    return "\n".join(lines) + "\n"


def write_csv(rows: list[dict], path: Path) -> None:
    import io

    from deblur_core.files import atomic_write_text

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["set", "image", "clip", "method", "psnr", "ssim", "ms"])
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "psnr": f"{r['psnr']:.4f}", "ssim": f"{r['ssim']:.5f}", "ms": f"{r['ms']:.2f}"})
    atomic_write_text(path, buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deblur_core.bench.video",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, default=data_dir(), help="the shared data folder (with val/)")
    parser.add_argument("--out", type=Path, help="write the markdown here, and a CSV of every clip beside it")
    parser.add_argument("--models", type=Path, help="a model folder to use instead of the installed models")
    parser.add_argument("--samples", type=int, default=4, help="clips per image (default 4)")
    parser.add_argument("--size", type=int, default=192, help="clip side in pixels (default 192)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the clips' paths and noise (default 0)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up lines are noise here
    if args.samples < 1 or args.size < 32:
        parser.error("--samples must be at least 1 and --size at least 32.")
    if not any((args.data / "val" / s).is_dir() for s in SETS):
        print(
            f"skipped: the video benchmark needs the evaluation images in {args.data / 'val'} (Set5, Set14); "
            "they are not there.",
            file=sys.stderr,
        )
        return 0
    from deblur_core.learned.registry import Registry

    registry = Registry(args.models, args.models) if args.models else None
    if registry is None:
        from deblur_core.learned.registry import default_registry

        registry = default_registry()
    methods, notes = available_methods(registry)
    if not any(m in VIDEO_MODELS for m in methods):
        print(f"skipped: neither {' nor '.join(VIDEO_MODELS)} is installed; nothing to compare.", file=sys.stderr)
        return 0
    start = time.perf_counter()
    clips = make_clips(args.data, args.samples, args.size, args.seed)
    if not clips:
        print(f"skipped: no PNG images in {args.data / 'val'}.", file=sys.stderr)
        return 0
    print(f"Measuring {', '.join(methods)} on {len(clips)} clips ...", file=sys.stderr, flush=True)
    rows = evaluate(clips, methods, registry)
    report = markdown(summarise(rows), notes, args.samples, args.size, time.perf_counter() - start)
    print(report, end="")
    if args.out:
        from deblur_core.files import atomic_write_text

        atomic_write_text(args.out, report)
        write_csv(rows, args.out.with_suffix(".csv"))
        print(f"Wrote {args.out} and {args.out.with_suffix('.csv')}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
