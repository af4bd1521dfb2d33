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


def protect() -> None:
    """Every guard of this module (idempotent; streamlit_app.py calls it on every run)."""
    protect_shared_caches()
    drop_unused_messages()
    refuse_uploads()
