"""The published benchmark: still images, video, and the BENCHMARKS.md report.

``python -m deblur_core.bench`` runs all of it (:mod:`deblur_core.bench.publish`);
``python -m deblur_core.bench.video`` runs the video comparison alone.
"""
