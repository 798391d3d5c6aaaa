"""The published benchmark: still images, video, and the BENCHMARKS.md report.

``python -m deblur_core.bench`` runs all of it (:mod:`deblur_core.bench.publish`);
``python -m deblur_core.bench.video`` runs the video comparison alone, and
``python -m deblur_core.bench.estimation`` measures blind kernel estimation (:mod:`deblur_core.bench.estimation`).
"""
