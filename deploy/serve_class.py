"""Serve the lecture from several app processes behind one address (HAProxy, sticky sessions).

One `streamlit run` process answers every student from one Python interpreter: on a 2-core
machine it saturates one core (benchmarks/class_load.py). This starts `--processes` app
processes on loopback ports, and HAProxy (Debian's `haproxy` package) in front of them on
`--address`:`--port`, with the configuration in deploy/haproxy.cfg: round-robin for new students,
a cookie that keeps each student on their process, /_stcore/metrics refused.

    python -m deploy.serve_class --processes 2                    # http://127.0.0.1:8501
    python -m deploy.serve_class --processes 2 --address 0.0.0.0 --public-host 192.168.1.20

`--public-host` is the address students type: each app process is told it
(`--browser.serverAddress`), so none asks an outside server for this machine's IP, and gets
LECTURE_ADDRESS=http://<public host>:<port> (the join QR code on the slides, app/classroom/join.py).
The lecturer key is made once (LECTURE_KEY, if set, is kept), handed to every app process,
restarted ones included, and printed on this console (app/classroom/key.py). Each process
opens the title page once and fills its caches before HAProxy starts, so the first students
find them warm. Ctrl-C stops everything. The app processes only ever listen on 127.0.0.1.

Each app process starts through deploy/serve_app.py (the gate in front of Streamlit, a raised
open-files limit). If one dies, the others keep serving (HAProxy sends its students to them), this
console says so, and the process is started again; HAProxy takes it back once it answers its
health check. Before anything starts, every port is checked: one already taken is named.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from app.classroom.join import (
    ADDRESS_ENV,
    CLASS_PATH,
    PUBLIC_HOST_ENV,
    check_address,
    check_public_host,
    public_address,
)
from app.classroom.key import LECTURE_KEY_ENV, check_key, key_line, make_key
from core.errors import InputError
from deploy.gate import TRUSTED_PROXY_ENV

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("haproxy.cfg")


def haproxy_config(bind: str, ports: list[int]) -> str:
    """deploy/haproxy.cfg with its placeholders filled: the frontend's bind and one line per process."""
    servers = "\n".join(f"    server app{i} 127.0.0.1:{port} check cookie app{i}" for i, port in enumerate(ports, 1))
    return TEMPLATE.read_text().replace("{bind}", bind).replace("{servers}", servers)


def app_command(port: int, public_host: str | None) -> list[str]:
    """One app process on 127.0.0.1:port, behind the gate (deploy/serve_app.py)."""
    cmd = [sys.executable, "-m", "deploy.serve_app", "--server.port", str(port), "--server.address", "127.0.0.1"]
    if public_host:
        cmd += ["--browser.serverAddress", public_host]
    return cmd


def app_env(base: Mapping[str, str], key: str, address: str | None, trusted_proxy: bool = True) -> dict[str, str]:
    """One app process's environment: `base` (this process's) with the lecture's key (LECTURE_KEY),
    the address students type (LECTURE_ADDRESS, when known) and, when
    `trusted_proxy`, the gate's flag that its clients come through HAProxy. PUBLIC_HOST is dropped:
    it names the class's port, and deploy/serve_app.py would pair it with the process's own."""
    env = {k: v for k, v in base.items() if k not in (TRUSTED_PROXY_ENV, PUBLIC_HOST_ENV)}
    if trusted_proxy:
        env[TRUSTED_PROXY_ENV] = "1"
    env[LECTURE_KEY_ENV] = key
    if address:
        env[ADDRESS_ENV] = address
    return env


def class_key(environ: Mapping[str, str]) -> str:
    """The lecture's key: LECTURE_KEY when set (checked: app/classroom/key.py), else a new one."""
    given = environ.get(LECTURE_KEY_ENV)
    return check_key(given) if given else make_key()


def port_taken(port: int, address: str = "127.0.0.1") -> bool:
    """True if something already listens on address:port (or it cannot be bound)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is not "taken"
        try:
            s.bind((address, port))
        except OSError:
            return True
    return False


def check_ports(address: str, port: int, app_ports: list[int]) -> None:
    """Refuse to start, naming the port, when the class's port is among the app processes' ports or
    any of them is already taken."""
    if port in app_ports:
        raise SystemExit(f"error: port {port} is both the class's port and an app process's port "
                         f"({app_ports[0]}-{app_ports[-1]}): choose another --port (PORT=...) or "
                         f"--first-app-port")
    if port_taken(port, "0.0.0.0" if address in ("0.0.0.0", "::") else address):
        raise SystemExit(f"error: port {port} on {address} is already taken by another program "
                         f"(`ss -ltnp 'sport = :{port}'` shows which): choose another --port (PORT=...)")
    for app_port in app_ports:
        if port_taken(app_port):
            raise SystemExit(f"error: port {app_port} on 127.0.0.1, for an app process, is already taken "
                             f"(`ss -ltnp 'sport = :{app_port}'` shows which): choose another --first-app-port")


def wait_healthy(port: int, proc: subprocess.Popen | None = None, timeout: float = 90.0,
                 poll: float = 0.2) -> None:
    """Poll /_stcore/health on 127.0.0.1:port until it answers 200.

    Fails at once if `proc` (the server, when the caller started it) exits, and after `timeout` s.
    """
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the app process on port {port} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(poll)
    raise TimeoutError(f"the app process on port {port} did not answer /_stcore/health in {timeout:.0f} s")


def open_first_page(port: int, timeout: float = 120.0) -> None:
    """Run the title page once over the websocket, as a browser would: it starts the process's
    cache warm-up (app/warmup.py)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                 origin=f"http://127.0.0.1:{port}", open_timeout=timeout, max_size=None) as ws:
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        ws.send(msg.SerializeToString())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fwd = ForwardMsg()
            fwd.ParseFromString(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if fwd.WhichOneof("type") == "script_finished":
                return


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def wait_quiet(pids: list[int], busy_below: float = 0.1, window: float = 1.0, timeout: float = 120.0) -> float:
    """Wait until the processes together use less than `busy_below` of a core over `window` seconds
    (their warm-up is done); returns the seconds waited (at most `timeout`)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        before = sum(cpu_seconds(p) for p in pids)
        time.sleep(window)
        if sum(cpu_seconds(p) for p in pids) - before < busy_below * window:
            break
    return time.monotonic() - start


class Class:
    """The running processes: `start()`, then `stop()` (also on an exception)."""

    def __init__(self, processes: int, address: str, port: int, first_app_port: int,
                 public_host: str | None = None, haproxy: str = "haproxy", log_dir: Path | None = None,
                 warm: bool = True, key: str | None = None):
        self.ports = [first_app_port + i for i in range(processes)]
        self.bind = f"{address}:{port}"
        self.public_host = public_host
        # What students type, and the key every process (a restarted one too) checks the lecturer's against.
        given = os.environ.get(ADDRESS_ENV, "").strip()
        self.address = public_address(public_host, port) if public_host else (check_address(given) if given else None)
        self.key = key or class_key(os.environ)
        self.haproxy = shutil.which(haproxy) or haproxy
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="lecture-"))
        self.apps: list[subprocess.Popen] = []
        self.proxy: subprocess.Popen | None = None
        self.warm = warm
        self.warm_s = 0.0
        self.restarts: list[tuple[float, int]] = []  # (when, port) of every restart

    def _start_app(self, port: int, trusted_proxy: bool = True) -> subprocess.Popen:
        """One app process; trusted_proxy: its clients come through HAProxy (X-Forwarded-For names them)."""
        with open(self.log_dir / f"app-{port}.log", "a") as log:  # the child keeps its own descriptor
            env = app_env(os.environ, self.key, self.address, trusted_proxy)
            return subprocess.Popen(app_command(port, self.public_host), cwd=REPO, stdout=log,
                                    stderr=subprocess.STDOUT, env=env)

    def start(self) -> None:
        if not Path(self.haproxy).is_file():
            raise SystemExit("error: haproxy not found: install it (apt-get install haproxy), or run one "
                             "process with `make app`")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for port in self.ports:
            self.apps.append(self._start_app(port))
        for port, proc in zip(self.ports, self.apps):
            wait_healthy(port, proc)
        if self.warm:  # every process fills its caches before the first student arrives
            for port in self.ports:
                open_first_page(port)
            self.warm_s = wait_quiet(self.pids)
        cfg = self.log_dir / "haproxy.cfg"
        cfg.write_text(haproxy_config(self.bind, self.ports))
        check = subprocess.run([self.haproxy, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True)
        if check.returncode != 0:
            raise SystemExit(f"error: haproxy rejected {cfg}: {check.stderr.strip()}")
        self._start_proxy()

    def _start_proxy(self) -> None:
        with open(self.log_dir / "haproxy.log", "a") as log:
            self.proxy = subprocess.Popen([self.haproxy, "-db", "-f", str(self.log_dir / "haproxy.cfg")],
                                          stdout=log, stderr=subprocess.STDOUT)

    def supervise(self, say=print, max_restarts: int = 5, window_s: float = 60.0) -> str | None:
        """One look at the processes: start again any that exited, saying so through `say`.

        Returns a reason to stop when one keeps dying (more than `max_restarts` restarts within
        `window_s` seconds of the same port: a broken install, not a crash), else None."""
        now = time.monotonic()
        for i, (port, proc) in enumerate(zip(self.ports, self.apps)):
            code = proc.poll()
            if code is None:
                continue
            recent = [t for t, p in self.restarts if p == port and now - t < window_s]
            if len(recent) >= max_restarts:
                return (f"the app process on port {port} exited {len(recent) + 1} times within "
                        f"{window_s:.0f} s (last exit code {code}); see {self.log_dir / f'app-{port}.log'}")
            live = sum(p.poll() is None for p in self.apps)
            say(f"warning: the app process on port {port} exited ({exit_reason(code)}); its students "
                f"move to the other {live} process{'es' if live != 1 else ''}; starting it again")
            self.restarts.append((now, port))
            self.apps[i] = self._start_app(port)
        if self.proxy is not None and self.proxy.poll() is not None:
            code = self.proxy.poll()
            recent = [t for t, p in self.restarts if p == 0 and now - t < window_s]
            if len(recent) >= max_restarts:
                return f"HAProxy exited {len(recent) + 1} times within {window_s:.0f} s; see {self.log_dir / 'haproxy.log'}"
            say(f"warning: HAProxy exited ({exit_reason(code)}); every student reconnects; starting it again")
            self.restarts.append((now, 0))
            self._start_proxy()
        return None

    @property
    def pids(self) -> list[int]:
        """The app processes' ids (a restarted process has a new one)."""
        return [p.pid for p in self.apps]

    def stop(self) -> None:
        for proc in [self.proxy, *self.apps]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in [self.proxy, *self.apps]:
            if proc is not None:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def ready_lines(lecture: Class, address: str, port: int) -> str:
    """What the console says once the class is served: where, where students join, the lecturer key."""
    host = check_public_host(lecture.public_host) if lecture.public_host else (
        "127.0.0.1" if address in ("0.0.0.0", "::") else address)
    lines = [f"{len(lecture.ports)} app processes (ports {lecture.ports}, caches warmed in {lecture.warm_s:.0f} s) "
             f"behind http://{host}:{port}; logs in {lecture.log_dir}. Ctrl-C stops them."]
    if lecture.address:
        lines.append(f"Students join at {lecture.address}/{CLASS_PATH}")
    else:
        lines.append("No --public-host (PUBLIC_HOST=...): the slides show how to set the address students type")
    lines.append(key_line(lecture.key))
    return "\n".join(lines)


def exit_reason(code: int) -> str:
    """'exit code 1', or 'killed by SIGKILL' for a negative Popen return code."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.serve_class", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--processes", type=int, default=2, help="app processes (default 2: one per core of a 2-core machine)")
    p.add_argument("--address", default="127.0.0.1", help="where students connect (default 127.0.0.1; 0.0.0.0: every network)")
    p.add_argument("--port", type=int, default=8501, help="the one port students use (default 8501)")
    p.add_argument("--first-app-port", type=int, default=8601, help="loopback port of the first app process (default 8601)")
    p.add_argument("--public-host", default=None, help="the address students type, e.g. 192.168.1.20")
    args = p.parse_args(argv)
    if not 1 <= args.processes <= 16:
        raise SystemExit("error: --processes must be from 1 to 16")
    try:
        lecture = Class(args.processes, args.address, args.port, args.first_app_port, args.public_host)
    except InputError as exc:
        raise SystemExit(f"error: {exc}") from None
    check_ports(args.address, args.port, lecture.ports)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        lecture.start()
        print(ready_lines(lecture, args.address, args.port), flush=True)
        while True:
            time.sleep(1)
            stop = lecture.supervise(say=lambda line: print(line, file=sys.stderr, flush=True))
            if stop:
                print(f"error: {stop}; stopping the others", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        return 0
    finally:
        lecture.stop()


if __name__ == "__main__":
    sys.exit(main())
