"""deploy/serve_class.py: several app processes behind HAProxy with sticky sessions, driven by the
load benchmark's simulated students (loopback only)."""

from __future__ import annotations

import shutil
import subprocess
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest

from benchmarks import class_load
from deploy.serve_class import Class, haproxy_config, wait_healthy
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
