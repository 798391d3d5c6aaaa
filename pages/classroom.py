"""Classroom: eight short steps on one picture that show how blur works and why undoing it is hard."""

from __future__ import annotations

import streamlit as st

from studio import classroom_view as view
from studio import router, services
from studio.classroom_steps import STEP_VIEWS

router.require_app()

view.keep_state()
view.style(bool(st.session_state[view.P + "projector"]))
step, picture_slot = view.navigation()
key, sharp = view.picture_choice(picture_slot)
lesson = view.lesson(key, sharp)
with services.friendly_errors(f"showing step {step + 1}"):
    STEP_VIEWS[step](lesson)
