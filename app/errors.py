"""How a page shows an error a user can fix: its message (which names the fix), never a traceback,
an object's repr or a path on the server.

Not a page (the navigation lists only the files in streamlit_app.TALK).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from core.errors import RobustnessError

REPO = Path(__file__).resolve().parents[1]
_OBJECT_REPR = re.compile(r"<[^<>]*? at 0x[0-9a-fA-F]+>")  # <_io.BytesIO object at 0x7f...>
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
# An absolute path: a "/" that starts a word (not inside a URL, "p/n" or "1/2"), then its parts.
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])/(?:[^\s/'\"`()<>,;:]+/)*[^\s/'\"`()<>,;:]+")


def _shown_path(match: re.Match) -> str:
    path = Path(match.group(0))
    try:
        return str(path.relative_to(REPO))  # pretrained/mnist/f_n.onnx: what the lecturer's fix names
    except ValueError:
        return path.name  # elsewhere on the server: its name only


def student_message(error: BaseException | str) -> str:
    """An error's message as students may see it: no object repr, no memory address, no absolute path.

    Paths inside the repository become relative to it (the fix in the message still names the
    file); any other path is cut to its file name.
    """
    text = str(error)
    text = _OBJECT_REPR.sub("an object", text)
    text = _ADDRESS.sub("an address", text)
    return _ABSOLUTE_PATH.sub(_shown_path, text)


def show_error(error: BaseException | str) -> None:
    """`st.error` with `student_message`."""
    st.error(student_message(error), icon=":material/error:")


@contextmanager
def shown_errors() -> Iterator[None]:
    """Show an artifact or input error as `st.error` (its message names the fix) and carry on.

    The rest of the block is skipped; the rest of the page still runs.
    """
    try:
        yield
    except RobustnessError as exc:
        show_error(exc)
