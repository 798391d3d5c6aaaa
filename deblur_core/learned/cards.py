"""Model cards in words: what a model takes, read from the ``input`` record of its card."""

from __future__ import annotations

__all__ = ["describe_input"]


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
