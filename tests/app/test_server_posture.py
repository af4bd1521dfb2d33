"""The server's posture for a lecture, one test per setting, against a real `streamlit run`:
errors without tracebacks, no outside network call at start-up, localhost unless told otherwise,
a client cannot clear the shared caches, and the settings read from .streamlit/config.toml.

The recorder here patches Python's socket module: it cannot see native code (ONNX Runtime's
telemetry); tests/app/test_no_outside_calls.py traces system calls (strace) for that."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

from tests.live_app import REPO, free_port, stop, wait_healthy

# Wraps `streamlit run`: records every socket connect to a non-loopback address (HTTP, DNS-free
# UDP "connects" included) in the file named by argv[1], then runs Streamlit's CLI.
RECORDER = textwrap.dedent("""
    import json, socket, sys
    log = sys.argv.pop(1)
    def record(addr):
        host = addr[0] if isinstance(addr, tuple) else str(addr)
        if host not in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
            with open(log, "a") as fh:
                fh.write(json.dumps(str(addr)) + "\\n")
    for name in ("connect", "connect_ex"):
        original = getattr(socket.socket, name)
        def patched(self, addr, _original=original):
            record(addr)
            return _original(self, addr)
        setattr(socket.socket, name, patched)
    original_cc = socket.create_connection
    def create_connection(address, *args, **kwargs):
        record(address)
        return original_cc(address, *args, **kwargs)
    socket.create_connection = create_connection
    from streamlit.web.cli import main
    sys.argv = ["streamlit", "run", *sys.argv[1:]]
    main()
""")


@contextmanager
def server(tmp_path: Path, *args: str, script: Path = REPO / "streamlit_app.py", port: int | None = None):
    """`streamlit run` from the repository root (so its .streamlit/config.toml applies), recorded."""
    port = port or free_port()
    wrapper = tmp_path / "recorded_streamlit.py"
    wrapper.write_text(RECORDER)
    calls = tmp_path / "outside_calls.jsonl"
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, str(wrapper), str(calls), str(script), "--server.port", str(port),
                             "--server.fileWatcherType", "none", *args],
                            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(port, proc)
        yield port, proc, calls, tmp_path / "server.log"
    finally:
        stop(proc)
        log.close()


def session(port: int, *messages, query: str = "", until_finished: int = 1, timeout: float = 60.0) -> list:
    """Open a websocket session, run the main page, send `messages` (BackMsgs), return what came back."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    out = []
    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                 origin=f"http://127.0.0.1:{port}", max_size=None, open_timeout=timeout) as ws:
        first = BackMsg()
        first.rerun_script.query_string = query
        ws.send(first.SerializeToString())
        deadline, finished = time.monotonic() + timeout, 0
        while finished < until_finished and time.monotonic() < deadline:
            fwd = ForwardMsg()
            fwd.ParseFromString(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            out.append(fwd)
            finished += fwd.WhichOneof("type") == "script_finished"
        for msg in messages:  # after the first run, as a browser's later messages come
            ws.send(msg.SerializeToString())
        time.sleep(0.5 if messages else 0)
    return out


def outside_calls(calls: Path) -> list[str]:
    return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []


def test_the_config_file_holds_the_lecture_settings():
    code = ("from streamlit import config\n"
            "config.get_config_options(force_reparse=True)\n"
            "import json\n"
            "names = ['server.address', 'server.headless', 'server.showEmailPrompt', 'client.showErrorDetails',"
            " 'client.toolbarMode', 'browser.gatherUsageStats', 'runner.postScriptGC', 'server.maxWidgetStateSize',"
            " 'server.enableExpensiveMemoryStats', 'server.enableAgentApi', 'server.enableXsrfProtection',"
            " 'server.fileWatcherType']\n"
            "print(json.dumps({n: config.get_option(n) for n in names}))\n")
    got = json.loads(subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                                     timeout=60, check=True).stdout.strip().splitlines()[-1])
    assert got == {
        "server.address": "127.0.0.1", "server.headless": True, "server.showEmailPrompt": False,
        "client.showErrorDetails": "none", "client.toolbarMode": "viewer", "browser.gatherUsageStats": False,
        "runner.postScriptGC": False, "server.maxWidgetStateSize": 2,
        "server.enableExpensiveMemoryStats": False, "server.enableAgentApi": False,
        "server.enableXsrfProtection": True, "server.fileWatcherType": "none",
    }


def test_it_listens_on_localhost_only_and_calls_no_outside_address(tmp_path):
    port = free_port()
    with server(tmp_path, port=port) as (port, proc, calls, log):
        listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
        local = [line.split()[1] for line in listening if line.split()[3] == "0A"]  # 0A: LISTEN
        ours = [addr for addr in local if int(addr.split(":")[1], 16) == port]
        assert ours == ["0100007F:" + f"{port:04X}"], ours  # 127.0.0.1, not 0.0.0.0
        assert any(m.WhichOneof("type") == "script_finished" for m in session(port))
        time.sleep(1.5)  # the start-up banner (and any IP lookup) happens after the server is up
    assert outside_calls(calls) == []
    assert "URL: http://127.0.0.1" in log.read_text()


def test_the_classroom_command_calls_no_outside_address(tmp_path):
    """README's command for a classroom network: all interfaces, the address students type given."""
    with server(tmp_path, "--server.address", "0.0.0.0", "--browser.serverAddress", "192.0.2.10") as (port, *_, calls, log):
        assert any(m.WhichOneof("type") == "script_finished" for m in session(port))
        time.sleep(1.5)
    assert outside_calls(calls) == []
    assert "http://192.0.2.10:" in log.read_text()


def test_the_recorder_sees_streamlits_ip_lookup(tmp_path):
    """The control: a wildcard address without browser.serverAddress makes Streamlit look up this
    machine's IP (UDP route lookup, then checkip.amazonaws.com); the recorder catches it."""
    with server(tmp_path, "--server.address", "0.0.0.0") as (port, *_, calls, log):
        deadline = time.monotonic() + 10
        while not outside_calls(calls) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert outside_calls(calls), "the recorder missed Streamlit's IP lookup: the tests above prove nothing"


def test_an_error_shows_its_message_but_no_traceback(tmp_path):
    boom = tmp_path / "boom.py"
    boom.write_text("import streamlit as st\nst.title('ok')\nraise RuntimeError('secret detail of the server')\n")
    with server(tmp_path, script=boom) as (port, *_):
        msgs = session(port)
    exceptions = [m.delta.new_element.exception for m in msgs
                  if m.WhichOneof("type") == "delta" and m.delta.new_element.WhichOneof("type") == "exception"]
    assert len(exceptions) == 1
    exc = exceptions[0]
    assert not exc.stack_trace and "secret detail" not in exc.message and "secret detail" not in exc.type


def test_a_client_cannot_clear_the_shared_caches(tmp_path):
    from streamlit.proto.BackMsg_pb2 import BackMsg

    from app.posture import IGNORED_MESSAGE

    clear = BackMsg(clear_cache=True)
    with server(tmp_path) as (port, _, _, log):
        session(port, clear)
        time.sleep(0.5)
        text = log.read_text()
    assert IGNORED_MESSAGE in text


def test_the_guard_keeps_streamlits_method_name():
    from streamlit.runtime.app_session import AppSession

    from app.posture import protect_shared_caches

    assert hasattr(AppSession, "_handle_clear_cache_request")  # Streamlit moved it: update app/posture.py
    assert protect_shared_caches() and protect_shared_caches()  # idempotent
    assert AppSession._handle_clear_cache_request._lecture_guard


def test_the_metrics_endpoint_is_cheap_counts(tmp_path):
    """Streamlit 1.67 cannot switch /_stcore/metrics off (README: block it at a proxy); it reports
    counts, not a walk over every session's objects."""
    import urllib.request

    with server(tmp_path) as (port, *_):
        session(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/metrics", timeout=10) as r:
            body = r.read().decode()
    assert "cache_memory_bytes" in body or "session_" in body
