"""Deblur Studio: the entry point. Page settings, navigation over pages/, and the shared sidebar.

Run with ``make run`` (``python -m studio.serve``, which preloads the libraries) or ``streamlit run app.py``.
Pages that are not installed are simply left out of the navigation, so a page file added to pages/ and
listed below appears without other changes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st
from PIL import Image

from studio import images, router, services, sidebar

HERE = Path(__file__).resolve().parent
PAGES = HERE / "pages"

# (file in pages/, title, icon, url path); Deblur is the home page.
PAGE_LIST = [
    ("deblur.py", "Deblur", ":material/auto_fix_high:", "deblur"),
    ("compare.py", "Compare methods", ":material/compare:", "compare"),
    ("benchmark.py", "Benchmark", ":material/leaderboard:", "benchmark"),
    ("video.py", "Video", ":material/movie:", "video"),
    ("train.py", "Train a model", ":material/model_training:", "train"),
    ("models.py", "Models", ":material/inventory_2:", "models"),
    ("about.py", "About", ":material/info:", "about"),
    ("classroom.py", "Classroom", ":material/school:", "classroom"),
]
# Pages listed here appear under their own heading in the navigation; the others come first, without one.
SECTIONS = {"classroom.py": "Learn"}

services.keep_keras_state_between_reruns()
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

# The icon is an image drawn in code: a Material icon here would make the browser fetch the favicon from Google.
st.set_page_config(page_title="Deblur Studio", page_icon=Image.fromarray(images.app_icon()), layout="wide")

pages = [
    st.Page(PAGES / file, title=title, icon=icon, url_path=url, default=(file == "deblur.py"))
    for file, title, icon, url in PAGE_LIST
    if (PAGES / file).is_file() and file not in SECTIONS
]
# Any other page file appears too, before About, titled after its name.
known = {file for file, *_ in PAGE_LIST}
extra = [
    st.Page(path, title=path.stem.replace("_", " ").capitalize(), url_path=path.stem)
    for path in sorted(PAGES.glob("*.py"))
    if path.name not in known and not path.name.startswith("_")
]
pages[-1:-1] = extra
sections: dict[str, list] = {"": pages}  # "" : no heading
for file, title, icon, url in PAGE_LIST:
    if file in SECTIONS and (PAGES / file).is_file():
        sections.setdefault(SECTIONS[file], []).append(st.Page(PAGES / file, title=title, icon=icon, url_path=url))
page = st.navigation(sections)
# The sidebar's place is kept at its top, but it is filled after the page: a first visitor sees the page sooner.
sidebar_slot = st.sidebar.container()
try:
    with router.routed():
        page.run()
except router.PageEnd:  # the page ended early on purpose (router.end_page)
    pass
except Exception:  # a last resort: pages report their own problems as sentences
    logging.getLogger("deblur_studio").exception("Unexpected error on the page %s", page.title)
    st.error(
        "Something went wrong on this page. The details are in the server log; "
        "please reload the page or try another picture or method."
    )
finally:  # also after st.stop(); a rerun redraws everything anyway
    sidebar.show(sidebar_slot)
