"""BENCHMARKS.md: the report of the published benchmark, rendered from its measurements."""

from __future__ import annotations

from pathlib import Path

from deblur_core.bench.stills import MOTION_ANGLES, RL_GRID, WIENER_GRID
from deblur_core.settings import PROJECT_ROOT


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


ESTIMATION_SECTION = PROJECT_ROOT / "benchmarks" / "estimation.md"


def write_report(path: Path, csv_path: Path, ctx: dict) -> None:
    """Render BENCHMARKS.md from the measurements in ``ctx``."""
    L = _protocol(csv_path, ctx) + _results(ctx) + _speed(ctx) + _other_sections(ctx)
    # The kernel-estimation section comes from its own run (python -m deblur_core.bench.estimation, about
    # 40 minutes), kept in benchmarks/estimation.md; the hand-written notes close the page.
    for extra in (ESTIMATION_SECTION, PROJECT_ROOT / "benchmarks" / "NOTES.md"):
        if extra.is_file():
            L += [extra.read_text("utf-8").strip(), ""]
    path.write_text("\n".join(L), "utf-8")


def _protocol(csv_path: Path, ctx: dict) -> list[str]:
    return [
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
        "(Gaussian window, sigma 1.5) on RGB in [0, 1] over the whole image. Wiener, Richardson-Lucy and the "
        "learned deconvolver are handed the true kernel (or, where a row says so, the perturbed one); the other "
        "learned models are blind (they never see the kernel). Unsupervised Wiener "
        "(about 15 s per megapixel here) runs on Set5 only.",
        "",
        f"**Classical settings, chosen on training images** ({len(ctx['tuned']['images'])} BSD100 crops of "
        f"{ctx['tuned']['crop']} px, all benchmark blurs, then fixed): Wiener NSR = {ctx['tuned']['wiener']['nsr']:.3g} "
        f"(best of {len(WIENER_GRID)} values from 1e-4 to 0.32), Richardson-Lucy {ctx['tuned']['richardson-lucy']['iterations']} "
        f"iterations (best of {len(RL_GRID)} values from {RL_GRID[0]} to {RL_GRID[-1]}).",
        "",
    ]


def _results(ctx: dict) -> list[str]:
    summary, methods, families = ctx["summary"], ctx["methods"], ["gaussian", "defocus", "motion", "levin", "all"]
    L = []
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
    L += ctx.get("deconvolver", [])
    return L


def _speed(ctx: dict) -> list[str]:
    summary, methods = ctx["summary"], ctx["methods"]
    L = [
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
    return L


def _other_sections(ctx: dict) -> list[str]:
    L = []
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
    return L


def targets(summary, default: str | None, no_harm_rows, speed_info) -> list[tuple[str, str, bool]]:
    """The default model's targets, checked against the measurements."""
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
