"""A hostile student against a running lecture, while 30 honest students use it: what the server did.

The honest students are benchmarks/class_load.py's (each moves an eps slider about once a second on
the MNIST and draw pages). After a ramp, one hostile client makes the attacks of the hardening issue
one after another, each from the same address as the class (loopback), as a script would:

    uploads        four 100 MB PUTs to /_stcore/upload_file with a forged xsrf cookie and header
    git flood      1000 `load_git_info` messages on one websocket
    metrics        /_stcore/metrics under ten spellings (%6d, %5f, case, slashes, dot segments, double encoding)
    queue          35 live-training submits from one session, each with other settings
    pgd drag       300 eps changes of the draw page under PGD, sent without waiting for answers
    kill -9        one app process killed (with --processes 2 on a fresh deployment only)
    sessions       250 websocket sessions opened as fast as it can (last: it spends the address's
                   allowance of new sessions for a minute)

For each it prints what the server answered and the app processes' memory (RSS) before and after;
then the honest students' table (class_load's), whose "mnist eps" / "draw eps" p95 is the figure
to compare with a run without the hostile client (`python -m benchmarks.class_load`).

    python -m benchmarks.abuse                          # fresh: 2 app processes behind HAProxy
    python -m benchmarks.abuse --processes 1            # fresh: one app process, as `make app` runs it
    python -m benchmarks.abuse --url http://127.0.0.1:8501 --pid 1234 1235

Loopback only. Timings on a shared machine are noisy: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import class_load  # noqa: E402

METRICS_SPELLINGS = ("/_stcore/metrics", "/_stcore/%6detrics", "/%5fstcore/metrics", "/_STCORE/Metrics",
                     "//_stcore//metrics", "/_stcore/%256detrics", "/_stcore/./metrics",
                     "/_stcore/x/../metrics", "/_stcore/%2e/metrics")


def rss_mb(pids: list[int]) -> float:
    return class_load._proc_sample(pids)[1]


async def http_status(base: str, method: str, path: str, body: bytes = b"", headers: dict | None = None,
                      timeout: float = 60.0) -> tuple[int, int]:
    """(status, body bytes) of one request on a new connection; status 0: closed before an answer."""
    parts = urllib.parse.urlsplit(base)
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port), timeout)
    except OSError:
        return 0, 0
    head = f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    try:
        writer.write(head.encode())
        for i in range(0, len(body), 1 << 20):  # as a client streams it
            writer.write(body[i:i + (1 << 20)])
            await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout)
        rest = await asyncio.wait_for(reader.read(), timeout)
        return int(status_line.split()[1]), len(rest)
    except (OSError, IndexError, ValueError, TimeoutError):
        return 0, 0
    finally:
        writer.close()


class Hostile(class_load.Student):
    """A scripted client: class_load's protocol, none of a browser's manners."""

    async def session_id(self) -> str:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.CopyFrom(self._client_state(""))
        await self.ws.send(msg.SerializeToString())
        sid = ""
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await asyncio.wait_for(self.ws.recv(), 60))
            if fwd.WhichOneof("type") == "new_session":
                sid = fwd.new_session.initialize.session_id
            if fwd.WhichOneof("type") == "script_finished":
                return sid


async def attack_uploads(base: str, hostile: Hostile) -> str:
    sid = await hostile.session_id()
    token = "2|deadbeef|" + "00" * 16 + "|1700000000"
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n").encode() + \
        os.urandom(100 << 20) + f"\r\n--{boundary}--\r\n".encode()
    headers = {"X-Xsrftoken": token, "Cookie": f"_streamlit_xsrf={token}; {hostile.http.cookie_header()}",
               "Content-Type": f"multipart/form-data; boundary={boundary}"}
    t0 = time.perf_counter()
    codes = [(await http_status(base, "PUT", f"/_stcore/upload_file/{sid}/f{i}", body, headers))[0] for i in range(4)]
    return f"4 x 100 MB PUTs in {time.perf_counter() - t0:.1f} s: statuses {codes} (0: refused, closed before the body)"


async def attack_git_flood(base: str, hostile: Hostile) -> str:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    await hostile.session_id()
    msg = BackMsg()
    msg.load_git_info = True
    data = msg.SerializeToString()
    t0 = time.perf_counter()
    sent = 0
    try:
        for _ in range(1000):
            await asyncio.wait_for(hostile.ws.send(data), 5)
            sent += 1
    except Exception:  # TimeoutError: the server reads this socket at its own pace; or it closed it
        pass
    return (f"{sent} of 1000 load_git_info messages written in {time.perf_counter() - t0:.1f} s "
            "(the server reads a flooder's socket at its own pace and drops these)")


async def attack_metrics(base: str, hostile: Hostile) -> str:
    results = [(path, *(await http_status(base, "GET", path))) for path in METRICS_SPELLINGS]
    return "; ".join(f"{path} -> {code} ({size} B)" for path, code, size in results)


async def attack_sessions(base: str, hostile: Hostile, count: int = 250) -> str:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    host = urllib.parse.urlsplit(base).netloc
    opened, refused = [], {}
    t0 = time.perf_counter()
    for _ in range(count):
        try:
            opened.append(await connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"], origin=base,
                                        open_timeout=30, ping_interval=None))
        except InvalidStatus as e:
            refused[e.response.status_code] = refused.get(e.response.status_code, 0) + 1
        except (OSError, TimeoutError) as e:
            refused[type(e).__name__] = refused.get(type(e).__name__, 0) + 1
    took = time.perf_counter() - t0
    for ws in opened:
        await ws.close()
    return f"{count} sessions in {took:.1f} s: {len(opened)} opened, refused {refused or 'none'}"


async def attack_queue(base: str, hostile: Hostile, submits: int = 35) -> str:
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    await hostile.open("")  # the title page first: the server's answer names the pages
    answer = await hostile.open("random_data")
    if answer is None:
        return "the Random-data page did not open"
    slider_id, _ = class_load.find_widget(answer, "random_live_n")
    button_id = next((wid for wid in answer.buttons if wid.endswith("-random_run")), None)
    if slider_id is None or button_id is None:
        return f"no live-training controls found (slider {slider_id}, button {button_id})"
    accepted = refused_one = refused_full = 0
    for i in range(submits):
        n = WidgetState(id=slider_id)
        n.double_array_value.data.append(100 + 50 * (i % 9))
        press = WidgetState(id=button_id, trigger_value=True)
        new = await hostile.run_script("queue", hostile._client_state("random_data", widgets=[n, press]))
        text = new.content if new is not None else b""
        if b"one run each" in text:
            refused_one += 1
        elif b"already waiting" in text:
            refused_full += 1
        else:
            accepted += 1
    return (f"{submits} submits from one session: {accepted} accepted, {refused_one} refused (one run each), "
            f"{refused_full} refused (queue full)")


async def attack_pgd_drag(base: str, hostile: Hostile, moves: int = 300, listen_s: float = 20.0) -> str:
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    await hostile.open("")
    hostile.query = {"draw_source": "Pick a test digit", "draw_attack": "PGD"}
    answer = await hostile.open("draw")
    wid, _ = class_load.find_widget(answer, "draw_eps") if answer else (None, None)
    if wid is None:
        return "no eps slider on the draw page"
    fragment = answer.fragments.get(wid, "")
    rng = random.Random(0)
    t0 = time.perf_counter()
    for _ in range(moves):
        state = WidgetState(id=wid)
        state.double_array_value.data.append(round(0.0025 * rng.randint(1, 120), 4))
        msg = BackMsg()
        msg.rerun_script.CopyFrom(hostile._client_state("draw", fragment, [state]))
        await hostile.ws.send(msg.SerializeToString())
    finished = 0
    deadline = time.perf_counter() + listen_s
    while time.perf_counter() < deadline:
        try:
            raw = await asyncio.wait_for(hostile.ws.recv(), max(0.05, deadline - time.perf_counter()))
        except Exception:  # TimeoutError, or the socket closed: the listening ends
            break
        fwd = ForwardMsg()
        fwd.ParseFromString(raw)
        finished += fwd.WhichOneof("type") == "script_finished"
    return (f"{moves} PGD eps changes sent in {time.perf_counter() - t0 - listen_s:.1f} s; "
            f"{finished} runs answered in the next {listen_s:.0f} s (the socket is read at its own pace)")


# The session flood comes last: it spends the class address's allowance of new sessions for a
# minute (students already connected carry on; a reload from that address waits).
ATTACKS = (("uploads", attack_uploads), ("git flood", attack_git_flood), ("metrics", attack_metrics),
           ("queue", attack_queue), ("pgd drag", attack_pgd_drag))


async def run(base: str, pids_of, args, lecture=None) -> dict:
    stats = class_load.Stats()
    rows: list = []
    done = asyncio.Event()
    sampler = asyncio.create_task(class_load.sample_server(pids_of(), 1.0, done, rows))
    honest_args = class_load.build_parser().parse_args(
        ["--students", str(args.students), "--duration", str(args.duration), "--ramp", "5", "--timeout", "60"])
    t0 = time.perf_counter()
    deadline = t0 + args.duration
    students = [class_load.Student(i, base, honest_args, stats) for i in range(args.students)]
    honest = asyncio.gather(*(s.lecture(deadline) for s in students), return_exceptions=True)
    await asyncio.sleep(args.ramp)
    lines = []

    async def hostile_attack(name, attack):
        hostile = Hostile(10_000 + len(lines), base, honest_args, class_load.Stats())
        before = rss_mb(pids_of())
        t = time.perf_counter()
        try:
            await hostile.connect()
            what = await asyncio.wait_for(attack(base, hostile), 180)
        except Exception as exc:  # a benchmark reports, it does not stop
            what = f"the attack itself failed: {type(exc).__name__}: {exc}"
        await asyncio.sleep(2.0)
        lines.append((name, what, before, rss_mb(pids_of()), time.perf_counter() - t))
        hostile.http.close()
        if hostile.ws is not None:
            try:
                await asyncio.wait_for(hostile.ws.close(), 10)
            except Exception:  # a socket the server closed, or one still backed up: gone either way
                pass

    for name, attack in ATTACKS:
        await hostile_attack(name, attack)
    if lecture is not None and len(lecture.apps) > 1:
        before = rss_mb(pids_of())
        victim = lecture.apps[0]
        victim.kill()
        said: list[str] = []
        stop = threading.Event()

        def supervise():
            while not stop.is_set():
                lecture.supervise(say=said.append)
                time.sleep(0.5)

        watcher = threading.Thread(target=supervise, daemon=True)
        watcher.start()
        args._stop_supervisor = stop
        await asyncio.sleep(20)
        lines.append(("kill -9", f"killed pid {victim.pid}; the console said: {' / '.join(said) or 'nothing'}",
                      before, rss_mb(pids_of()), 20.0))
    await hostile_attack("sessions", attack_sessions)
    results = await honest
    for r in results:
        if isinstance(r, BaseException):
            stats.error("student", f"{type(r).__name__}: {r}")
    done.set()
    await sampler
    print(f"\nThe hostile client (from the class's own address), {len(lines)} attacks:")
    for name, what, before, after, took in lines:
        print(f"  {name:<11} {what}\n  {'':<11} app RSS {before:.0f} -> {after:.0f} MB ({took:.0f} s)")
    summary = class_load.report(stats, rows, honest_args, time.perf_counter() - t0)
    summary["attacks"] = [{"name": n, "what": w, "rss_before": b, "rss_after": a} for n, w, b, a, _ in lines]
    return summary


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.abuse", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--students", type=int, default=30, help="honest students (default 30)")
    p.add_argument("--duration", type=float, default=150.0, help="seconds the honest students work (default 150)")
    p.add_argument("--ramp", type=float, default=15.0, help="seconds before the first attack (default 15)")
    p.add_argument("--processes", type=int, default=2, help="fresh app processes (default 2: behind HAProxy)")
    p.add_argument("--url", default=None, help="a running deployment (loopback only) instead of a fresh one")
    p.add_argument("--pid", type=int, nargs="*", default=[], help="its app processes' ids (with --url)")
    args = p.parse_args(argv)
    if args.students < 1 or not 0 < args.duration < 1e5 or args.processes < 1:
        raise SystemExit("error: --students and --processes must be >= 1, --duration positive")
    if args.url:
        return class_load.run_async(run(class_load.check_loopback(args.url), lambda: args.pid, args))
    from deploy.serve_class import Class
    from tests.live_app import free_port, wait_healthy

    ports = [free_port() for _ in range(args.processes + 1)]
    lecture = Class(args.processes, "127.0.0.1", ports[0], 0)
    lecture.ports = ports[1:]
    try:
        if args.processes == 1:  # `make app`'s way: the one process itself, no proxy
            lecture.log_dir.mkdir(parents=True, exist_ok=True)
            lecture.apps.append(lecture._start_app(ports[1], trusted_proxy=False))
            wait_healthy(ports[1], lecture.apps[0])
            base = f"http://127.0.0.1:{ports[1]}"
        else:
            lecture.start()
            wait_healthy(ports[0], lecture.proxy)
            base = f"http://127.0.0.1:{ports[0]}"
        print(f"{args.processes} fresh app process(es) (pids {lecture.pids}) at {base}")
        return class_load.run_async(run(base, lambda: lecture.pids, args, lecture))
    finally:
        stop = getattr(args, "_stop_supervisor", None)
        if stop is not None:
            stop.set()
        lecture.stop()


if __name__ == "__main__":
    main()
