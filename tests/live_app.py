"""A running copy of the app and a headless Chromium: shared by the browser tests and
`benchmarks/app_speed.py`.

The app runs as `streamlit run` on a free loopback port; Chromium is Debian's (never downloaded:
`playwright install` cannot work offline), launched with the flags that keep it off the network.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from deploy.serve_class import wait_healthy

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(script: Path, port: int, log_path: Path | None = None,
              extra_args: list[str] | tuple[str, ...] = ()) -> subprocess.Popen:
    """`streamlit run script` headless on 127.0.0.1:port, its output to log_path (or nowhere).

    The talk itself (streamlit_app.py) starts as `make app` starts it, behind the lecture gate
    (deploy/serve_app.py), so that every browser test also checks that the gate lets a real
    browser through. extra_args: more `streamlit run` options ("--theme.base", "dark", ...)."""
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    run = (["-m", "deploy.serve_app"] if Path(script).resolve() == REPO / "streamlit_app.py"
           else ["-m", "streamlit", "run", str(script)])
    try:
        return subprocess.Popen(
            [sys.executable, *run, "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.fileWatcherType", "none", *extra_args],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )
    finally:
        if log_path:
            log.close()  # the child keeps its own descriptor


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running_app(script: Path = REPO / "streamlit_app.py", log_path: Path | None = None):
    """A fresh server of `script`; yields its base URL once it is healthy, stops it afterwards."""
    port = free_port()
    proc = start_app(script, port, log_path)
    try:
        wait_healthy(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def chromium_path() -> str:
    """Debian's Chromium; a missing browser is an error naming the install command, never a skip."""
    path = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    if path is None:
        raise FileNotFoundError(f"Chromium not found at {CHROMIUM}: install it with `make browser` "
                                "(apt-get install chromium); the browser tests do not skip")
    return path


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


def wait_idle(page, timeout_s: float = 30.0, quiet_s: float = 0.5) -> None:
    """Wait until the app has finished its rerun: no "running" widget and no stale (faded) element
    for quiet_s seconds."""
    deadline = time.monotonic() + timeout_s
    busy = "[data-testid='stStatusWidget'], [data-stale='true']"
    quiet_since = None
    while time.monotonic() < deadline:
        if page.locator(busy).count() == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > quiet_s:
                return
        else:
            quiet_since = None
        time.sleep(0.05)
    raise TimeoutError(f"the app was still running after {timeout_s:.0f} s")
