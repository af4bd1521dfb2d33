"""deploy/serve_class.py: several app processes behind HAProxy with sticky sessions, driven by the
load benchmark's simulated students (loopback only)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest

from benchmarks import class_load
from deploy.serve_class import Class, check_ports, haproxy_config, wait_healthy
from tests.live_app import free_port


def haproxy() -> str:
    path = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not shutil.os.path.isfile(path):
        pytest.fail("haproxy not found: install it with `make browser` (apt-get install haproxy); not skipped")
    return path


def test_the_config_is_valid_and_refuses_the_metrics_endpoint(tmp_path):
    cfg = haproxy_config("127.0.0.1:8501", [8601, 8602])
    assert "server app1 127.0.0.1:8601 check cookie app1" in cfg and "server app2 127.0.0.1:8602" in cfg
    assert "{bind}" not in cfg and "{servers}" not in cfg  # every placeholder filled
    (tmp_path / "h.cfg").write_text(cfg)
    check = subprocess.run([haproxy(), "-c", "-f", str(tmp_path / "h.cfg")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


@contextmanager
def two_processes(log_dir):
    """Two fresh app processes behind HAProxy on free loopback ports, stopped at the end:
    yields (the front port, the app ports, the deploy.serve_class.Class)."""
    haproxy()
    front, *apps = (free_port() for _ in range(3))
    lecture = Class(2, "127.0.0.1", front, 0, log_dir=log_dir)
    lecture.ports = apps
    try:
        lecture.start()
        wait_healthy(front, lecture.proxy)
        yield front, apps, lecture
    finally:
        lecture.stop()


def test_two_processes_serve_a_class_behind_one_address(tmp_path):
    with two_processes(tmp_path) as (front, apps, lecture):
        args = class_load.build_parser().parse_args(
            ["--students", "4", "--duration", "4", "--ramp", "0.5", "--moves", "2", "--rate", "4",
             "--timeout", "90", "--max-actions", "20", "--table-rows", "2"])
        summary = class_load.run_async(class_load.run_class(f"http://127.0.0.1:{front}", lecture.pids, args))
        assert summary["errors"] == 0 and summary["wrong"] == 0 and summary["disconnects"] == 0, summary
        # The digits come inline (PNG data URLs), none fetched; stickiness is checked by the
        # downloads in the browser test below.
        assert summary["inline_images"] > 0 and summary["image_errors"] == 0
        # Round robin: both processes hold sessions (their own metrics, on loopback only).
        for port in apps:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/metrics", timeout=10) as r:
                body = r.read().decode()
            connections = sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                              if line.startswith("session_events_total") and 'type="connect"' in line)
            assert connections >= 1, (port, [ln for ln in body.splitlines() if ln.startswith("session")])
        # Students cannot read the metrics through the proxy.
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"http://127.0.0.1:{front}/_stcore/metrics", timeout=10)
        assert denied.value.code == 403
    assert all(p.poll() is not None for p in [lecture.proxy, *lecture.apps])


def _get(url: str, cookie: str | None = None) -> tuple[int, bytes]:
    """One GET on a new connection (so HAProxy balances it afresh): (status, body)."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


@pytest.mark.browser
def test_a_students_files_reach_the_process_that_holds_their_session(tmp_path, browser):
    """A download is a file that the student's own process made and keeps: through HAProxy, every
    request for it must reach that process. The sticky cookie does it; without the cookie, new
    connections alternate between the processes and half of them find no such file (checked too,
    so the test knows the file lives in one process only)."""
    from playwright.sync_api import expect

    with two_processes(tmp_path) as (front, _, _):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{front}/mnist", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="MNIST: 120k against 3M parameters")).to_be_visible(timeout=60_000)
        button = page.locator(".st-key-mnist-fgsm-accuracy__csv button").first
        expect(button).to_be_enabled(timeout=60_000)
        with page.expect_download(timeout=30_000) as download:
            button.click()
        assert download.value.failure() is None, download.value.failure()
        saved = tmp_path / "fgsm.csv"
        download.value.save_as(saved)
        assert saved.read_text().startswith("model,"), saved.read_text()[:200]
        cookie = {c["name"]: c["value"] for c in context.cookies()}.get("LECTURE_PROCESS")
        assert cookie in {"app1", "app2"}, context.cookies()
        url = download.value.url
        # With the cookie, every new connection reaches the student's process and the file.
        assert [_get(url, f"LECTURE_PROCESS={cookie}") for _ in range(4)] == [(200, saved.read_bytes())] * 4
        # Without it, round robin: some connections reach the other process, which has no such file.
        assert 404 in [_get(url)[0] for _ in range(4)]
        context.close()


def test_ports_already_taken_or_shared_are_named_before_anything_starts():
    """`make class PORT=8601` collided with the app processes' own ports, then "a process exited"."""
    with pytest.raises(SystemExit, match="port 8601 is both the class's port and an app process's port"):
        check_ports("127.0.0.1", 8601, [8601, 8602])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        free = free_port()
        with pytest.raises(SystemExit, match=f"port {taken} on 127.0.0.1 is already taken"):
            check_ports("127.0.0.1", taken, [free])
        with pytest.raises(SystemExit, match=f"port {taken} on 127.0.0.1, for an app process, is already taken"):
            check_ports("127.0.0.1", free, [taken])
    check_ports("127.0.0.1", free_port(), [free_port()])  # all free: no error


def test_haproxy_refuses_every_spelling_of_the_metrics_path_uploads_and_a_session_flood(tmp_path):
    """`/_stcore/%6detrics` and `/%5fstcore/metrics` returned 73 kB of metrics through HAProxy."""
    with two_processes(tmp_path) as (front, _, _):
        for path in ("/_stcore/metrics", "/_stcore/%6detrics", "/%5fstcore/metrics", "/_STCORE/Metrics",
                     "//_stcore//metrics", "/_stcore/%256detrics", "/_stcore/./metrics",
                     "/_stcore/x/../metrics", "/_stcore/%2e/metrics", "/_stcore/agent/x",
                     "/_stcore/upload_file/a/b"):
            status, body = _get(f"http://127.0.0.1:{front}{path}")
            assert status in (400, 403, 404) and b"session_events" not in body, (path, status, body[:200])
        assert _get(f"http://127.0.0.1:{front}/_stcore/health")[0] == 200
        # One address opening sessions without end: refused past 180 a minute (a class of 60 behind
        # one NAT address stays far below it).
        from websockets.exceptions import InvalidStatus

        from tests.deploy.test_gate import Tab

        tabs, refused = [], []
        try:
            for _ in range(185):
                try:
                    tabs.append(Tab(front))
                except InvalidStatus as e:
                    refused.append(e.response.status_code)
        finally:
            for tab in tabs:
                tab.close()
        assert len(tabs) == 180 and refused == [429] * 5, (len(tabs), refused)


def test_one_dead_process_does_not_stop_the_class(tmp_path):
    """After `kill -9` of one app process, HAProxy and the other process were gone within 3 s. Now the
    students of the live process carry on without an error, new students are served, the console
    says what happened, and the dead process is started again."""
    from tests.deploy.test_gate import Tab

    said: list[str] = []
    with two_processes(tmp_path) as (front, apps, lecture):
        # Students through the proxy, each on the process its sticky cookie names.
        students = []
        for _ in range(6):
            status, cookie = _cookie(front)
            students.append((cookie, Tab(front, headers={"Cookie": f"LECTURE_PROCESS={cookie}"})))
        for _, tab in students:
            tab.run()
        assert {c for c, _ in students} == {"app1", "app2"}
        victim = lecture.apps[0]
        victim.kill()
        victim.wait()
        stop_flag = threading.Event()
        reasons: list[str | None] = []

        def supervise():
            while not stop_flag.is_set():
                reasons.append(lecture.supervise(say=said.append))
                time.sleep(0.5)

        watcher = threading.Thread(target=supervise, daemon=True)
        watcher.start()
        try:
            # The other process's students keep getting answers, with no error, while it restarts.
            survivors = [tab for cookie, tab in students if cookie == "app2"]
            for _ in range(3):
                for tab in survivors:
                    assert tab.run(timeout=60) < 30
            # New students are served (HAProxy sends them to the live process, or the restarted one).
            for _ in range(4):
                fresh = Tab(front)
                fresh.run(timeout=90)
                fresh.close()
            # The dead process comes back and answers its health check.
            wait_healthy(apps[0], timeout=120)
        finally:
            stop_flag.set()
            watcher.join(timeout=10)
            for _, tab in students:
                with contextlib.suppress(Exception):
                    tab.close()
        assert lecture.proxy.poll() is None and all(p.poll() is None for p in lecture.apps)
    assert any(f"port {apps[0]} exited (killed by SIGKILL)" in line and "starting it again" in line
               for line in said), said
    assert not any(reasons), reasons


def _cookie(front: int) -> tuple[int, str]:
    """A new visitor's first page load through the proxy: (status, the sticky cookie's value)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{front}/", timeout=30) as r:
        header = r.headers.get("Set-Cookie", "")
        return r.status, header.split("LECTURE_PROCESS=", 1)[1].split(";", 1)[0]


# --- the lecture's environment: the lecturer key and the address students type (no processes) ---------


class _FakeApp:
    """Stands in for an app process's Popen: records its command and environment."""

    def __init__(self, cmd, cwd=None, stdout=None, stderr=None, env=None):
        self.cmd, self.env, self.returncode, self.pid = cmd, env, None, 4242

    def poll(self):
        return self.returncode


def test_every_app_process_gets_the_same_key_and_address_a_restarted_one_too(tmp_path, monkeypatch):
    from app.classroom.join import ADDRESS_ENV, PUBLIC_HOST_ENV
    from app.classroom.key import LECTURE_KEY_ENV
    from deploy import serve_class

    monkeypatch.delenv(LECTURE_KEY_ENV, raising=False)
    monkeypatch.setenv(PUBLIC_HOST_ENV, "192.168.1.20")  # `make class PUBLIC_HOST=...` exports it
    monkeypatch.setattr(serve_class.subprocess, "Popen", _FakeApp)
    lecture = Class(3, "0.0.0.0", 8502, 8601, "192.168.1.20", log_dir=tmp_path)
    lecture.apps = [lecture._start_app(port) for port in lecture.ports]
    lecture.apps[1].returncode = -9  # one dies
    said = []
    assert lecture.supervise(say=said.append) is None and len(said) == 1
    restarted = lecture.apps[1]
    assert restarted.returncode is None and len(lecture.restarts) == 1  # a new process in its place
    envs = [app.env for app in lecture.apps]
    assert {env[LECTURE_KEY_ENV] for env in envs} == {lecture.key} and len(lecture.key) == 12
    assert {env[ADDRESS_ENV] for env in envs} == {"http://192.168.1.20:8502"}  # the class's port, not 8601
    assert all(PUBLIC_HOST_ENV not in env and env[serve_class.TRUSTED_PROXY_ENV] == "1" for env in envs)
    assert Class(1, "0.0.0.0", 8502, 8601, "192.168.1.20", log_dir=tmp_path).key != lecture.key  # one per lecture


def test_app_env_sets_the_key_and_address_and_drops_public_host():
    from deploy.gate import TRUSTED_PROXY_ENV
    from deploy.serve_class import app_env

    base = {"PATH": "/usr/bin", "PUBLIC_HOST": "10.0.0.5", TRUSTED_PROXY_ENV: "1", "LECTURE_KEY": "old-key-1"}
    env = app_env(base, "k7mdq2xwhe4p", "http://10.0.0.5:8501", trusted_proxy=False)
    assert env == {"PATH": "/usr/bin", "LECTURE_KEY": "k7mdq2xwhe4p", "LECTURE_ADDRESS": "http://10.0.0.5:8501"}
    assert app_env(base, "k7mdq2xwhe4p", None)[TRUSTED_PROXY_ENV] == "1"
    assert "LECTURE_ADDRESS" not in app_env(base, "k7mdq2xwhe4p", None)
    assert base["LECTURE_KEY"] == "old-key-1"  # the caller's mapping is left alone


def test_the_key_comes_from_the_environment_when_given_and_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTURE_KEY", "given-key-42")
    assert Class(1, "127.0.0.1", 8501, 8601, log_dir=tmp_path).key == "given-key-42"
    monkeypatch.setenv("LECTURE_KEY", "short")
    from core.errors import InputError

    with pytest.raises(InputError, match="fewer than 8"):
        Class(1, "127.0.0.1", 8501, 8601, log_dir=tmp_path)


@pytest.mark.parametrize("public_host, port, address", [
    ("192.168.1.20", 8501, "http://192.168.1.20:8501"), ("lecture.example.edu", 80, "http://lecture.example.edu"),
    ("fe80::1", 9000, "http://[fe80::1]:9000"), (None, 8501, None)])
def test_the_address_students_type_is_built_from_public_host_and_port(tmp_path, monkeypatch, public_host, port,
                                                                      address):
    monkeypatch.delenv("LECTURE_ADDRESS", raising=False)
    assert Class(2, "0.0.0.0", port, 8601, public_host, log_dir=tmp_path).address == address


def test_the_console_names_the_address_and_the_key(tmp_path, monkeypatch):
    from deploy.serve_class import ready_lines

    monkeypatch.delenv("LECTURE_ADDRESS", raising=False)
    lecture = Class(2, "0.0.0.0", 8501, 8601, "192.168.1.20", log_dir=tmp_path, key="k7mdq2xwhe4p")
    lines = ready_lines(lecture, "0.0.0.0", 8501).splitlines()
    assert lines[0].startswith("2 app processes (ports [8601, 8602]") and "behind http://192.168.1.20:8501" in lines[0]
    assert lines[1:] == ["Students join at http://192.168.1.20:8501/class",
                         "Lecturer key: k7mdq2xwhe4p (type it into the presenter's Lecturer field)"]
    bare = ready_lines(Class(1, "0.0.0.0", 8501, 8601, log_dir=tmp_path, key="k7mdq2xwhe4p"), "0.0.0.0", 8501)
    assert "No --public-host" in bare and bare.endswith("Lecturer key: k7mdq2xwhe4p (type it into the presenter's "
                                                        "Lecturer field)")


@pytest.mark.parametrize("host", ["http://192.168.1.20", "192.168.1.20:8501", "a host", "lecture.edu/class"])
def test_a_bad_public_host_stops_the_class_before_anything_starts(host, monkeypatch):
    from deploy import serve_class

    monkeypatch.setattr(serve_class, "check_ports", lambda *a: pytest.fail("got past the host check"))
    with pytest.raises(SystemExit, match=r"error: public host .* give the host alone"):
        serve_class.main(["--public-host", host])
