"""Model cards in words: what a model takes, read from the ``input`` record of its card."""

from __future__ import annotations

__all__ = ["describe_input", "purpose", "validation_gain"]

PURPOSE_LENGTH = 60
"""Longest purpose shown beside a model's name, in characters."""


def validation_gain(card: dict) -> float | None:
    """How many dB the model's validation PSNR is above its blurred input's, or None when the card lacks them.

    Examples
    --------
    >>> validation_gain({"validation": {"psnr": 21.91, "blurred_psnr": 23.75}})
    -1.84
    """
    validation = card.get("validation") or {}
    try:
        return round(float(validation["psnr"]) - float(validation["blurred_psnr"]), 2)
    except (KeyError, TypeError, ValueError):
        return None


def purpose(card: dict) -> str:
    """What the model is for, in a few words: its card's ``purpose``, or the start of its description.

    Examples
    --------
    >>> purpose({"description": "Blind deblurring of photos: Gaussian, defocus and motion blur. Fast."})
    'Blind deblurring of photos'
    >>> purpose({"description": "DBSRCNN: deblur and enlarge 3x (Gaussian blur), luminance channel."})
    'DBSRCNN: deblur and enlarge 3x'
    """
    text = str(card.get("purpose") or card.get("description") or "").strip()
    text = text.split(". ")[0].split(" (")[0].rstrip(". ")
    head, colon, _ = text.partition(": ")
    if colon and head.count(" ") >= 2:  # "Blind deblurring of photos: the list of blurs" keeps its head
        text = head
    if len(text) > PURPOSE_LENGTH:
        text = text[: PURPOSE_LENGTH - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text


def describe_input(spec: dict) -> str:
    """What a model takes, in one line: frames, colour, size constraint, scale.

    Examples
    --------
    >>> describe_input({"frames": 1, "color": "rgb", "multiple": 8, "scale": 1})
    'one photo; RGB colour; any size (padded to a multiple of 8 px); output the same size'
    """
    frames = int(spec.get("frames", 1))
    parts = ["one photo" if frames == 1 else f"{frames} consecutive video frames (not for still photos)"]
    if spec.get("kernel") == "needs":
        parts[0] += " and its blur kernel (takes a kernel: run it as the 'deconvolver' method)"
    parts.append("brightness (Y) channel only, colour kept" if spec.get("color") == "y" else "RGB colour")
    fixed = spec.get("fixed_size")
    if fixed:
        parts.append(f"fixed {fixed[0]} × {fixed[1]} px input (larger photos are tiled)")
    else:
        multiple = int(spec.get("multiple", 1))
        parts.append("any size" + (f" (padded to a multiple of {multiple} px)" if multiple > 1 else ""))
    scale = int(spec.get("scale", 1))
    parts.append(f"can also enlarge {scale}×" if scale > 1 else "output the same size")
    return "; ".join(parts)
