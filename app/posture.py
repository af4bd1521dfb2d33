"""Server hardening for a lecture that Streamlit has no setting for (the settings it has are in
.streamlit/config.toml).

Clearing the cache: the developer menu's "Clear cache" is hidden from students (toolbarMode =
"viewer"), but the server still obeys a `clear_cache` message from any client, and it clears every
user's caches, so one forged message would make the whole class pay the start-up work again.
`protect_shared_caches` makes the server ignore it (and log it) unless Streamlit runs in
development mode; the lecturer clears caches by restarting the server.

Not a page (the navigation lists only the files in streamlit_app.TALK).
"""

from __future__ import annotations

import threading

from streamlit.logger import get_logger

_LOGGER = get_logger(__name__)
_lock = threading.Lock()
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
