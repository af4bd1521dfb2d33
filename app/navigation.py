"""The talk's navigation: every page inside it, and Previous / Next links in the talk's order.

Not a page (the navigation lists only the files in streamlit_app.TALK).

`keep_talk_navigation`: Streamlit 1.67 treats an app with a `pages/` folder as a legacy (v1)
multipage app until the main script has called `st.navigation` once. If the very first request
after the server starts is a deep link (`/draw`, or a shared `/mnist?mnist_eps=0.05`), Streamlit
runs that page file directly, with a sidebar listing every module in `pages/` and without
`streamlit_app.py`'s page config. Each page calls `keep_talk_navigation()` first: on that first
legacy run it switches the flag off and reruns, and the rerun goes through `streamlit_app.py` to
the same page.

`page_links`: the links to the previous and next page of the talk at the end of every page.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def keep_talk_navigation() -> None:
    """Rerun through `streamlit_app.py` if Streamlit started this run in legacy pages/ mode."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_links(page: str, talk: Sequence[tuple[str, str]]) -> None:
    """Previous / Next links in the talk's order at the end of a page.

    talk: (page file, title) in the talk's order (streamlit_app.TALK)."""
    files = [path for path, _ in talk]
    if page not in files:
        return
    i = files.index(page)
    row = st.container(horizontal=True, horizontal_alignment="distribute", key="talk_links")
    if i > 0:
        row.page_link(talk[i - 1][0], label=f"← Previous: {talk[i - 1][1]}")
    if i + 1 < len(talk):
        row.page_link(talk[i + 1][0], label=f"Next: {talk[i + 1][1]} →")
