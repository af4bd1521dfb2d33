"""deploy/gate.py and deploy/serve_app.py: what a hostile student can send, refused or slowed to
their own pace; unit tests of the gate, then attacks on a running app process (`make app`'s way)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks.class_load import run_async
from deploy.gate import GateLimits, LectureGate, TokenBucket, message_kind, normalized_path
from deploy.serve_class import wait_healthy, wait_quiet
from tests.live_app import free_port, stop

REPO = Path(__file__).resolve().parents[2]


# --- the gate alone ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/_stcore/metrics", "/_stcore/%6detrics", "/%5fstcore/metrics",
                                  "/_STCORE/Metrics", "//_stcore//metrics", "/%255fstcore/metrics",
                                  "/_stcore/./metrics", "/_stcore/x/../metrics", "/_stcore/%2e/metrics",
                                  "_stcore/metrics"])
def test_every_spelling_of_the_metrics_path_is_the_metrics_path(path):
    assert normalized_path(path).startswith("/_stcore/metrics")


def backmsg(**fields) -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    for name, value in fields.items():
        if name == "rerun_script":
            msg.rerun_script.query_string = value
        else:
            setattr(msg, name, value)
    return msg.SerializeToString()


def test_message_kinds_are_read_from_the_protobuf():
    assert message_kind(backmsg(load_git_info=True)) == "load_git_info"
    assert message_kind(backmsg(rerun_script="a=1")) == "rerun_script"
    assert message_kind(b"\xff\xff\xff") is None


def test_the_token_bucket_lets_a_burst_through_then_paces_at_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=4.0, burst=3, clock=lambda: now[0])
    assert [bucket.delay() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.delay() == pytest.approx(0.25)  # the 4th waits a quarter second
    now[0] += 10.0
    assert bucket.delay() == 0.0  # refilled (up to the burst)


class FakeApp:
    """Records what reaches the app behind the gate."""

    def __init__(self):
        self.http: list[str] = []
        self.frames: list[bytes] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.http.append(scope["path"])
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            self.frames.append(message["bytes"])


def http_call(app, path: str, client: str = "10.0.0.7", headers=()) -> int:
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "client": (client, 5000), "headers": list(headers)}
    run_async(app(scope, receive, send))  # a thread of its own if Playwright holds a loop
    return sent[0]["status"]


def test_uploads_agent_and_metrics_are_refused_before_streamlit_sees_them():
    inner = FakeApp()
    front = LectureGate(inner, trusted_proxy=False)
    assert http_call(front, "/_stcore/upload_file/session/file") == 403
    assert http_call(front, "/_stcore/%6detrics") == 403
    assert http_call(front, "/%5fstcore/agent/x") == 403
    assert http_call(front, "/_stcore/health") == 200 and http_call(front, "/media/x.png") == 200
    # The operator on the machine itself may read the metrics, unless a proxy forwarded the request.
    assert http_call(front, "/_stcore/metrics", client="127.0.0.1") == 200
    assert http_call(front, "/_stcore/metrics", client="127.0.0.1", headers=[(b"x-forwarded-for", b"10.1.1.1")]) == 403
    assert inner.http == ["/_stcore/health", "/media/x.png", "/_stcore/metrics"]


def websocket_session(app, frames: list[bytes], client: str = "10.0.0.7", headers=()) -> list[dict]:
    """One websocket through `app`: connect, send `frames`, disconnect; what the gate sent back."""
    incoming = [{"type": "websocket.connect"}] + [{"type": "websocket.receive", "bytes": f} for f in frames] + [
        {"type": "websocket.disconnect", "code": 1000}]
    sent = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "websocket", "path": "/_stcore/stream", "client": (client, 5000), "headers": list(headers)}
    run_async(app(scope, receive, send))  # a thread of its own if Playwright holds a loop
    return sent


def test_unused_messages_are_dropped_and_a_flood_waits_at_the_students_own_pace():
    inner = FakeApp()
    front = LectureGate(inner, GateLimits(frames_per_s=200.0, frames_burst=5), trusted_proxy=False)
    git = backmsg(load_git_info=True)
    clear = backmsg(clear_cache=True)
    rerun = backmsg(rerun_script="")
    t0 = time.perf_counter()
    websocket_session(front, [git] * 50 + [clear, rerun] + [rerun] * 20)
    took = time.perf_counter() - t0
    assert inner.frames == [rerun] * 21  # git and clear_cache never reach Streamlit
    assert front.stats.dropped_messages == {"load_git_info": 50, "clear_cache": 1}
    # 72 messages, 5 at once, then 200 a second: about 0.33 s, spent in this socket's reading only.
    assert took >= (72 - 5) / 200 * 0.9


def test_new_sessions_per_address_are_bounded_and_a_trusted_proxy_names_the_student():
    inner = FakeApp()
    front = LectureGate(inner, GateLimits(sessions_per_minute=3), trusted_proxy=True)
    accepted = [websocket_session(front, [])[0]["type"] for _ in range(4)]
    assert accepted == ["websocket.accept"] * 3 + ["websocket.close"]  # the 4th in a minute: refused
    # Behind HAProxy the peer is 127.0.0.1: the student is the last X-Forwarded-For hop.
    forwarded = [(b"x-forwarded-for", b"1.2.3.4, 10.9.9.9")]
    assert websocket_session(front, [], client="127.0.0.1", headers=forwarded)[0]["type"] == "websocket.accept"
    assert front.address({"client": ("127.0.0.1", 1), "headers": forwarded}) == "10.9.9.9"
    # Without a trusted proxy the header is the client's own word: ignored.
    plain = LectureGate(inner, trusted_proxy=False)
    assert plain.address({"client": ("10.0.0.7", 1), "headers": forwarded}) == "10.0.0.7"


def test_the_gate_hooks_into_streamlits_middleware_list():
    """Fails if Streamlit moves `create_streamlit_middleware` (the gate would silently be gone)."""
    code = ("from deploy import gate; gate.install(); "
            "from streamlit.web.server.starlette import starlette_app as s; "
            "m = s.create_streamlit_middleware(); print(m[0].cls.__name__, len(m))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "LectureGate"


# --- a running app process, started as `make app` starts it ------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def lecture_app(tmp_path: Path, launcher: bool = True, soft_open_files: int | None = None):
    """`python -m deploy.serve_app` (or a plain `streamlit run`) on a free port: yields (port, process)."""
    port = free_port()
    cmd = ([sys.executable, "-m", "deploy.serve_app"] if launcher
           else [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py")])
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]

    def lower_limit():
        if soft_open_files:
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft_open_files, hard))

    log = open(tmp_path / f"app-{port}.log", "w")
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, preexec_fn=lower_limit)
    log.close()
    try:
        wait_healthy(port, proc)
        yield port, proc
    finally:
        stop(proc)


class Tab:
    """A student's tab over the websocket (streamlit's own protobufs)."""

    def __init__(self, port: int, headers: dict | None = None):
        from websockets.sync.client import connect

        self.port = port
        self.ws = connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                          origin=f"http://127.0.0.1:{port}", max_size=None, open_timeout=60,
                          additional_headers=headers).__enter__()  # a long-lived socket, closed by close()
        self.session_id = ""

    def send(self, data: bytes) -> None:
        self.ws.send(data)

    def run(self, query: str = "", timeout: float = 120.0) -> float:
        """One run of the script; its latency in seconds (request sent -> script_finished)."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        t0 = time.perf_counter()
        self.ws.send(backmsg(rerun_script=query))
        deadline = t0 + timeout
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(self.ws.recv(timeout=max(0.1, deadline - time.perf_counter())))
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                self.session_id = fwd.new_session.initialize.session_id
            if kind == "script_finished":
                return time.perf_counter() - t0

    def close(self) -> None:
        self.ws.close()


def put_upload(port: int, session_id: str, megabytes: int) -> int:
    """A forged upload of `megabytes` MB into the student's own session (own xsrf cookie and header):
    the HTTP status, or 0 when the server answered and closed before the body was sent."""
    token = "2|deadbeef|" + "00" * 16 + "|1700000000"
    boundary = "lecture-hall-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + os.urandom(megabytes << 20) + (
            f"\r\n--{boundary}--\r\n").encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/_stcore/upload_file/{session_id}/f{time.time_ns()}",
        data=body, method="PUT",
        headers={"X-Xsrftoken": token, "Cookie": f"_streamlit_xsrf={token}",
                 "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, ConnectionError) as e:
        if isinstance(getattr(e, "reason", e), (ConnectionResetError, BrokenPipeError)):
            return 0
        raise


@pytest.mark.parametrize("launcher", [True, False], ids=["make-app", "plain-streamlit-run"])
def test_uploads_do_not_grow_the_servers_memory(tmp_path, launcher):
    """Four 100 MB PUTs took a process from 493 to 896 MB, held after the session closed."""
    with lecture_app(tmp_path, launcher=launcher) as (port, proc):
        tab = Tab(port)
        tab.run()  # a page run: the app's own guards are installed (a plain `streamlit run`'s only ones)
        wait_quiet([proc.pid], window=2.0, timeout=300)  # the first run starts the cache warm-up (app/warmup.py): let it finish
        before = rss_mb(proc.pid)
        codes = [put_upload(port, tab.session_id, 100) for _ in range(4)]
        time.sleep(1.0)
        grown = rss_mb(proc.pid) - before
        tab.close()
    if launcher:
        assert set(codes) <= {403, 0}, codes  # refused before the body is read (then the socket closes)
    # 400 MB sent, kept before (+400 MB); the warm-up's own growth on a busy machine stays far below.
    assert grown < 150, (codes, grown)


def test_a_flood_of_unused_messages_does_not_stall_other_students(tmp_path):
    """1000 `load_git_info` messages from one socket stalled another student's rerun for 18.7 s."""
    with lecture_app(tmp_path) as (port, _):
        honest, flooder = Tab(port), Tab(port)
        honest.run()
        flooder.run()
        git = backmsg(load_git_info=True)
        done = threading.Event()

        def flood():
            try:
                for _ in range(1000):
                    flooder.send(git)
            except Exception:
                pass  # the flooder's socket may back up: its problem
            done.set()

        threading.Thread(target=flood, daemon=True).start()
        time.sleep(0.5)
        latencies = [honest.run() for _ in range(5)]
        assert max(latencies) < 5.0, latencies
        honest.close()


def test_the_app_process_raises_its_open_files_limit(tmp_path):
    """About 4 descriptors a session: a soft limit of 256 (macOS's default) allows about 60 students."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.fail(f"this machine's hard limit of open files is {hard}: the test needs more")
    with lecture_app(tmp_path, soft_open_files=256) as (_, proc):
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
    soft = int(next(line for line in limits.splitlines() if line.startswith("Max open files")).split()[3])
    assert soft >= min(1024 * 8, hard), limits


def test_one_address_cannot_open_sessions_without_limit(tmp_path):
    """A script opening hundreds of sessions from one address is refused past the per-minute limit."""
    from websockets.exceptions import InvalidStatus

    limit = GateLimits().sessions_per_minute
    with lecture_app(tmp_path) as (port, _):
        tabs, refused = [], 0
        try:
            for _ in range(limit + 5):
                try:
                    tabs.append(Tab(port))
                except InvalidStatus as e:
                    assert e.response.status_code == 403
                    refused += 1
        finally:
            for tab in tabs:
                tab.close()
    assert len(tabs) == limit and refused == 5



@pytest.mark.parametrize("first", ["ui", "__init__", "posture", "../streamlit_app"])
def test_a_fresh_servers_first_request_for_a_module_that_is_no_page_shows_the_title_page(tmp_path, first):
    """A fresh server whose first request was `/ui` ran that module (then in pages/) as a page. Only
    page scripts live in pages/ now (tests/app/test_every_page.py); any other name gets the talk's first page."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    with lecture_app(tmp_path) as (port, _):
        tab = Tab(port)
        msg = BackMsg()
        msg.rerun_script.page_name = first
        msg.rerun_script.context_info.url = f"http://127.0.0.1:{port}/{first}"
        tab.send(msg.SerializeToString())
        texts, kinds = b"", []
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(tab.ws.recv(timeout=120))
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                kinds.append(fwd.delta.new_element.WhichOneof("type"))
                texts += fwd.delta.new_element.SerializeToString()
            if kind == "script_finished":
                break
        tab.close()
    assert "exception" not in kinds
    assert b"Does overparameterization make neural networks robust" in texts
