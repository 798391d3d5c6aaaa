"""The published benchmark: ``python -m deblur_core.bench`` (``make bench``).

Evaluates every shipped still-image model against the blurred input and against classical
deconvolution handed the true kernel, on Set5, Set14, the Levin et al. 2009 images and kernels and
the two real GoPro pairs (:mod:`deblur_core.bench.stills`), compares the video models
(:mod:`deblur_core.bench.video`), and writes ``BENCHMARKS.md`` (:mod:`deblur_core.bench.report`) plus a
CSV of every measurement. Nothing is trained here. The classical methods' settings (Wiener's
noise-to-signal ratio, the Richardson-Lucy iteration count) are each the best value of a fixed grid
measured on *training* images, then used unchanged for every test image.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

from deblur_core.bench import deconvolver
from deblur_core.bench import video as video_bench
from deblur_core.bench.report import learning_curve, targets, training_rows, write_report
from deblur_core.bench.stills import (
    _images,
    dbsrcnn_table,
    degradations,
    evaluate,
    method_table,
    no_harm,
    real_pairs,
    slow_methods,
    speed,
    still_models,
    summarise,
    tune_classical,
)
from deblur_core.settings import PROJECT_ROOT, data_dir


def video_section(data: Path, registry, csv_path: Path, log=print) -> str:
    """The 3-frame against 1-frame comparison of :mod:`deblur_core.bench.video`, as a report section."""
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deblur_core.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=data_dir(), help="the shared data folder")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "BENCHMARKS.md")
    parser.add_argument("--csv", type=Path, default=PROJECT_ROOT / "benchmarks" / "results.csv")
    parser.add_argument("--quick", action="store_true", help="Set5 only, fewer blurs (a smoke run; not for publishing)")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed and 12-MP measurements")
    return parser


def _write_csv(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _sets(data: Path, quick: bool) -> dict:
    sets = {"Set5": _images(data / "val" / "Set5")}
    if not quick:
        sets["Set14"] = _images(data / "val" / "Set14")
        sets["Levin"] = [(n, img) for n, img in _images(data / "levin09" / "sharp")]
    return sets


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not (args.data / "val").is_dir():
        print(
            f"The benchmark needs the evaluation images in {args.data} (val/, levin09/, real/, train/); "
            "they are not there, so nothing was measured.",
            file=sys.stderr,
        )
        return 2
    from deblur_core.learned.registry import default_registry

    started = time.perf_counter()
    registry = default_registry()
    degs = degradations(args.data)
    sets = _sets(args.data, args.quick)
    if args.quick:
        degs = degs[::3]
    print("Choosing the classical settings on training images ...", flush=True)
    tuned = tune_classical(args.data, degs)
    methods = method_table(registry, tuned) | deconvolver.extra_methods(registry, tuned)
    print(f"Evaluating {len(methods)} methods ...", flush=True)
    # Slow methods (unsupervised Wiener takes ~15 s per megapixel here) run on Set5 only.
    rows = evaluate(sets, degs, methods, only_on=dict.fromkeys(slow_methods(registry), {"Set5"}))
    models = still_models(registry)
    summary = summarise(rows)
    _write_csv(rows, args.csv)
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
    deconvolver_lines = deconvolver.measure(registry, summary, list(methods), clean, not args.no_speed)
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
        "deconvolver": deconvolver_lines,
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
