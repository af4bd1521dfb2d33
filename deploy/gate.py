"""The lecture hall's gate: an ASGI middleware in front of Streamlit's own server.

Streamlit answers whatever any websocket or HTTP client sends; a lecture server has 30-60 clients,
any of whom may be hostile. The gate sits in front of every request, in every way the app is
served (`make app` and each process of `make class` start through `deploy/serve_app.py`), and
refuses what a student's browser never needs:

- the upload route (`/_stcore/upload_file`): the app has no file uploader, and Streamlit would
  otherwise keep up to 200 MB a file in memory, any number of files;
- the metrics and agent routes, matched on the decoded, lower-cased path with repeated slashes
  merged and dot segments resolved (`/%5fstcore/metrics`, `/_STCORE//metrics`, `/_stcore/./metrics`); the metrics stay readable from this machine
  itself (`curl http://127.0.0.1:PORT/_stcore/metrics`) when no proxy stands between;
- websocket messages the app has no use for (`load_git_info` runs git in a subprocess on the event
  loop; `clear_cache` empties every student's caches; `set_run_on_save`, file uploads, debug),
  dropped before Streamlit reads them;
- more than `GateLimits.frames_per_s` messages a second on one websocket, after a burst of
  `frames_burst`: the extra ones wait (the socket's own reading pauses, so a flood stays in the
  flooder's buffers), which slows that student only;
- more than `sessions_per_minute` new sessions a minute, or `sessions_open` at once, from one
  address. The defaults let a class of 60 behind one campus NAT address join together and reload;
  a script that opens hundreds of sessions is refused (HTTP 403 on the websocket handshake).

Behind `make class`'s HAProxy every connection comes from 127.0.0.1: the app processes are started
with `LECTURE_TRUSTED_PROXY=1` and then take the student's address from the last
`X-Forwarded-For` hop, which HAProxy sets; without it the header is ignored (a client could forge
it). HAProxy applies the same limits per address (deploy/haproxy.cfg).
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field

from app.posture import ALLOWED_MESSAGES  # the one list: the gate drops, the sessions ignore the rest

# Paths no student may reach, after decoding: (prefix, status, why).
REFUSED_PATHS = (
    ("/_stcore/upload_file", 403, "This app takes no file uploads."),
    ("/_stcore/metrics", 403, "The server's metrics are for its operator (read them on the server itself)."),
    ("/_stcore/agent", 403, "No agent API on a lecture server."),
)
OPERATOR_PATHS = ("/_stcore/metrics",)  # readable from this machine when no proxy forwarded the request
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
TRUSTED_PROXY_ENV = "LECTURE_TRUSTED_PROXY"


@dataclass(frozen=True)
class GateLimits:
    """What one student (one websocket, one address) may do. Per process."""

    frames_per_s: float = 4.0  # sustained websocket messages a second, per socket
    frames_burst: int = 30  # messages a socket may send at once before they wait
    sessions_per_minute: int = 180  # new sessions per address per minute (a NATed class of 60, reloads)
    sessions_open: int = 240  # sessions open at once per address
    tracked_addresses: int = 100_000  # bound on the per-address table


def normalized_path(path: str) -> str:
    """The path as a router would see it after any decoding: percent-decoded until stable (at most
    three rounds), lower-cased, repeated slashes merged, dot segments resolved."""
    for _ in range(3):
        decoded = urllib.parse.unquote(path)
        if decoded == path:
            break
        path = decoded
    trailing = "/" if path.endswith("/") else ""
    path = posixpath.normpath("/" + path.lower().lstrip("/"))  # merges "//", resolves "." and ".."
    return path.replace("//", "/") + (trailing if path != "/" else "")


def message_kind(data: bytes) -> str | None:
    """The BackMsg's type ("rerun_script", "load_git_info", ...), or None if it does not parse."""
    from google.protobuf.message import DecodeError
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    try:
        msg.ParseFromString(data)
    except DecodeError:
        return None
    return msg.WhichOneof("type")


class TokenBucket:
    """`rate` tokens a second up to `burst`; `wait()` takes one, sleeping until there is one."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.last = clock()

    def delay(self) -> float:
        """Take a token now (the balance may go below zero); the seconds to wait before using it."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    async def wait(self) -> None:
        pause = self.delay()
        if pause > 0:
            await asyncio.sleep(pause)


@dataclass
class GateStats:
    """What the gate refused, for the log and the tests."""

    refused_paths: int = 0
    dropped_messages: dict[str, int] = field(default_factory=dict)
    delayed_messages: int = 0
    refused_sessions: int = 0


class LectureGate:
    """Pure ASGI middleware: `LectureGate(app)`; see the module docstring."""

    def __init__(self, app, limits: GateLimits | None = None, trusted_proxy: bool | None = None,
                 clock=time.monotonic):
        self.app = app
        self.limits = limits or GateLimits()
        self.trusted_proxy = (os.environ.get(TRUSTED_PROXY_ENV) == "1") if trusted_proxy is None else trusted_proxy
        self.clock = clock
        self.stats = GateStats()
        self._opened: dict[str, deque[float]] = {}
        self._open: dict[str, int] = {}

    # --- who is asking -----------------------------------------------------------------------

    def _header(self, scope, name: bytes) -> str | None:
        for key, value in scope.get("headers", ()):
            if key.lower() == name:
                return value.decode("latin-1")
        return None

    def address(self, scope) -> str:
        """The student's address: the peer's, or behind a trusted local proxy its last X-Forwarded-For hop."""
        peer = (scope.get("client") or ("unknown", 0))[0]
        if self.trusted_proxy and peer in LOOPBACK:
            forwarded = self._header(scope, b"x-forwarded-for")
            if forwarded:
                return forwarded.split(",")[-1].strip() or peer
        return peer

    def is_operator(self, scope) -> bool:
        """A request from this machine itself that no proxy forwarded."""
        peer = (scope.get("client") or ("unknown", 0))[0]
        return peer in LOOPBACK and self._header(scope, b"x-forwarded-for") is None

    # --- sessions per address ----------------------------------------------------------------

    def admit(self, address: str) -> bool:
        now = self.clock()
        opened = self._opened.get(address)
        if opened is None:
            if len(self._opened) >= self.limits.tracked_addresses:
                self._forget_idle(now)
            opened = self._opened[address] = deque()
        while opened and now - opened[0] > 60.0:
            opened.popleft()
        if len(opened) >= self.limits.sessions_per_minute or self._open.get(address, 0) >= self.limits.sessions_open:
            self.stats.refused_sessions += 1
            return False
        opened.append(now)
        self._open[address] = self._open.get(address, 0) + 1
        return True

    def release(self, address: str) -> None:
        left = self._open.get(address, 1) - 1
        if left > 0:
            self._open[address] = left
        else:
            self._open.pop(address, None)

    def _forget_idle(self, now: float) -> None:
        for address in [a for a, q in self._opened.items()
                        if address_idle(q, now) and not self._open.get(a)]:
            del self._opened[address]

    # --- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind in ("http", "websocket"):
            path = normalized_path(scope.get("path", ""))
            for prefix, status, why in REFUSED_PATHS:
                if path.startswith(prefix) and not (prefix in OPERATOR_PATHS and self.is_operator(scope)):
                    self.stats.refused_paths += 1
                    return await self._refuse(kind, receive, send, status, why)
        if kind != "websocket":
            return await self.app(scope, receive, send)
        address = self.address(scope)
        if not self.admit(address):
            return await self._refuse(kind, receive, send, 403, "Too many sessions from one address.")
        try:
            await self.app(scope, self._filtered(receive), send)
        finally:
            self.release(address)

    def _filtered(self, receive):
        bucket = TokenBucket(self.limits.frames_per_s, self.limits.frames_burst, self.clock)
        stats = self.stats

        async def filtered_receive():
            while True:
                message = await receive()
                if message.get("type") != "websocket.receive":
                    return message
                data = message.get("bytes")
                if data is not None:
                    kind = message_kind(data)
                    if kind not in ALLOWED_MESSAGES:
                        name = kind or "unparsable"
                        stats.dropped_messages[name] = stats.dropped_messages.get(name, 0) + 1
                        await bucket.wait()  # even dropped messages cost the flooder time
                        continue
                pause = bucket.delay()
                if pause > 0:
                    stats.delayed_messages += 1
                    await asyncio.sleep(pause)
                return message

        return filtered_receive

    async def _refuse(self, kind: str, receive, send, status: int, why: str) -> None:
        if kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})  # before accept: HTTP 403
            return
        body = why.encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def address_idle(opened: deque, now: float) -> bool:
    return not opened or now - opened[-1] > 60.0


def install(limits: GateLimits | None = None) -> None:
    """Put the gate in front of the Starlette app that `streamlit run` builds in this process.

    Streamlit 1.67 builds its middleware list in `starlette_app.create_streamlit_middleware`
    (pinned in requirements.txt; tests/deploy/test_gate.py fails if it moves). The gate goes
    first, so it sees every request before Streamlit's own middleware does.
    """
    from starlette.middleware import Middleware
    from streamlit.web.server.starlette import starlette_app

    original = starlette_app.create_streamlit_middleware
    if getattr(original, "_lecture_gate", False):
        return

    def with_gate():
        return [Middleware(LectureGate, limits=limits), *original()]

    with_gate._lecture_gate = True  # type: ignore[attr-defined]
    starlette_app.create_streamlit_middleware = with_gate
