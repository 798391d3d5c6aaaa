"""The published benchmark: ``python -m deblur_core.bench`` (``make bench``).

Evaluates every shipped still-image model against the blurred input and against classical
deconvolution handed the true kernel, on Set5, Set14, the Levin et al. 2009 images and kernels and
the two real GoPro pairs, and writes ``BENCHMARKS.md`` plus a CSV of every measurement. Nothing is
trained here. The classical methods' settings (Wiener's noise-to-signal ratio, the Richardson-Lucy
iteration count) are each the best value of a fixed grid measured on *training* images, then
used unchanged for every test image.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from deblur_core.degrade import bicubic_down_up, blur, degrade
from deblur_core.io import read_rgb, save_image
from deblur_core.kernels import defocus_kernel, gaussian_kernel, motion_kernel, normalize_kernel
from deblur_core.metrics import psnr, psnr_y, ssim
from deblur_core.settings import PROJECT_ROOT, data_dir

NOISE = 0.01
WIENER_GRID = [float(v) for v in np.logspace(-4, -0.5, 15)]
RL_GRID = [3, 5, 8, 10, 15, 20, 30, 40, 60, 80, 120, 200]
MOTION_ANGLES = (0, 45, 100)


def degradations(data: Path) -> list[tuple[str, str, np.ndarray]]:
    """(family, label, kernel) for every benchmark blur; Levin kernels re-centred."""
    out = [("gaussian", f"gaussian sigma={s}", gaussian_kernel(s)) for s in (1, 2, 3)]
    out += [("defocus", f"defocus radius={r}", defocus_kernel(r)) for r in (3, 5)]
    out += [("motion", f"motion {n}px {a}deg", motion_kernel(n, a)) for n in (11, 21) for a in MOTION_ANGLES]
    for path in sorted((data / "levin09" / "kernels").glob("kernel_*.npy")):
        out.append(("levin", f"levin {path.stem.replace('kernel_', 'k')}", normalize_kernel(np.load(path))))
    return out


def _images(folder: Path) -> list[tuple[str, np.ndarray]]:
    return [(p.stem, read_rgb(p)) for p in sorted(folder.glob("*.png"))]


def make_blurred(sharp: np.ndarray, kernel: np.ndarray, key: tuple[str, ...]) -> np.ndarray:
    """Blur (reflect boundaries), add noise sigma 0.01 and round to 8 bits; seeded by the case."""
    rng = np.random.default_rng(_stable_seed(key))
    return degrade(sharp, kernel, NOISE, rng, round8=True)


def _stable_seed(key: tuple[str, ...]) -> int:
    """A seed that depends only on the case's name (Python's hash() changes between runs)."""
    return zlib.crc32("|".join(key).encode())


# -- classical settings chosen on training images -------------------------------------------------


def tune_classical(data: Path, degs, n_images: int = 6, crop: int = 144, log=print) -> dict:
    """Pick Wiener's NSR and the RL iteration count that maximise mean PSNR on training crops."""
    from deblur_core.classical import richardson_lucy, wiener

    paths = sorted((data / "train" / "BSD100").glob("*.png"))[:: max(1, 100 // n_images)][:n_images]
    crops = []
    for p in paths:
        img = read_rgb(p)
        h, w = img.shape[:2]
        y, x = (h - crop) // 2, (w - crop) // 2
        crops.append((p.stem, img[y : y + crop, x : x + crop]))
    cases = [
        (name, fam, lab, k, s, make_blurred(s, k, ("tune", name, lab))) for name, s in crops for fam, lab, k in degs
    ]
    result = {"images": [c[0] for c in crops], "crop": crop}
    scores = []
    for nsr in WIENER_GRID:
        scores.append(float(np.mean([psnr(s, wiener(b, k, nsr=nsr)) for _, _, _, k, s, b in cases])))
    best = int(np.argmax(scores))
    result["wiener"] = {"nsr": WIENER_GRID[best], "grid": WIENER_GRID, "mean_psnr": scores}
    log(f"  Wiener NSR {WIENER_GRID[best]:.3g} (mean {scores[best]:.2f} dB on training crops)")
    scores = []
    for iters in RL_GRID:
        scores.append(float(np.mean([psnr(s, richardson_lucy(b, k, iterations=iters)) for _, _, _, k, s, b in cases])))
    best = int(np.argmax(scores))
    result["richardson-lucy"] = {"iterations": RL_GRID[best], "grid": RL_GRID, "mean_psnr": scores}
    log(f"  Richardson-Lucy {RL_GRID[best]} iterations (mean {scores[best]:.2f} dB on training crops)")
    return result


# -- methods ---------------------------------------------------------------------------------------


def still_models(registry) -> list:
    """Shipped still-image models (video models, and those trained on clips, are benchmarked separately)."""
    return [e for e in registry.list() if e.shipped and e.suits_photos()]


def video_section(data: Path, registry, csv_path: Path, log=print) -> str:
    """The 3-frame against 1-frame comparison of :mod:`deblur_core.video_bench`, as a report section."""
    from deblur_core import video_bench

    methods, notes = video_bench.available_methods(registry)
    if not any(m in video_bench.VIDEO_MODELS for m in methods):
        return ""
    started = time.perf_counter()
    clips = video_bench.make_clips(data)
    if not clips:
        return ""
    log(f"Video: {', '.join(methods)} on {len(clips)} held-out clips ...")
    rows = video_bench.evaluate(clips, methods, registry, log=None)
    video_bench.write_csv(rows, csv_path)
    md = video_bench.markdown(video_bench.summarise(rows), notes, 4, 192, time.perf_counter() - started)
    return md + f"- Every clip is in `{csv_path.name}` beside the main CSV.\n"


def learning_curve(entry, every: int = 5) -> list[str]:
    """A compact table of a model's validation PSNR over its training run, from its card."""
    history = entry.card.get("training", {}).get("history") or []
    if not history:
        return []
    picked = [r for r in history if r["epoch"] % every == 0 or r is history[0] or r is history[-1]]
    lines = [
        f"### Learning curve of {entry.name} (held-out training images; one epoch = "
        f"{entry.card['training'].get('steps_per_epoch', '?')} steps of {entry.card['training'].get('batch_size', '?')} "
        f"crops of {entry.card['training'].get('patch_size', '?')} px)",
        "",
        "| epoch | learning rate | training loss | validation PSNR (dB) | validation SSIM | blurred PSNR (dB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in picked:
        lines.append(
            f"| {r['epoch']} | {r.get('lr', float('nan')):.2e} | {r.get('loss', float('nan')):.4f} | "
            f"{r.get('val_psnr', float('nan')):.2f} | {r.get('val_ssim', float('nan')):.3f} | "
            f"{r.get('val_blurred_psnr', float('nan')):.2f} |"
        )
    return lines + [""]


def method_table(registry, tuned: dict, unsupervised: bool = True) -> dict:
    """name -> callable(blurred, kernel) for every benchmarked method."""
    from deblur_core.inference import restore

    methods = {
        "blurred input": lambda b, k: b,
        "wiener (true kernel)": lambda b, k: restore(b, "wiener", kernel=k, nsr=tuned["wiener"]["nsr"]),
        "richardson-lucy (true kernel)": lambda b, k: restore(
            b, "richardson-lucy", kernel=k, iterations=tuned["richardson-lucy"]["iterations"]
        ),
    }
    if unsupervised:
        methods["unsupervised-wiener (true kernel)"] = lambda b, k: restore(b, "unsupervised-wiener", kernel=k)
    for entry in still_models(registry):
        methods[entry.name] = (lambda name: lambda b, k: restore(b, name, registry=registry))(entry.name)
    return methods


def evaluate(sets: dict, degs, methods: dict, only_on: dict | None = None, log=print) -> list[dict]:
    """Every (set, image, degradation, method): PSNR, SSIM, seconds, megapixels.

    ``only_on`` limits slow methods to some sets: ``{method: {set names}}``.
    """
    only_on = only_on or {}
    rows = []
    for set_name, images in sets.items():
        for img_name, sharp in images:
            for family, label, kernel in degs:
                blurred = make_blurred(sharp, kernel, (set_name, img_name, label))
                for method, fn in methods.items():
                    if method in only_on and set_name not in only_on[method]:
                        continue
                    t0 = time.perf_counter()
                    out = fn(blurred, kernel)
                    seconds = time.perf_counter() - t0
                    rows.append(
                        {
                            "set": set_name,
                            "image": img_name,
                            "family": family,
                            "degradation": label,
                            "method": method,
                            "psnr": round(psnr(sharp, out), 4),
                            "ssim": round(ssim(sharp, out), 5),
                            "seconds": round(seconds, 4),
                            "megapixels": sharp.shape[0] * sharp.shape[1] / 1e6,
                        }
                    )
            log(f"  {set_name}/{img_name} done")
    return rows


def no_harm(images, models, registry) -> list[dict]:
    """PSNR of each model's output against its own sharp, unblurred (8-bit) input."""
    from deblur_core.inference import restore

    rows = []
    for entry in models:
        values = [psnr(img, restore(img, entry.name, registry=registry)) for _, img in images]
        rows.append({"method": entry.name, "mean_psnr": float(np.mean(values)), "min_psnr": float(np.min(values))})
    return rows


def real_pairs(data: Path, models, registry) -> list[dict]:
    """The real GoPro blur/sharp pairs: the blurred photo and each model (no kernel is known)."""
    from deblur_core.inference import restore

    rows = []
    folder = data / "real" / "GoPro"
    for blur_path in sorted(folder.glob("*_blur*.png")):
        sharp_path = folder / blur_path.name.replace("_blur", "_sharp")
        if not sharp_path.is_file():
            continue
        blurred, sharp = read_rgb(blur_path), read_rgb(sharp_path)
        rows.append(
            {
                "image": blur_path.stem,
                "method": "blurred input",
                "psnr": psnr(sharp, blurred),
                "ssim": ssim(sharp, blurred),
            }
        )
        for entry in models:
            out = restore(blurred, entry.name, registry=registry)
            rows.append(
                {"image": blur_path.stem, "method": entry.name, "psnr": psnr(sharp, out), "ssim": ssim(sharp, out)}
            )
    return rows


def dbsrcnn_table(sets: dict, registry, scale: int = 3) -> list[dict]:
    """Gaussian sigma 1-4, bicubic x3 down and up; Y-channel PSNR with a 3-pixel shaved border."""
    from deblur_core.inference import restore

    entries = [e for e in still_models(registry) if e.architecture == "dbsrcnn"]
    rows = []
    for entry in entries:
        for set_name, images in sets.items():
            for sigma in (1, 2, 3, 4):
                bic, model = [], []
                for _, img in images:
                    h, w = (img.shape[0] // scale) * scale, (img.shape[1] // scale) * scale
                    sharp = img[:h, :w]
                    low = bicubic_down_up(blur(sharp, gaussian_kernel(sigma)), scale)
                    bic.append(psnr_y(sharp, low, shave=scale))
                    model.append(psnr_y(sharp, restore(low, entry.name, registry=registry), shave=scale))
                rows.append(
                    {
                        "model": entry.name,
                        "set": set_name,
                        "sigma": sigma,
                        "bicubic": float(np.mean(bic)),
                        "dbsrcnn": float(np.mean(model)),
                    }
                )
    return rows


_PEAK_WRAPPER = (
    "import resource, sys\n"
    "from deblur_core.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(f'PEAK_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_cli_measured(args: list[str]) -> tuple[float, float, int, str]:
    """Run ``python -m deblur_core ARGS`` in a fresh process: (wall seconds, its own peak memory in MB, code, stderr).

    The child reports its own peak resident memory, so each measurement stands alone (the peak of
    *all* children, which is what the parent could read, would only ever grow).
    """
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_WRAPPER, *args], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    wall = time.perf_counter() - t0
    peaks = [line for line in proc.stderr.splitlines() if line.startswith("PEAK_KB=")]
    peak_mb = int(peaks[-1].removeprefix("PEAK_KB=")) / 1024 if peaks else float("nan")
    return wall, peak_mb, proc.returncode, proc.stderr


def memory(models, log=print) -> dict:
    """Peak memory (MB) of one command-line run per method on a 1-megapixel photo, start-up included."""
    from skimage import data as skdata
    from skimage.transform import resize

    base = skdata.astronaut().astype(np.float32) / 255.0
    photo = resize(base, (1000, 1000), order=3, anti_aliasing=False).clip(0, 1).astype(np.float32)
    photo = degrade(photo, motion_kernel(15, 30), 0.01, np.random.default_rng(1), round8=True)
    kernel = ["--kernel", "motion:length=15,angle=30"]
    runs = {
        "wiener (true kernel)": ["--method", "wiener", *kernel],
        "richardson-lucy (true kernel)": ["--method", "richardson-lucy", *kernel],
        "unsupervised-wiener (true kernel)": ["--method", "unsupervised-wiener", *kernel],
    }
    runs.update({e.name: ["--method", e.name] for e in models})
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "photo1mp.png"
        save_image(photo, src)
        for name, extra in runs.items():
            _, peak_mb, code, err = run_cli_measured(["deblur", str(src), "--out", str(Path(tmp) / "out"), *extra])
            if code == 0:
                out[name] = peak_mb
                log(f"  {name}: peak {peak_mb:.0f} MB")
            else:
                log(f"  {name}: failed ({err.strip().splitlines()[-1:] or ['no message']})")
    return out


def speed(registry, models, log=print) -> dict:
    """Seconds per megapixel (median of 5 after warm-up) and a 12-MP photo through the command line."""
    from deblur_core.inference import restore

    rng = np.random.default_rng(0)
    from skimage import data as skdata
    from skimage.transform import resize

    base = skdata.astronaut().astype(np.float32) / 255.0
    one_mp = resize(base, (1000, 1000), order=3, anti_aliasing=False).clip(0, 1).astype(np.float32)
    out = {"per_megapixel": {}, "peak_mb": memory(models, log)}
    for entry in models:
        restore(one_mp, entry.name, registry=registry)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            restore(one_mp, entry.name, registry=registry)
            times.append(time.perf_counter() - t0)
        out["per_megapixel"][entry.name] = statistics.median(times)
        log(f"  {entry.name}: {statistics.median(times):.3f} s per megapixel")
    try:
        default = registry.default_name()
    except ValueError:
        return out
    big = resize(base, (3000, 4000), order=1, anti_aliasing=False).clip(0, 1).astype(np.float32)
    big = degrade(big, motion_kernel(15, 30), 0.01, rng, round8=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "photo12mp.png"
        save_image(big, src)
        wall, peak_mb, code, err = run_cli_measured(
            ["deblur", str(src), "--out", str(Path(tmp) / "out"), "--method", default]
        )
        out["cli_12mp"] = {"seconds": wall, "peak_mb": peak_mb, "returncode": code, "stderr_tail": err[-300:]}
        # Time the model alone on the same photo, inside this process (no start-up, no PNG I/O).
        t0 = time.perf_counter()
        restore(big, default, registry=registry)
        out["model_12mp_seconds"] = time.perf_counter() - t0
    log(
        f"  12-MP photo through the command line: {out['cli_12mp']['seconds']:.1f} s, peak {out['cli_12mp']['peak_mb']:.0f} MB"
    )
    return out


# -- report ----------------------------------------------------------------------------------------


def _mean(rows, key):
    return float(np.mean([r[key] for r in rows])) if rows else float("nan")


def summarise(rows: list[dict]) -> dict:
    """Mean PSNR/SSIM per (set, family, method) and per (set, method) over all families."""
    groups = defaultdict(list)
    all_sets = {r["set"] for r in rows}
    method_sets = defaultdict(set)
    for r in rows:
        method_sets[r["method"]].add(r["set"])
    for r in rows:
        groups[(r["set"], r["family"], r["method"])].append(r)
        groups[(r["set"], "all", r["method"])].append(r)
        if method_sets[r["method"]] == all_sets:  # pooled only for methods run on every set
            groups[("all sets", r["family"], r["method"])].append(r)
            groups[("all sets", "all", r["method"])].append(r)
    return {
        k: {
            "psnr": _mean(v, "psnr"),
            "ssim": _mean(v, "ssim"),
            "n": len(v),
            "s_per_mp": sum(r["seconds"] for r in v) / sum(r["megapixels"] for r in v),
        }
        for k, v in groups.items()
    }


def _table(summary, set_name, methods, families) -> list[str]:
    head = "| method | " + " | ".join(families) + " |"
    lines = [head, "|" + "---|" * (len(families) + 1)]
    for m in methods:
        cells = []
        for f in families:
            s = summary.get((set_name, f, m))
            cells.append("–" if s is None else f"{s['psnr']:.2f} / {s['ssim']:.3f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def write_report(path: Path, csv_path: Path, ctx: dict) -> None:
    """Render BENCHMARKS.md from the measurements in ``ctx``."""
    summary, methods, families = ctx["summary"], ctx["methods"], ["gaussian", "defocus", "motion", "levin", "all"]
    L = [
        "# Benchmarks",
        "",
        f"Measured {ctx['date']} on {ctx['machine']} with `make bench` (`python -m deblur_core.bench`), "
        f"{ctx['minutes']:.1f} minutes. Every number below comes from `{csv_path.as_posix()}`; nothing is trained "
        "or tuned on these images.",
        "",
        "**Protocol.** Each sharp image is blurred with the kernel (reflect boundaries), then Gaussian noise of "
        "sigma 0.01 is added and the result is rounded to 8 bits. Blurs: Gaussian sigma 1, 2, 3; defocus radius 3, 5; "
        f"linear motion 11 and 21 px at {', '.join(str(a) for a in MOTION_ANGLES)} degrees; the 8 real camera-shake "
        "kernels of Levin et al. 2009 (re-centred so their centre of mass is the centre pixel). Sets: Set5, Set14 "
        "and the 4 Levin images (greyscale, repeated to RGB), every image with every blur. PSNR in dB and SSIM "
        "(Gaussian window, sigma 1.5) on RGB in [0, 1] over the whole image. Wiener and Richardson-Lucy are handed "
        "the true kernel; the learned models are blind (they never see the kernel). Unsupervised Wiener "
        "(about 15 s per megapixel here) runs on Set5 only.",
        "",
        f"**Classical settings, chosen on training images** ({len(ctx['tuned']['images'])} BSD100 crops of "
        f"{ctx['tuned']['crop']} px, all benchmark blurs, then fixed): Wiener NSR = {ctx['tuned']['wiener']['nsr']:.3g} "
        f"(best of {len(WIENER_GRID)} values from 1e-4 to 0.32), Richardson-Lucy {ctx['tuned']['richardson-lucy']['iterations']} "
        f"iterations (best of {len(RL_GRID)} values from {RL_GRID[0]} to {RL_GRID[-1]}).",
        "",
    ]
    for set_name in ("Set14", "Set5", "Levin", "all sets"):
        if (set_name, "all", "blurred input") not in summary:
            continue
        L += [f"## {set_name}: mean PSNR (dB) / SSIM per blur family", ""]
        L += _table(summary, set_name, methods, families) + [""]
    tgt = ctx.get("targets")
    if tgt:
        L += ["## Targets for the default model", "", "| target | measured | met |", "|---|---|---|"]
        for name, measured, ok in tgt:
            L.append(f"| {name} | {measured} | {'yes' if ok else '**no**'} |")
        L.append("")
    L += [
        "## Speed, size and memory",
        "",
        "| method | seconds per megapixel (benchmark images) | peak memory, 1-MP photo via the CLI (MB) | parameters |",
        "|---|---|---|---|",
    ]
    sp = ctx.get("speed", {})
    peaks = sp.get("peak_mb", {})
    for m in methods:
        s = summary.get(("all sets", "all", m)) or summary.get(("Set5", "all", m))
        peak = f"{peaks[m]:.0f}" if m in peaks else "–"
        L.append(f"| {m} | {s['s_per_mp']:.3f} | {peak} | {ctx['params'].get(m, '–')} |")
    L += ["", "Models on a 1-megapixel photo, median of 5 runs after a warm-up, 2 CPU cores:", ""]
    for m, v in sp.get("per_megapixel", {}).items():
        L.append(f"- {m}: {v:.3f} s per megapixel")
    if "cli_12mp" in sp:
        c = sp["cli_12mp"]
        L += [
            "",
            f"A 12-megapixel (4000x3000) photo through `python -m deblur_core deblur --method default`: "
            f"{c['seconds']:.1f} s wall time including start-up and PNG I/O, peak memory {c['peak_mb']:.0f} MB "
            f"(exit code {c['returncode']}); the model alone on that photo: {sp['model_12mp_seconds']:.1f} s.",
        ]
    L.append("")
    if ctx.get("no_harm"):
        L += [
            "## No harm on sharp images",
            "",
            "Set14 without blur or noise (8-bit); PSNR of the output against the input.",
            "",
            "| model | mean PSNR (dB) | lowest (dB) |",
            "|---|---|---|",
        ]
        L += [f"| {r['method']} | {r['mean_psnr']:.2f} | {r['min_psnr']:.2f} |" for r in ctx["no_harm"]] + [""]
    if ctx.get("real"):
        L += [
            "## Real camera-motion blur (GoPro pairs, no kernel known)",
            "",
            "| image | method | PSNR (dB) | SSIM |",
            "|---|---|---|---|",
        ]
        L += [f"| {r['image']} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.3f} |" for r in ctx["real"]] + [""]
    if ctx.get("dbsrcnn"):
        L += [
            "## DBSRCNN: deblurring and 3x super-resolution",
            "",
            "Gaussian blur, bicubic down and up by 3 (no noise), Y-channel PSNR (BT.601) with a 3-pixel border shaved.",
            "",
            "| set | sigma | bicubic (dB) | DBSRCNN (dB) | gain |",
            "|---|---|---|---|---|",
        ]
        L += [
            f"| {r['set']} | {r['sigma']} | {r['bicubic']:.2f} | {r['dbsrcnn']:.2f} | {r['dbsrcnn'] - r['bicubic']:+.2f} |"
            for r in ctx["dbsrcnn"]
        ] + [""]
    if ctx.get("training"):
        L += [
            "## Training runs (from the model cards)",
            "",
            "| model | parameters | minutes | epochs | best epoch | loss | validation PSNR / SSIM (held-out training images) |",
            "|---|---|---|---|---|---|---|",
        ]
        L += ctx["training"] + [""]
    for lines in ctx.get("curves", []):
        L += lines
    if ctx.get("video"):
        L += [ctx["video"].strip(), ""]
    notes = PROJECT_ROOT / "benchmarks" / "NOTES.md"
    if notes.is_file():
        L += [notes.read_text("utf-8").strip(), ""]
    path.write_text("\n".join(L), "utf-8")


def targets(summary, default: str | None, no_harm_rows, speed_info) -> list[tuple[str, str, bool]]:
    """The issue's targets, checked against the measurements."""
    if not default or ("Set14", "all", default) not in summary:
        return []
    s = summary[("Set14", "all", default)]
    b = summary[("Set14", "all", "blurred input")]
    w = summary[("Set14", "all", "wiener (true kernel)")]
    out = [
        (
            "Set14, all blurs: >= +3.5 dB over the blurred input",
            f"{s['psnr'] - b['psnr']:+.2f} dB",
            s["psnr"] - b["psnr"] >= 3.5,
        ),
        (
            "Set14, all blurs: >= +1.0 dB over Wiener with the true kernel",
            f"{s['psnr'] - w['psnr']:+.2f} dB",
            s["psnr"] - w["psnr"] >= 1.0,
        ),
    ]
    nh = next((r for r in no_harm_rows if r["method"] == default), None)
    if nh:
        out.append(
            (
                "No harm: output vs unblurred input >= 35 dB",
                f"mean {nh['mean_psnr']:.2f} dB, lowest {nh['min_psnr']:.2f} dB",
                nh["min_psnr"] >= 35,
            )
        )
    per_mp = speed_info.get("per_megapixel", {}).get(default)
    if per_mp is not None:
        out.append(("Speed: <= 0.5 s per megapixel", f"{per_mp:.3f} s", per_mp <= 0.5))
    cli = speed_info.get("cli_12mp")
    if cli:
        out.append(
            (
                "12-MP photo via the CLI: <= 8 s and <= 2 GB",
                f"{cli['seconds']:.1f} s, {cli['peak_mb']:.0f} MB",
                cli["seconds"] <= 8 and cli["peak_mb"] <= 2048 and cli["returncode"] == 0,
            )
        )
    return out


def training_rows(models) -> list[str]:
    rows = []
    for e in models:
        t, v = e.card.get("training", {}), e.card.get("validation", {})
        rows.append(
            f"| {e.name} | {e.card.get('parameters', '–')} | {t.get('minutes_run', float('nan')):.0f} | "
            f"{t.get('epochs_run', '–')} | {t.get('best_epoch', '–')} | {t.get('loss', '–')} | "
            f"{v.get('psnr', '–')} / {v.get('ssim', '–')} (blurred {v.get('blurred_psnr', '–')}) |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deblur_core.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=data_dir(), help="the shared data folder")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "BENCHMARKS.md")
    parser.add_argument("--csv", type=Path, default=PROJECT_ROOT / "benchmarks" / "results.csv")
    parser.add_argument("--quick", action="store_true", help="Set5 only, fewer blurs (a smoke run; not for publishing)")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed and 12-MP measurements")
    args = parser.parse_args(argv)
    if not (args.data / "val").is_dir():
        print(
            f"The benchmark needs the evaluation images in {args.data} (val/, levin09/, real/, train/); "
            "they are not there, so nothing was measured.",
            file=sys.stderr,
        )
        return 2
    from deblur_core.inference import default_registry

    started = time.perf_counter()
    registry = default_registry()
    degs = degradations(args.data)
    sets = {"Set5": _images(args.data / "val" / "Set5")}
    if not args.quick:
        sets["Set14"] = _images(args.data / "val" / "Set14")
        sets["Levin"] = [(n, img) for n, img in _images(args.data / "levin09" / "sharp")]
    else:
        degs = degs[::3]
    print("Choosing the classical settings on training images ...", flush=True)
    tuned = tune_classical(args.data, degs)
    methods = method_table(registry, tuned)
    print(f"Evaluating {len(methods)} methods ...", flush=True)
    # Unsupervised Wiener takes ~15 s per megapixel here, so it runs on Set5 only.
    rows = evaluate(sets, degs, methods, only_on={"unsupervised-wiener (true kernel)": {"Set5"}})
    models = still_models(registry)
    summary = summarise(rows)
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    try:
        default = registry.default_name()
    except ValueError:
        default = None
    clean = [(n, img) for n, img in sets.get("Set14", sets["Set5"])]
    print("No-harm check, real pairs, DBSRCNN ...", flush=True)
    harm = no_harm(clean, models, registry)
    real = real_pairs(args.data, models, registry)
    sr_sets = {k: v for k, v in sets.items() if k in ("Set5", "Set14")}
    sr = dbsrcnn_table(sr_sets, registry)
    video = video_section(args.data, registry, args.csv.parent / "video.csv")
    speed_info = {} if args.no_speed else speed(registry, models)
    params = {e.name: e.card.get("parameters", "–") for e in models}
    ctx = {
        "summary": summary,
        "methods": list(methods),
        "tuned": tuned,
        "params": params,
        "speed": speed_info,
        "no_harm": harm,
        "real": real,
        "dbsrcnn": sr,
        "training": training_rows(models),
        "curves": [c for c in (learning_curve(e) for e in models if e.name == default) if c],
        "video": video,
        "targets": targets(summary, default, harm, speed_info),
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()} Linux, {os.cpu_count()} CPU cores",
        "minutes": (time.perf_counter() - started) / 60,
    }
    write_report(
        args.out, args.csv.relative_to(PROJECT_ROOT) if args.csv.is_relative_to(PROJECT_ROOT) else args.csv, ctx
    )
    (args.csv.parent / "summary.json").write_text(
        json.dumps(
            {"|".join(k): v for k, v in summary.items()} | {"tuned": tuned, "speed": speed_info, "no_harm": harm},
            indent=1,
            default=str,
        )
    )
    print(f"Wrote {args.out} and {args.csv} in {(time.perf_counter() - started) / 60:.1f} minutes.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
