"""Keep a deep link on a fresh server inside the talk's navigation.

Streamlit 1.67 treats an app with a `pages/` folder as a legacy (v1) multipage app until the main
script has called `st.navigation` once. If the very first request after the server starts is a
deep link (`/draw`, or a shared `/mnist?mnist_eps=0.05`), Streamlit runs that page file directly,
with a sidebar listing every module in `pages/` and without `streamlit_app.py`'s page config.
Each page calls `keep_talk_navigation()` first: on that first legacy run it switches the flag
off and reruns, and the rerun goes through `streamlit_app.py` to the same page.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def keep_talk_navigation() -> None:
    """Rerun through `streamlit_app.py` if Streamlit started this run in legacy pages/ mode."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
