"""``python -m deblur_core.bench`` (``make bench``): the published benchmark (see :mod:`deblur_core.bench.publish`)."""

from deblur_core.bench.publish import main

if __name__ == "__main__":
    raise SystemExit(main())
