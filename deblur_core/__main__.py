"""``python -m deblur_core``: the command line (see :mod:`deblur_core.cli`)."""

from deblur_core.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
