"""The Video page's words: its progress line and its summary of a finished run. This module never imports streamlit."""

from __future__ import annotations


def progress_line(frames: int, has_truth: bool, done: int, elapsed_s: float) -> str:
    """What the video job is doing now, as the step it is in and the frame within that step.

    The job counts ``frames`` restorations, then (with ground truth) two passes of ``frames`` measurements,
    then two encodings; the bar shows the share of all of it, so the line names the step instead of a
    percentage that would disagree with the frame count.

    Examples
    --------
    >>> progress_line(42, True, 19, 12.4)
    'Step 1 of 3: restoring frame 20 of 42… (12 s)'
    >>> progress_line(42, True, 42 + 50, 30.0)
    'Step 2 of 3: measuring PSNR and SSIM, frame 9 of 42… (30 s)'
    """
    steps = 3 if has_truth else 2
    if done < frames:
        step, text = 1, f"restoring frame {done + 1} of {frames}"
    elif has_truth and done < 3 * frames:
        step, text = 2, f"measuring PSNR and SSIM, frame {(done - frames) % frames + 1} of {frames}"
    else:
        step, text = steps, "encoding the videos"
    return f"Step {step} of {steps}: {text}… ({elapsed_s:.0f} s)"


def summary(frames: int, source: str, method_label: str, frames_per_step: int, seconds: float) -> str:
    """The sentence that announces a finished video, saying once how many frames the method looks at.

    Examples
    --------
    >>> summary(42, "clip.mp4", "video-unet3 (uses the previous and next frames)", 3, 12.34)
    'Restored 42 frames of clip.mp4 with video-unet3 (uses the previous and next frames) in 12.3 s.'
    >>> summary(42, "clip.mp4", "Wiener deconvolution", 1, 2.0)
    'Restored 42 frames of clip.mp4 with Wiener deconvolution, one frame at a time, in 2.0 s.'
    """
    told = "frame" in method_label  # the label already says how it uses the frames
    stack = "with the previous and next frames" if frames_per_step == 3 else "one frame at a time"
    how = "" if told else f", {stack},"
    return f"Restored {frames} frames of {source} with {method_label}{how} in {seconds:.1f} s."
