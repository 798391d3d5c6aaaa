"""A before/after slider: two pictures on top of each other and a handle that reveals one or the other.

A self-contained HTML document with inline CSS and JavaScript and the pictures as base64 PNG data
URIs: no file, no CDN, nothing fetched, so it works offline. The handle is a real range input, so it
also works with the keyboard and with touch. This module never imports streamlit.
"""

from __future__ import annotations

import html

import numpy as np

from studio.images import data_uri

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  html, body {{ margin: 0; padding: 0; background: transparent;
    font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }}
  .ba {{ position: relative; width: 100%; max-width: {width}px; margin: 0 auto; line-height: 0;
    user-select: none; -webkit-user-select: none; touch-action: pan-y; }}
  .ba img {{ display: block; width: 100%; height: auto; image-rendering: auto; }}
  .ba .top {{ position: absolute; inset: 0; clip-path: inset(0 calc(100% - var(--pos)) 0 0); }}
  .ba .line {{ position: absolute; top: 0; bottom: 0; left: var(--pos); width: 2px; margin-left: -1px;
    background: #ffffff; box-shadow: 0 0 0 1px rgba(15, 23, 42, .55); pointer-events: none; }}
  .ba .knob {{ position: absolute; top: 50%; left: var(--pos); width: 34px; height: 34px; margin: -17px 0 0 -17px;
    border-radius: 50%; background: #2563eb; border: 2px solid #fff; box-shadow: 0 1px 4px rgba(0,0,0,.4);
    pointer-events: none; }}
  .ba .knob::before, .ba .knob::after {{ content: ""; position: absolute; top: 11px; border: 6px solid transparent; }}
  .ba .knob::before {{ left: 2px; border-right-color: #fff; }}
  .ba .knob::after {{ right: 2px; border-left-color: #fff; }}
  .ba .tag {{ position: absolute; top: 8px; padding: 3px 8px; border-radius: 4px; font-size: 13px; line-height: 1.3;
    color: #fff; background: rgba(15, 23, 42, .72); pointer-events: none; }}
  .ba .tag.l {{ left: 8px; }} .ba .tag.r {{ right: 8px; }}
  .ba input[type=range] {{ position: absolute; inset: 0; width: 100%; height: 100%; margin: 0; opacity: 0;
    cursor: ew-resize; }}
  .ba input[type=range]:focus-visible ~ .knob {{ outline: 3px solid #f59e0b; outline-offset: 2px; }}
</style></head>
<body>
<div class="ba" style="--pos: 50%">
  <img src="{after}" alt="{after_label}">
  <img class="top" src="{before}" alt="{before_label}">
  <div class="line"></div>
  <input type="range" min="0" max="1000" value="500" step="1"
         aria-label="Drag to compare {before_label} (left) with {after_label} (right)">
  <div class="knob"></div>
  <span class="tag l">{before_label}</span><span class="tag r">{after_label}</span>
</div>
<script>
  (function () {{
    var box = document.querySelector(".ba");
    var range = box.querySelector("input");
    function show() {{ box.style.setProperty("--pos", (range.value / 10) + "%"); }}
    range.addEventListener("input", show);
    show();
  }})();
</script>
</body></html>
"""


def before_after_html(before: np.ndarray, after: np.ndarray, before_label: str, after_label: str) -> str:
    """The slider as one HTML document; ``before`` and ``after`` are uint8 RGB of the same size.

    The before picture is shown left of the handle, the after picture right of it.
    """
    if before.shape != after.shape:
        raise ValueError(f"The two pictures must have the same size; got {before.shape} and {after.shape}.")
    return _TEMPLATE.format(
        width=int(before.shape[1]),
        before=data_uri(before),
        after=data_uri(after),
        before_label=html.escape(before_label),
        after_label=html.escape(after_label),
    )
