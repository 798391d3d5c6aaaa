"""The sidebar every page shares: the app's name, the current model, and that everything stays offline."""

from __future__ import annotations

import streamlit as st

from studio import services


def model_note() -> str:
    """One line on the default model, or on the fallback when none is installed."""
    registry = services.get_registry()
    try:
        entry = registry.get("default")
    except ValueError:
        return "No trained model is installed: Wiener deconvolution is the default."
    card = entry.card
    trained = card.get("validation") or card.get("metrics") or {}
    psnr = trained.get("psnr") if isinstance(trained, dict) else None
    detail = f", validation PSNR {psnr:.2f} dB" if isinstance(psnr, (int, float)) else ""
    return f"Default model: **{entry.name}** ({entry.architecture}{detail})."


def show(where=None) -> None:
    """Draw the sidebar's text into ``where`` (a container kept in the sidebar) or at the sidebar's end."""
    with where if where is not None else st.sidebar:
        st.markdown(f"### {services.APP_NAME}")
        st.caption("Make blurry photos sharp and measure how much each method helps.")
        try:
            st.markdown(model_note())
        except Exception:  # noqa: BLE001 - a broken model folder must not break every page
            services.log.exception("Could not read the model registry")
            st.markdown("The model folder could not be read; the classical methods still work.")
        queue = services.get_queue()
        busy = queue.running + queue.waiting
        st.caption(
            f"Server: {queue.slots} worker(s), {busy} job(s) running or waiting."
            if busy
            else f"Server: {queue.slots} worker(s), idle."
        )
        st.caption(
            ":material/wifi_off: Works offline: uploads stay in this server's memory and are never written to disk."
        )
