"""Training: the run's settings, its data, the fit loop, the trainer's progress file, jobs and zip uploads.

The modules import Keras, so this package imports nothing by itself: use
:mod:`deblur_core.training.config`, :mod:`~deblur_core.training.data`, :mod:`~deblur_core.training.fit`,
:mod:`~deblur_core.training.progress_file`, :mod:`~deblur_core.training.jobs` and
:mod:`~deblur_core.training.uploads` directly.
"""
