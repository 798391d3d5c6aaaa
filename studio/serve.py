"""Start the Deblur Studio server with its libraries already imported: ``python -m studio.serve [streamlit options]``.

``streamlit run app.py`` imports nothing of the app until the first visitor connects; that visitor then
waits for Pillow, SciPy, OpenCV, Plotly and the studio's own modules to load (about 0.6 s on two
cores) before the first page is drawn. This launcher imports them first and then starts the same
server (``streamlit run app.py`` with the options given), so the first visitor's page is drawn as
soon as the browser has the app's frontend. TensorFlow is left out: it takes seconds and only the
model loader needs it, in the background, after the page is drawn.

``make run`` and the Docker image start the server this way.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"

# What the first page draw imports, heaviest first; the pages' own files are run, not imported.
PRELOAD = (
    "numpy",
    "PIL.Image",
    "scipy.ndimage",
    "scipy.fft",
    "cv2",
    "plotly.graph_objects",
    "deblur_core.kernels",
    "deblur_core.io",
    "deblur_core.restoration",
    "studio.images",
    "studio.services",
    "studio.sidebar",
    "studio.widgets",
    "studio.tasks",
    "studio.example",
    "studio.kernel_panel",
    "studio.samples",
    "studio.archives",
    "studio.router",
)

log = logging.getLogger("deblur_studio.serve")


def preload(modules: tuple[str, ...] = PRELOAD) -> float:
    """Import ``modules``; return the seconds it took. A module that fails to import is logged and skipped
    (the page that needs it reports the problem to its visitor as usual)."""
    start = time.perf_counter()
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a broken optional library must not stop the server
            log.warning("Could not preload %s; it will be imported when a page needs it", name, exc_info=True)
    return time.perf_counter() - start


def map_modules_to_files() -> float:
    """Let :mod:`inspect` map every loaded module to its file now; return the seconds it took.

    Streamlit's first element in a process walks the call stack with ``inspect.stack()`` (to tell a REPL
    from a script), and ``inspect`` maps each loaded module to its real path the first time it looks a file
    up: about 0.2 s with the libraries above loaded, spent while the first visitor waits for the page. Done
    here, before the server listens, the first visit maps only the modules imported since.
    """
    start = time.perf_counter()
    inspect.stack()
    return time.perf_counter() - start


def app_path() -> Path:
    """The ``app.py`` in the current folder when there is one (as ``streamlit run app.py`` would take), else
    the one beside this package."""
    here = Path.cwd() / "app.py"
    return here if here.is_file() else APP


def main(argv: list[str] | None = None) -> None:
    """Preload, then hand over to ``streamlit run app.py`` with ``argv`` as its further options."""
    args = sys.argv[1:] if argv is None else argv
    app = app_path()
    root = str(app.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    seconds = preload() + map_modules_to_files()
    print(f"Deblur Studio: libraries loaded in {seconds:.1f} s; starting the server.", flush=True)
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(app), *args]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
