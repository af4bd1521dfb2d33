"""Only the lecturer controls the class: the key field, the session that holds it, and the actions.

The lecturer types the lecture's key (app/classroom/key.py: printed on the console that started the
app) once into a password field of the presenter; this session then keeps a flag, never the key,
and the field is emptied. Every lecturer action goes through `act`, which checks that flag again
when it runs: a student's session never shows the controls, and a forged widget value or a forged
click for a control its page never drew changes nothing (tests/app/test_lecturer.py).

Not a page (the navigation lists only the files in streamlit_app.TALK).
"""

from __future__ import annotations

import time

import streamlit as st

from app.classroom.key import is_lecture_key
from app.errors import student_message
from core.errors import RobustnessError

LECTURER = "class__lecturer"  # True in the lecturer's session; never set from a widget's value
KEY_FIELD = "class__key"
TRIES = "class__key_tries"
NOTE = "class__note"  # a message an action left for the next run
MAX_TRIES, TRIES_WINDOW_S = 5, 60.0  # wrong keys per session per minute, then a wait


def is_lecturer() -> bool:
    return st.session_state.get(LECTURER) is True


def _check_key() -> None:
    typed = st.session_state.get(KEY_FIELD, "")
    st.session_state[KEY_FIELD] = ""  # the key does not stay in the widget's state
    if not typed:
        return
    now = time.monotonic()
    tries = [t for t in st.session_state.get(TRIES, []) if now - t < TRIES_WINDOW_S]
    if len(tries) >= MAX_TRIES:
        st.session_state[NOTE] = ("error", f"Too many wrong keys: wait a minute ({MAX_TRIES} tries a minute).")
        return
    try:
        right = is_lecture_key(typed)
    except RobustnessError as exc:  # a bad LECTURE_KEY: no key can be right until it is fixed
        st.session_state[NOTE] = ("error", student_message(exc))
        return
    if right:
        st.session_state[LECTURER] = True
        st.session_state[NOTE] = ("success", "Lecturer controls on for this browser tab.")
    else:
        st.session_state[TRIES] = tries + [now]
        st.session_state[NOTE] = ("error", "That is not this lecture's key: it is printed on the console "
                                           "that started the app.")


def _lock() -> None:
    st.session_state.pop(LECTURER, None)


def key_field(where=None) -> None:
    """The lecturer's password field (or, once unlocked, a button that locks the controls again)."""
    where = where if where is not None else st
    if is_lecturer():
        where.button("Lock the lecturer controls", key="class__lock", on_click=_lock,
                     icon=":material/lock:")
    else:
        where.text_input("Lecturer key", type="password", key=KEY_FIELD, on_change=_check_key,
                         help="Printed on the console that started the app (make class / make app). "
                              "Type it here, never in the address bar: the projector shows that.",
                         autocomplete="off")
    show_note(where)


def show_note(where=None) -> None:
    note = st.session_state.pop(NOTE, None)
    if note:
        kind, text = note
        where = where if where is not None else st
        (where.error if kind == "error" else where.success)(text)


def act(action, *args) -> None:
    """Run a lecturer action (a callable taking args) if, and only if, this session holds the key."""
    if not is_lecturer():
        st.session_state[NOTE] = ("error", "Only the lecturer can do that: type the lecture's key in the presenter.")
        return
    try:
        action(*args)
    except RobustnessError as exc:
        st.session_state[NOTE] = ("error", student_message(exc))


