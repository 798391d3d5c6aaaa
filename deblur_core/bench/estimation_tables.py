"""The tables of the estimation benchmark (:mod:`deblur_core.bench.estimation`): its rows summarised per set and
blur family, Levin et al.'s error ratio per case, the GoPro pairs, the estimates' times, as markdown."""

from __future__ import annotations

import math
import os
import statistics

import numpy as np

from deblur_core.metrics import ALIGN_BORDER, ALIGN_SHIFT, ALIGN_STEP

FAMILIES = ("gaussian", "defocus", "motion", "levin")
WORSE_BY = 0.5
"""A case counts as made worse when its result is more than this many dB below its blurred input."""
RATIO_THRESHOLDS = (2.0, 3.0)
PROG = "python -m deblur_core.bench.estimation"


def ratio_shares(ratios: list[float], thresholds: tuple[float, ...] = RATIO_THRESHOLDS) -> dict[float, float]:
    """The share (0 to 1) of ``ratios`` at or below each threshold; NaN for each when there are none."""
    values = [r for r in ratios if not math.isnan(r)]
    if not values:
        return dict.fromkeys(thresholds, math.nan)
    return {t: sum(r <= t for r in values) / len(values) for t in thresholds}


def _mean(rows: list[dict], key: str) -> float:
    values = [float(r[key]) for r in rows if r[key] != ""]
    return float(np.mean(values)) if values else math.nan


def _is_true(value) -> bool:
    return value is True or str(value).lower() == "true"


def summarise(rows: list[dict]) -> list[dict]:
    """Per set, each family in the benchmark's order then ``all``: the means, the worse count, the fallbacks.

    ``worse`` counts the cases whose estimated-kernel result is more than :data:`WORSE_BY` dB below
    their blurred input; ``diff`` is the estimated-kernel mean minus the true-kernel mean (dB).
    """
    out = []
    for set_name in dict.fromkeys(r["set"] for r in rows):
        in_set = [r for r in rows if r["set"] == set_name]
        families = [f for f in (*FAMILIES, "real") if any(r["family"] == f for r in in_set)]
        groups = [(f, [r for r in in_set if r["family"] == f]) for f in families]
        if len(families) > 1:
            groups.append(("all", in_set))
        for family, group in groups:
            entry = {
                "set": set_name,
                "family": family,
                "n": len(group),
                "blurred": _mean(group, "blurred_psnr"),
                "deconv_true": _mean(group, "deconv_true_psnr"),
                "deconv_est": _mean(group, "deconv_est_psnr"),
                "wiener_true": _mean(group, "wiener_true_psnr"),
                "wiener_est": _mean(group, "wiener_est_psnr"),
                "blind": _mean(group, "blind_psnr"),
                "deconv_true_ssim": _mean(group, "deconv_true_ssim"),
                "deconv_est_ssim": _mean(group, "deconv_est_ssim"),
                "worse": sum(float(r["deconv_est_psnr"]) < float(r["blurred_psnr"]) - WORSE_BY for r in group),
                "fallbacks": sum(_is_true(r["fallback"]) for r in group),
            }
            entry["diff"] = entry["deconv_est"] - entry["deconv_true"]
            out.append(entry)
    return out


def _db(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


def _signed(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:+.2f}"


def _ssim(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.3f}"


def _share(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.0f} %"


def _command(sets: list[str], out: str = "benchmarks/estimation.md") -> str:
    return f"`{PROG} --sets {','.join(sets)} --out {out}`"


def synthetic_table(summary: list[dict], sets: list[str]) -> list[str]:
    """Table 1: per set and family, the blurred input, both kernels with both deconvolutions, the blind model."""
    rows = [e for e in summary if e["set"] != "GoPro"]
    if not rows:
        return []
    keys = [s for s in sets if s != "gopro"]
    lines = [
        "### Estimated against true kernel, per set and blur family",
        "",
        "Mean PSNR (dB): the blurred input, the learned deconvolver handed the true and the estimated kernel "
        "(and their difference; with the true kernel it is the table's `deconvolver (true kernel)` above), Wiener "
        "with each (its automatic noise-to-signal ratio, as `wiener (true kernel, auto nsr)`), the blind default model; "
        f"*worse*: cases whose estimated-kernel result is more than {WORSE_BY} dB below their blurred input; "
        f"*fallbacks*: estimates that found no blur (the photo is returned as it is). Reproduce: {_command(keys)}.",
        "",
        "| set | family | cases | blurred | deconvolver, true kernel | deconvolver, estimated | difference | "
        "SSIM true / estimated | Wiener, true | Wiener, estimated | blind model | worse | fallbacks |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in rows:
        family = f"**{e['family']}**" if e["family"] == "all" else e["family"]
        lines.append(
            f"| {e['set']} | {family} | {e['n']} | {_db(e['blurred'])} | {_db(e['deconv_true'])} | "
            f"{_db(e['deconv_est'])} | {_signed(e['diff'])} | {_ssim(e['deconv_true_ssim'])} / "
            f"{_ssim(e['deconv_est_ssim'])} | {_db(e['wiener_true'])} | {_db(e['wiener_est'])} | {_db(e['blind'])} | "
            f"{e['worse']} | {e['fallbacks']} |"
        )
    return [*lines, ""]


def levin_table(rows: list[dict]) -> list[str]:
    """Table 2: Levin et al.'s error ratio on each Levin case, plain and up to a shift, and the shares at or below 2
    and 3 of each."""
    levin = [r for r in rows if r["set"] == "Levin" and r["error_ratio"] != ""]
    if not levin:
        return []
    kernels = list(dict.fromkeys(r["degradation"] for r in levin))
    images = list(dict.fromkeys(r["image"] for r in levin))
    plain = {(r["image"], r["degradation"]): float(r["error_ratio"]) for r in levin}
    aligned = {
        (r["image"], r["degradation"]): float(r["error_ratio_aligned"])
        for r in levin
        if r.get("error_ratio_aligned", "") != ""
    }
    lines = [
        "### Levin et al.'s error ratio",
        "",
        "Per Levin case: the sum of squared differences from the sharp image of the deconvolver's result with "
        "the estimated kernel, divided by that with the true kernel (1 = as good as the true kernel; a fallback "
        "counts the blurred photo); first over the whole image as it is, then as Levin et al. measure it: each "
        f"result at its best shift of up to {ALIGN_SHIFT} px in steps of {ALIGN_STEP:g} px, without a border of "
        f"{ALIGN_BORDER} px (a kernel is found only up to a shift). Levin et al. 2009 call an estimate good at a "
        f"ratio of 2 or 3 at most. Reproduce: {_command(['levin'])}.",
        "",
        "| image | " + " | ".join(k.removeprefix("levin ") for k in kernels) + " |",
        "|---|" + "---:|" * len(kernels),
    ]
    for img in images:
        cells = [_ratio_cell(plain.get((img, k)), aligned.get((img, k))) for k in kernels]
        lines.append(f"| {img} | " + " | ".join(cells) + " |")
    lines.append("")
    for label, ratio in (("As it is", plain), ("Up to a shift", aligned)):
        if not ratio:
            continue
        values = list(ratio.values())
        shares = ratio_shares(values)
        lines += [
            f"{label}: ratio at most 2 on {sum(v <= 2 for v in values)} of {len(values)} cases ({_share(shares[2.0])}), "
            f"at most 3 on {sum(v <= 3 for v in values)} ({_share(shares[3.0])}); median {statistics.median(values):.2f}.",
            "",
        ]
    return lines


def _ratio_cell(plain: float | None, aligned: float | None) -> str:
    """``plain / aligned`` (or the one there is, "–" for none)."""
    if plain is None:
        return "–"
    return f"{plain:.2f}" if aligned is None else f"{plain:.2f} / {aligned:.2f}"


def gopro_table(rows: list[dict], blind: str | None) -> list[str]:
    """Table 3: the real GoPro pairs, no kernel known."""
    real = [r for r in rows if r["set"] == "GoPro"]
    if not real:
        return []
    lines = [
        "### Real camera-motion blur (GoPro pairs)",
        "",
        "PSNR (dB) / SSIM against the sharp frame: the blurred frame, the deconvolver with the kernel estimated "
        f"from the frame, and the blind end-to-end model ({blind or 'not installed'}). Reproduce: {_command(['gopro'])}.",
        "",
        "| image | size | blurred | estimated kernel + deconvolver | blind model | estimate |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in real:
        found = (
            "no blur found (fallback)"
            if _is_true(r["fallback"])
            else f"{r['source']}, {r['kernel_size']} px, confidence {float(r['confidence']):.2f}"
        )
        blind_cell = "–" if r["blind_psnr"] == "" else f"{float(r['blind_psnr']):.2f} / {float(r['blind_ssim']):.3f}"
        lines.append(
            f"| {r['image']} | {r['width']} x {r['height']} | {float(r['blurred_psnr']):.2f} / "
            f"{float(r['blurred_ssim']):.3f} | {float(r['deconv_est_psnr']):.2f} / {float(r['deconv_est_ssim']):.3f} | "
            f"{blind_cell} | {found} |"
        )
    return [*lines, ""]


def timing_table(rows: list[dict], sets: list[str]) -> list[str]:
    """Table 4: seconds per estimate (median and max) and the photo sizes, per set."""
    if not rows:
        return []
    lines = [
        "### Seconds per estimate",
        "",
        "Wall time of one `estimate_kernel` call with its defaults (largest kernel 31 px, a crop of up to "
        f"384 px), per set, on {os.cpu_count()} CPU cores. Reproduce: {_command(sets)}.",
        "",
        "| set | photo sizes (w x h) | estimates | median (s) | max (s) |",
        "|---|---|---:|---:|---:|",
    ]
    for set_name in dict.fromkeys(r["set"] for r in rows):
        group = [r for r in rows if r["set"] == set_name]
        seconds = [float(r["estimate_seconds"]) for r in group]
        sizes = sorted({(int(r["width"]), int(r["height"])) for r in group}, key=lambda s: s[0] * s[1])
        size_text = f"{sizes[0][0]} x {sizes[0][1]}"
        if len(sizes) > 1:
            size_text += f" to {sizes[-1][0]} x {sizes[-1][1]}"
        lines.append(
            f"| {set_name} | {size_text} | {len(group)} | {statistics.median(seconds):.1f} | {max(seconds):.1f} |"
        )
    every = [float(r["estimate_seconds"]) for r in rows]
    lines += ["", f"All {len(every)} estimates: median {statistics.median(every):.1f} s, max {max(every):.1f} s.", ""]
    return lines


def markdown(rows: list[dict], sets: list[str], blind: str | None, seconds: float, limit: int | None = None) -> str:
    """The section "Blind kernel estimation", ready to append to ``BENCHMARKS.md``."""
    lines = [
        "## Blind kernel estimation",
        "",
        "`estimate_kernel` with its defaults, once per case, judged by the learned deconvolver it feeds (the "
        "method `estimated-deconvolver`): the same cases as the tables above (reflect-boundary blur, noise "
        "sigma 0.01, 8-bit, the same seeds; Levin kernels re-centred), each estimate against the true kernel.",
        "",
    ]
    if limit is not None:
        lines += [f"**Smoke run: at most {limit} case(s) per set; not for publishing.**", ""]
    summary = summarise(rows)
    lines += synthetic_table(summary, sets)
    lines += levin_table(rows)
    lines += gopro_table(rows, blind)
    lines += timing_table(rows, sets)
    lines.append(f"Measured in {seconds / 60:.1f} minutes with {_command(sets)}; every case is in the CSV beside it.")
    return "\n".join(lines) + "\n"
