"""How a page shows an error a user can fix: its message (which names the fix), never a traceback.

Not a page (the navigation lists only the files in streamlit_app.TALK).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.errors import RobustnessError


@contextmanager
def shown_errors() -> Iterator[None]:
    """Show an artifact or input error as `st.error` (its message names the fix) and carry on.

    The rest of the block is skipped; the rest of the page still runs.
    """
    try:
        yield
    except RobustnessError as exc:
        st.error(str(exc), icon=":material/error:")
