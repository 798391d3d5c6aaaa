"""``python -m deblur_core models``: the learned models with their cards, and the other methods."""

from __future__ import annotations

import argparse
import json
import math
import sys

from deblur_core.cli.console import (
    EXIT_CODES_TEXT,
    EXIT_OK,
    Formatter,
    err,
)
from deblur_core.files import json_safe

CLASSICAL_SUMMARIES = {
    "wiener": "Wiener deconvolution: fast, one pass in the Fourier domain; the noise level is estimated.",
    "richardson-lucy": "Richardson-Lucy: iterative, keeps values positive; more iterations, more detail and noise.",
    "unsupervised-wiener": "Unsupervised Wiener-Hunt: estimates its own regularisation; slowest, no parameter.",
}


def _format_count(n: int | None) -> str:
    if n is None:
        return "? parameters"
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} M parameters"
    if n >= 1_000:
        return f"{n / 1e3:.1f} k parameters"
    return f"{n} parameters"


def _describe_input(spec: dict) -> str:
    """'1 frame, RGB, any size (sides padded to a multiple of 8), output 1x' and the like."""
    frames = int(spec.get("frames", 1))
    parts = [f"{frames} frame{'s' if frames != 1 else ''}" + (" (video only)" if frames > 1 else "")]
    parts.append("luminance (Y) channel" if spec.get("color") == "y" else "RGB")
    fixed = spec.get("fixed_size")
    if fixed:
        parts.append(f"fixed {fixed[0]}x{fixed[1]} input (larger images are tiled)")
    else:
        multiple = int(spec.get("multiple", 1))
        parts.append("any size" + (f" (padded to a multiple of {multiple})" if multiple > 1 else ""))
    scale = int(spec.get("scale", 1))
    parts.append(f"enlarges {scale}x with --upscale" if scale > 1 else "output the input's size")
    return ", ".join(parts)


def _model_record(entry, default_name: str | None) -> dict:
    card = entry.card
    training = card.get("training") or {}
    return {
        "name": entry.name,
        "default": entry.name == default_name,
        "recommended": bool(card.get("recommended")),
        "shipped": entry.shipped,
        "path": str(entry.path),
        "architecture": card.get("architecture"),
        "arch_args": card.get("arch_args", {}),
        "parameters": card.get("parameters"),
        "input": entry.input,
        "validation": card.get("validation", {}),
        "description": entry.description,
        "epochs_run": training.get("epochs_run"),
        "date": card.get("date"),
    }


def cmd_models(args: argparse.Namespace) -> int:
    from deblur_core.learned.registry import CLASSICAL_NAMES, Registry

    registry = Registry()
    entries = registry.list()
    problems = list(registry.problems)
    try:
        default_name = registry.default_name()
    except ValueError:
        default_name = None
    records = [_model_record(e, default_name) for e in entries]
    classical = [
        {"name": n, "needs_kernel": True, "description": CLASSICAL_SUMMARIES.get(n, "")} for n in CLASSICAL_NAMES
    ]
    if args.json:
        payload = {
            "models": records,
            "classical": classical,
            "default": default_name,
            "shipped_dir": str(registry.shipped_dir),
            "user_dir": str(registry.user_dir),
            "problems": problems,
        }
        sys.stdout.write(json.dumps(json_safe(payload), indent=2) + "\n")
        return EXIT_OK

    out = sys.stdout
    out.write(f"Learned models (shipped: {registry.shipped_dir}; yours: {registry.user_dir})\n")
    if not records:
        out.write("  none installed. Train one with `python -m deblur_core train --help`.\n")
    for r in records:
        marks = ["default" if r["default"] else "", "recommended" if r["recommended"] and not r["default"] else ""]
        marks.append("shipped" if r["shipped"] else "yours")
        out.write(f"\n  {r['name']}  [{', '.join(m for m in marks if m)}]\n")
        if r["description"]:
            out.write(f"      {r['description']}\n")
        arch_args = ", ".join(f"{k}={v}" for k, v in (r["arch_args"] or {}).items())
        out.write(
            f"      architecture: {r['architecture']}{f' ({arch_args})' if arch_args else ''}, "
            f"{_format_count(r['parameters'])}\n"
        )
        out.write(f"      input: {_describe_input(r['input'])}\n")
        val = r["validation"] or {}
        if "psnr" in val:
            line = f"      validation: PSNR {val['psnr']:.2f} dB"
            if val.get("ssim") is not None:
                line += f", SSIM {val['ssim']:.3f}"
            if isinstance(val.get("blurred_psnr"), (int, float)) and math.isfinite(val["blurred_psnr"]):
                line += f" (blurred input: {val['blurred_psnr']:.2f} dB)"
            out.write(line + "\n")
        else:
            out.write("      validation: not recorded\n")
    out.write("\nClassical methods (need --kernel SPEC):\n")
    width = max(len(n) for n in CLASSICAL_NAMES)
    for c in classical:
        out.write(f"  {c['name']:<{width}}  {c['description']}\n")
    for problem in problems:
        err(f"warning: a model was skipped: {problem}")
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction, prog: str) -> None:
    """The ``models`` command and its options."""
    p = commands.add_parser(
        "models",
        help="list the shipped and user models with their cards, and the classical methods",
        formatter_class=Formatter,
        description=(
            "List the learned models (shipped ones and those in your model folder, $DEBLUR_STUDIO_MODELS\n"
            "or ~/.deblur-studio/models) with what each takes and how well it did on validation, and the\n"
            "classical methods."
        ),
        epilog=f"examples:\n  {prog} models\n  {prog} models --json > models.json\n\n" + EXIT_CODES_TEXT,
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.set_defaults(handler=cmd_models)
