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
from deblur_core.restoration.catalogue import describe_model

__all__ = ["add_parser", "cmd_models"]


def _format_count(n: int | None) -> str:
    if n is None:
        return "? parameters"
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} M parameters"
    if n >= 1_000:
        return f"{n / 1e3:.1f} k parameters"
    return f"{n} parameters"


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
        "takes": describe_model(entry),
        "validation": card.get("validation", {}),
        "description": entry.description,
        "epochs_run": training.get("epochs_run"),
        "date": card.get("date"),
    }


def _method_record(method) -> dict:
    return {
        "name": method.name,
        "title": method.title,
        "summary": method.summary,
        "description": method.text,
        "kernel": method.kernel,
        "needs_kernel": method.needs_kernel,
        "takes": list(method.takes),
        "family": method.family,
        "model": method.model,
        "options": [
            {"name": o.name, "help": o.help, "default": o.default, "low": o.low, "high": o.high} for o in method.options
        ],
    }


def cmd_models(args: argparse.Namespace) -> int:
    from deblur_core.learned.registry import Registry
    from deblur_core.restoration import methods

    registry = Registry()
    entries = registry.list()
    problems = list(registry.problems)
    try:
        default_name = registry.default_name()
    except ValueError:
        default_name = None
    records = [_model_record(e, default_name) for e in entries]
    catalogue = [_method_record(m) for m in methods()]
    if args.json:
        payload = {
            "models": records,
            "methods": catalogue,
            "classical": [m for m in catalogue if m["family"] == "classical"],
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
        out.write(f"      takes: {r['takes']}\n")
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
    out.write("\nOther methods (--method NAME; those that need the kernel take --kernel SPEC):\n")
    width = max((len(m["name"]) for m in catalogue), default=0)
    for m in catalogue:
        note = " [needs --kernel]" if m["kernel"] == "needs" else ""
        out.write(f"  {m['name']:<{width}}  {m['summary']}{note}\n")
    for problem in problems:
        err(f"warning: a model was skipped: {problem}")
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction, prog: str) -> None:
    """The ``models`` command and its options."""
    p = commands.add_parser(
        "models",
        help="list the shipped and user models with their cards, and the other methods",
        formatter_class=Formatter,
        description=(
            "List the learned models (shipped ones and those in your model folder, $DEBLUR_STUDIO_MODELS\n"
            "or ~/.deblur-studio/models) with what each takes and how well it did on validation, and the\n"
            "methods of the catalogue (the classical deconvolutions and any other)."
        ),
        epilog=f"examples:\n  {prog} models\n  {prog} models --json > models.json\n\n" + EXIT_CODES_TEXT,
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.set_defaults(handler=cmd_models)
