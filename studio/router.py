"""Every page runs inside app.py's navigation, even when a visitor's first request is a page's own address.

Streamlit treats a ``pages/`` folder as an old-style multipage app until some session has run
``st.navigation``. On a freshly started server, a deep link such as ``/train`` as the very first
request would therefore run ``pages/train.py`` on its own, with Streamlit's automatic page list
instead of the app's navigation and sidebar. Each page calls :func:`require_app` first: when the page
was not started by ``app.py``, it runs ``app.py`` in its place (which switches the whole server to the
app's navigation and opens the requested page) and stops.
"""

from __future__ import annotations

import contextlib
import runpy
import threading
from collections.abc import Iterator
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"
_state = threading.local()  # each script run has its own thread


@contextlib.contextmanager
def routed() -> Iterator[None]:
    """app.py wraps ``page.run()`` in this, so pages know they were opened through the navigation."""
    previous = getattr(_state, "routed", False)
    _state.routed = True
    try:
        yield
    finally:
        _state.routed = previous


class PageEnd(Exception):
    """Raised by :func:`end_page`: the page has drawn all it has to show."""


def end_page() -> None:
    """End the page here, like ``st.stop()``, but let app.py draw the sidebar after it.

    ``st.stop()`` drops everything drawn after it in the run, the shared sidebar included. A page run on
    its own (a test of one page file) ends through ``st.stop()`` as before.
    """
    if inside_app():
        raise PageEnd
    import streamlit as st

    st.stop()


def inside_app() -> bool:
    return getattr(_state, "routed", False)


def _served_by_app() -> bool:
    """Whether this run belongs to a server started on app.py (not, say, a test that runs one page file)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    main = getattr(ctx, "main_script_path", None) if ctx is not None else None
    return bool(main) and Path(main).resolve() == APP


def require_app() -> None:
    """Run app.py instead of this page when the page was started directly (see the module's note).

    A page file run as its own app (``streamlit run pages/video.py``, or a test of one page) is left alone.
    """
    if inside_app() or not _served_by_app():
        return
    import streamlit as st

    runpy.run_path(str(APP), run_name="__main__")
    st.stop()
