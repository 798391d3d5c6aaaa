"""The command line, ``python -m deblur_core``: one module per command, plus the console helpers."""

from deblur_core.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
