"""The still-image measurements of the published benchmark (``python -m deblur_core.bench``).

Evaluates every shipped still-image model against the blurred input and against classical
deconvolution handed the true kernel, on Set5, Set14, the Levin et al. 2009 images and kernels and
the two real GoPro pairs, and measures speed and memory. Nothing is
trained here. The classical methods' settings (Wiener's noise-to-signal ratio, the Richardson-Lucy
iteration count) are each the best value of a fixed grid measured on *training* images, then
used unchanged for every test image.
"""

from __future__ import annotations

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
from deblur_core.settings import PROJECT_ROOT

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

    def best_of(grid: list, restore_with) -> tuple[int, list[float]]:
        """The grid value with the best mean PSNR over the cases, and every mean."""
        scores = [float(np.mean([psnr(s, restore_with(b, k, v)) for _, _, _, k, s, b in cases])) for v in grid]
        return int(np.argmax(scores)), scores

    best, scores = best_of(WIENER_GRID, lambda b, k, nsr: wiener(b, k, nsr=nsr))
    result["wiener"] = {"nsr": WIENER_GRID[best], "grid": WIENER_GRID, "mean_psnr": scores}
    log(f"  Wiener NSR {WIENER_GRID[best]:.3g} (mean {scores[best]:.2f} dB on training crops)")
    best, scores = best_of(RL_GRID, lambda b, k, iters: richardson_lucy(b, k, iterations=iters))
    result["richardson-lucy"] = {"iterations": RL_GRID[best], "grid": RL_GRID, "mean_psnr": scores}
    log(f"  Richardson-Lucy {RL_GRID[best]} iterations (mean {scores[best]:.2f} dB on training crops)")
    return result


# -- methods ---------------------------------------------------------------------------------------


def still_models(registry) -> list:
    """Shipped still-image models (video models, and those trained on clips, are benchmarked separately)."""
    return [e for e in registry.list() if e.shipped and e.suits_photos()]


def catalogue_methods(registry) -> list:
    """The catalogue's methods for photos whose model (if any) is installed, in catalogue order.

    A classical deconvolution handed the estimated kernel (``estimated-wiener``, ...) is left out: the
    kernel-estimation section measures Wiener with each estimate beside the learned deconvolver, on the
    same cases, without estimating every kernel once more per method.
    """
    from deblur_core.restoration import methods

    names = registry.names()
    return [
        m
        for m in methods(takes="photo")
        if m.available(names) and not (m.kernel == "estimates" and m.family == "classical")
    ]


def method_label(method) -> str:
    """How the report names a catalogue method: a method handed the kernel says so."""
    return f"{method.name} (true kernel)" if method.needs_kernel else method.name


def method_table(registry, tuned: dict, slow: bool = True) -> dict:
    """name -> callable(blurred, kernel) for every benchmarked method.

    Every method of the catalogue is measured (a method that needs the kernel is handed the true
    one, with the settings ``tuned`` chose for its options), then every shipped still-image model.
    """
    from deblur_core.restoration import restore_image

    methods = {"blurred input": lambda b, k: b}
    for method in catalogue_methods(registry):
        if method.slow and not slow:
            continue
        settings = tuned.get(method.name, {})
        options = {o.name: settings[o.name] for o in method.options if o.name in settings}
        methods[method_label(method)] = _runner(method.name, method.needs_kernel, options, registry)
    for entry in still_models(registry):
        methods[entry.name] = (lambda name: lambda b, k: restore_image(b, name, registry=registry))(entry.name)
    return methods


def _runner(name: str, given_kernel: bool, options: dict, registry):
    """callable(blurred, kernel) running the catalogue method ``name``."""
    from deblur_core.restoration import restore_image

    return lambda b, k: restore_image(b, name, kernel=k if given_kernel else None, registry=registry, **options)


def slow_methods(registry) -> list[str]:
    """The labels of the catalogue's slow methods (measured on Set5 only)."""
    return [method_label(m) for m in catalogue_methods(registry) if m.slow]


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
    from deblur_core.restoration import restore_image

    rows = []
    for entry in models:
        values = [psnr(img, restore_image(img, entry.name, registry=registry)) for _, img in images]
        rows.append({"method": entry.name, "mean_psnr": float(np.mean(values)), "min_psnr": float(np.min(values))})
    return rows


def real_pairs(data: Path, models, registry) -> list[dict]:
    """The real GoPro blur/sharp pairs: the blurred photo and each model (no kernel is known)."""
    from deblur_core.restoration import restore_image

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
            out = restore_image(blurred, entry.name, registry=registry)
            rows.append(
                {"image": blur_path.stem, "method": entry.name, "psnr": psnr(sharp, out), "ssim": ssim(sharp, out)}
            )
    return rows


def dbsrcnn_table(sets: dict, registry, scale: int = 3) -> list[dict]:
    """Gaussian sigma 1-4, bicubic x3 down and up; Y-channel PSNR with a 3-pixel shaved border."""
    from deblur_core.restoration import restore_image

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
                    model.append(psnr_y(sharp, restore_image(low, entry.name, registry=registry), shave=scale))
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


# The child's own peak: VmHWM (the high-water mark of its memory since it started this program) where
# Linux has it. ru_maxrss would not do: it carries over the peak of the process that started the child,
# so every run would report at least the benchmark's own size.
_PEAK_WRAPPER = (
    "import resource, sys\n"
    "from deblur_core.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "try:\n"
    "    with open('/proc/self/status') as fh:\n"
    "        peak = next(int(line.split()[1]) for line in fh if line.startswith('VmHWM:'))\n"
    "except (OSError, StopIteration, ValueError):\n"
    "    pass\n"
    "print(f'PEAK_KB={peak}', file=sys.stderr)\n"
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


def astronaut_photo(height: int, width: int, order: int = 3) -> np.ndarray:
    """scikit-image's astronaut resized to ``height`` x ``width``: the benchmark's speed and memory photo."""
    from skimage import data as skdata
    from skimage.transform import resize

    base = skdata.astronaut().astype(np.float32) / 255.0
    return resize(base, (height, width), order=order, anti_aliasing=False).clip(0, 1).astype(np.float32)


def memory(models, log=print, registry=None) -> dict:
    """Peak memory (MB) of one command-line run per method on a 1-megapixel photo, start-up included."""
    photo = degrade(astronaut_photo(1000, 1000), motion_kernel(15, 30), 0.01, np.random.default_rng(1), round8=True)
    kernel = ["--kernel", "motion:length=15,angle=30"]
    from deblur_core.learned.registry import default_registry

    runs = {
        method_label(m): ["--method", m.name, *(kernel if m.needs_kernel else [])]
        for m in catalogue_methods(registry or default_registry())
    }
    runs.update({e.name: ["--method", e.name] for e in models})
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "photo1mp.png"
        save_image(photo, src)
        for name, extra in runs.items():
            _, peak_mb, code, err = run_cli_measured(
                ["deblur", str(src), "--out", str(Path(tmp) / "out"), "--overwrite", *extra]
            )
            if code == 0:
                out[name] = peak_mb
                log(f"  {name}: peak {peak_mb:.0f} MB")
            else:
                log(f"  {name}: failed ({err.strip().splitlines()[-1:] or ['no message']})")
    return out


def speed(registry, models, log=print) -> dict:
    """Seconds per megapixel (median of 5 after warm-up) and a 12-MP photo through the command line."""
    from deblur_core.restoration import restore_image

    rng = np.random.default_rng(0)
    one_mp = astronaut_photo(1000, 1000)
    out = {"per_megapixel": {}, "peak_mb": memory(models, log, registry)}
    for entry in models:
        restore_image(one_mp, entry.name, registry=registry)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            restore_image(one_mp, entry.name, registry=registry)
            times.append(time.perf_counter() - t0)
        out["per_megapixel"][entry.name] = statistics.median(times)
        log(f"  {entry.name}: {statistics.median(times):.3f} s per megapixel")
    try:
        default = registry.default_name()
    except ValueError:
        return out
    big = degrade(astronaut_photo(3000, 4000, order=1), motion_kernel(15, 30), 0.01, rng, round8=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "photo12mp.png"
        save_image(big, src)
        wall, peak_mb, code, err = run_cli_measured(
            ["deblur", str(src), "--out", str(Path(tmp) / "out"), "--method", default]
        )
        out["cli_12mp"] = {"seconds": wall, "peak_mb": peak_mb, "returncode": code, "stderr_tail": err[-300:]}
        # Time the model alone on the same photo, inside this process (no start-up, no PNG I/O).
        t0 = time.perf_counter()
        restore_image(big, default, registry=registry)
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
