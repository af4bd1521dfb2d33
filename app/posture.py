"""Server hardening for a lecture that Streamlit has no setting for (the settings it has are in
.streamlit/config.toml).

Clearing the cache: the developer menu's "Clear cache" is hidden from students (toolbarMode =
"viewer"), but the server still obeys a `clear_cache` message from any client, and it clears every
user's caches, so one forged message would make the whole class pay the start-up work again.
`protect_shared_caches` makes the server ignore it (and log it) unless Streamlit runs in
development mode; the lecturer clears caches by restarting the server.

Unused messages and uploads: `drop_unused_messages` makes every session ignore the websocket
messages a student's browser never needs (`ALLOWED_MESSAGES` lists the ones it does:
`load_git_info` would run git in a subprocess on the event loop, once per message), and
`refuse_uploads` makes the server keep no uploaded file (the app has no file uploader). The gate
(deploy/gate.py, started by `make app` and `make class`) already refuses both before Streamlit
reads them; these two cover a plain `streamlit run streamlit_app.py` from its first page run on.

Forged widget values: a client can send any value for any widget; inf or nan for an integer input
made Streamlit itself raise before the page ran, on every later run of that session.
`refuse_forged_widget_values` drops such numbers as they arrive and notes them for the page
(`refused_value`; app/url_settings.py shows the note and puts the widget back to the talk's value).

Not a page (the navigation lists only the files in streamlit_app.TALK).
"""

from __future__ import annotations

import threading

from streamlit.logger import get_logger

_LOGGER = get_logger(__name__)
_lock = threading.Lock()
# The BackMsg types a student's browser needs: a run of the script, stopping it, the heartbeat, and
# the dataframe's chunk requests. The server ignores every other type (deploy/gate.py drops them).
ALLOWED_MESSAGES = frozenset({"rerun_script", "stop_script", "app_heartbeat", "backend_operation_request"})
IGNORED_MESSAGE = "ignored a client's request to clear the shared caches (restart the server to clear them)"


def protect_shared_caches() -> bool:
    """Make every session ignore `clear_cache` requests from clients; True once installed.

    Patches `AppSession._handle_clear_cache_request` (Streamlit 1.67, pinned in requirements.txt;
    tests/app/test_server_posture.py fails if the method moves).
    """
    from streamlit import config
    from streamlit.runtime.app_session import AppSession

    with _lock:
        if getattr(AppSession._handle_clear_cache_request, "_lecture_guard", False):
            return True
        original = AppSession._handle_clear_cache_request

        def guarded(self) -> None:
            if config.get_option("global.developmentMode"):
                return original(self)
            _LOGGER.warning(IGNORED_MESSAGE)

        guarded._lecture_guard = True  # type: ignore[attr-defined]
        AppSession._handle_clear_cache_request = guarded
        return True


def drop_unused_messages() -> bool:
    """Make every session ignore the BackMsg types a student's browser never needs; True once installed.

    Patches `AppSession.handle_backmsg` (Streamlit 1.67, pinned in requirements.txt)."""
    from streamlit import config
    from streamlit.runtime.app_session import AppSession

    with _lock:
        if getattr(AppSession.handle_backmsg, "_lecture_guard", False):
            return True
        original = AppSession.handle_backmsg

        def guarded(self, msg) -> None:
            kind = msg.WhichOneof("type")
            if kind in ALLOWED_MESSAGES or config.get_option("global.developmentMode"):
                return original(self, msg)
            if kind == "clear_cache":
                _LOGGER.warning(IGNORED_MESSAGE)
            else:
                _LOGGER.debug("ignored a client's %s message", kind)

        guarded._lecture_guard = True  # type: ignore[attr-defined]
        AppSession.handle_backmsg = guarded
        return True


def refuse_uploads() -> bool:
    """Make the server keep no uploaded file (the app has no file uploader); True once installed.

    Patches `MemoryUploadedFileManager.add_file` (Streamlit 1.67): an upload's bytes are dropped as
    soon as the request ends, instead of staying in memory until its session closes."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

    with _lock:
        if getattr(MemoryUploadedFileManager.add_file, "_lecture_guard", False):
            return True

        def dropped(self, session_id, file) -> None:
            _LOGGER.warning("dropped an upload (this app takes no file uploads)")

        dropped._lecture_guard = True  # type: ignore[attr-defined]
        MemoryUploadedFileManager.add_file = dropped
        return True


# --- forged widget values ------------------------------------------------------------------------

FORGED_MESSAGE = "refused a widget value no browser sends"
NOTES = "posture__refused_widget_values"  # a session-state key: widget id -> why its value was refused
_NUMBERS = ("int_value", "double_value", "double_array_value", "int_array_value")


def _forged(state, widget_state) -> str | None:
    """Why a client's widget value is one no browser sends (None: it may be honest).

    Numbers only: a non-finite float (a browser's number widgets never send inf or nan), or one the
    widget's own deserializer (known from the session's last run) refuses, such as inf for an
    integer input or an option index a select_slider does not have.
    """
    import math

    from streamlit.runtime.state.common import unpack_widget_state_value

    which = widget_state.WhichOneof("value")
    if which not in _NUMBERS:
        return None
    value = unpack_widget_state_value(widget_state)
    values = list(value) if which.endswith("array_value") else [value]
    if not all(math.isfinite(v) for v in values):
        return "is not a finite number"
    metadata = state._new_widget_state.widget_metadata.get(widget_state.id)
    if metadata is not None:
        try:
            metadata.deserializer(value)
        except (ValueError, TypeError, OverflowError, IndexError, KeyError):
            return "is not a value this widget takes"
    return None


def refuse_forged_widget_values() -> bool:
    """Make every session drop a widget value no browser sends, before Streamlit reads it (True once on).

    A forged `rerun_script` with inf or nan for an integer input made Streamlit's own deserializer
    raise before the page ran, on that run and every later one of the session (until a reload).
    The value is dropped (the widget keeps its previous value) and noted for the page: see
    `refused_value`. Patches `SessionState.set_widgets_from_proto` (Streamlit 1.67, pinned;
    tests/app/test_hostile_input.py fails if it moves).
    """
    from streamlit.proto.WidgetStates_pb2 import WidgetStates
    from streamlit.runtime.state.session_state import SessionState

    with _lock:
        if getattr(SessionState.set_widgets_from_proto, "_lecture_guard", False):
            return True
        original = SessionState.set_widgets_from_proto

        def guarded(self, widget_states) -> None:
            refused = {w.id: problem for w in widget_states.widgets if (problem := _forged(self, w))}
            if refused:
                _LOGGER.warning("%s: %s", FORGED_MESSAGE, sorted(refused))
                try:
                    notes = dict(self[NOTES])
                except KeyError:
                    notes = {}
                self._new_session_state[NOTES] = {**notes, **refused}  # read by the page: refused_value
                kept = WidgetStates()
                kept.widgets.extend(w for w in widget_states.widgets if w.id not in refused)
                widget_states = kept
            return original(self, widget_states)

        guarded._lecture_guard = True  # type: ignore[attr-defined]
        SessionState.set_widgets_from_proto = guarded
        return True


def refused_value(widget_key: str) -> str | None:
    """Why this session's last value for the keyed widget was refused (once; None if it was not)."""
    import streamlit as st

    notes = st.session_state.get(NOTES)
    if not notes:
        return None
    for widget_id in list(notes):
        if widget_id.endswith(f"-{widget_key}"):
            return notes.pop(widget_id)
    return None


def protect() -> None:
    """Every guard of this module (idempotent; streamlit_app.py calls it on every run)."""
    protect_shared_caches()
    drop_unused_messages()
    refuse_uploads()
    refuse_forged_widget_values()
