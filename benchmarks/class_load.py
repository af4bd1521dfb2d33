"""A class on one server: N simulated students speaking Streamlit's websocket protocol (no browsers).

Each student connects as a browser does (`/_stcore/stream`, subprotocol `streamlit`, Streamlit's own
`BackMsg` / `ForwardMsg` protobufs), opens every page of the talk in order, then, until the time is
up, alternates between the MNIST page and the draw page: it opens the page (a shared link with a
random digit set / a random shipped test digit), moves the page's eps slider a few times about once
a second (a fragment rerun, as the browser sends it), and on the draw page picks another test digit.
Images are fetched over HTTP as a browser fetches them (`/media/...`); the app's digit images
come inline, as PNG data URLs, and are counted and checked as such.

Printed: p50 / p95 / max latency per kind of action (request sent -> the run's `script_finished`),
errors (an exception or `st.error` on the page, a failed run, a timeout), wrong content (an eps
change whose answer does not show the new eps, a page without its title), disconnects, images
fetched, the server's CPU (cores) and memory (RSS) over time, and its CPU per interaction (CPU seconds
of the app processes over the script and fragment runs the students asked for).

With --share F (default 0.1) a share F of each student's actions sends a drawing to the class
board or votes in the open poll, and a projector shows the board slide (benchmarks/class_board.py):
board submissions and votes are timed as actions, the projector's refreshes and the students' poll
refreshes apart (with their own CPU cost), and each drawing's way to the projector (sent -> shown,
sent -> shown measured). --share 0 plays the class without them.

    python -m benchmarks.class_load --students 30 --duration 120             # a fresh server
    python -m benchmarks.class_load --students 30 --duration 120 --processes 2   # behind HAProxy
    python -m benchmarks.class_load --students 5 --rate 1 --url http://127.0.0.1:8501 --pid 1234

Loopback only (the URL must be 127.0.0.1, ::1 or localhost). Every loop is bounded in count
(--max-actions per student) and in time (--duration, --timeout per request). Timings on a shared
machine are noisy: report the load average printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import statistics
import sys
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

# Each page's title: a page open must show it.
TITLES = {
    "": "Does overparameterization make neural networks robust",
    "recap": "Recap: why size could buy robustness",
    "random_data": "Random data:",
    "mnist": "MNIST: 120k against 3M parameters",
    "draw": "Draw a digit and attack it",
    "class": "The class: polls and the board",
    "references": "References",
}
TALK_ORDER = ("", "recap", "random_data", "mnist", "draw", "class", "references")
REFRESH_KINDS = ("board refresh", "poll refresh", "projector open")
DIGIT_SETS = 999  # the MNIST gallery's "digit set" range


def digit_shown(option: str) -> str:
    """The text a new test digit must bring back: the draw page's caption of the picked digit."""
    return f"test digit #{option},"


def eps_shown(kind: str, eps: float) -> str:
    """The text an eps change must bring back: what the page prints for that eps."""
    if kind == "mnist eps":
        return f"at eps = {eps:.3f}:"  # the gallery's summary line
    return f"+{eps:.4f} brighter"  # the draw page's colour-bar caption, per model


@dataclass
class Stats:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    media: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    wrong: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    disconnects: int = 0
    images: int = 0
    image_errors: int = 0
    inline_images: int = 0  # sent inside the answer as data: URLs (app.images.png_url): nothing to fetch
    runs: int = 0  # script and fragment runs the students asked for (page opens, widget changes), sent
    # Runs that are updates, not interactions: the projector's board refreshes, a student's poll
    # refreshes (benchmarks/class_board.py); reported apart, with their own CPU cost.
    refreshes: Counter = field(default_factory=Counter)

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        self.examples.setdefault(f"error {kind}", what[:300])

    def wrong_content(self, kind: str, what: str) -> None:
        self.wrong[kind] += 1
        self.examples.setdefault(f"wrong {kind}", what[:300])


@dataclass
class Answer:
    """What one run sent back."""

    status: str = ""
    content: bytes = b""  # every element's serialized bytes: the texts are in there as UTF-8
    widgets: dict[str, object] = field(default_factory=dict)  # widget id -> element (slider, selectbox)
    fragments: dict[str, str] = field(default_factory=dict)  # widget id -> fragment id
    media: list[str] = field(default_factory=list)
    inline: int = 0  # images sent as data: URLs
    problems: list[str] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)  # url pathname -> page script hash
    buttons: list[str] = field(default_factory=list)  # button widget ids (benchmarks/abuse.py presses one)
    canvas: list[str] = field(default_factory=list)  # custom components' widget ids (the drawing canvas)
    fragment_ids: list[str] = field(default_factory=list)  # the fragments this run drew elements in


def _walk(msg, answer: Answer) -> None:
    from streamlit.proto.Alert_pb2 import Alert

    which = msg.WhichOneof("type")
    if which == "navigation":
        for page in msg.navigation.app_pages:
            answer.pages[page.url_pathname] = page.page_script_hash
    elif which == "script_finished":
        answer.status = msg.ScriptFinishedStatus.Name(msg.script_finished)
    elif which == "delta" and msg.delta.WhichOneof("type") == "new_element":
        el = msg.delta.new_element
        kind = el.WhichOneof("type")
        answer.content += el.SerializeToString()
        if msg.delta.fragment_id and msg.delta.fragment_id not in answer.fragment_ids:
            answer.fragment_ids.append(msg.delta.fragment_id)
        if kind in ("component_instance", "bidi_component") and getattr(el, kind).id:
            answer.canvas.append(getattr(el, kind).id)
        if kind == "exception":
            answer.problems.append(f"exception: {el.exception.type}: {el.exception.message}")
        elif kind == "alert" and el.alert.format == Alert.ERROR:
            answer.problems.append(f"st.error: {el.alert.body}")
        elif kind == "imgs":
            answer.media += [img.url for img in el.imgs.imgs if img.url.startswith("/media/")]
            for img in el.imgs.imgs:
                if img.url.startswith("data:"):
                    answer.inline += 1
                    if not img.url.startswith("data:image/png;base64,iVBORw0KGgo"):  # a PNG's signature
                        answer.problems.append(f"an inline image that is not a PNG: {img.url[:40]}")
        elif kind == "button":
            answer.buttons.append(el.button.id)
        elif kind in ("slider", "selectbox", "number_input", "radio"):
            widget = getattr(el, kind)
            answer.widgets[widget.id] = widget
            if msg.delta.fragment_id:
                answer.fragments[widget.id] = msg.delta.fragment_id


def find_widget(answer: Answer, key: str):
    """(widget id, element) of the keyed widget `key` in a run's answer, or (None, None)."""
    for wid, widget in answer.widgets.items():
        if wid.endswith(f"-{key}"):
            return wid, widget
    return None, None


class Student:
    """One simulated browser tab."""

    def __init__(self, number: int, base: str, args: argparse.Namespace, stats: Stats):
        self.n = number
        self.base = base
        self.args = args
        self.stats = stats
        self.http = MediaClient(base, args.timeout)
        self.fetched: set[str] = set()  # a browser's cache: an image URL is fetched once
        self.rng = random.Random(args.seed * 1000 + number)
        self.ws = None
        self.pages: dict[str, str] = {}
        self.page = ""
        self.query: dict[str, str] = {}
        self.actions = 0
        self.digit_options: list[str] = []

    # --- protocol ---------------------------------------------------------------------------

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        host = urllib.parse.urlsplit(self.base).netloc
        if not self.http.cookies:  # a browser loads the page first: a sticky proxy's cookie comes with it
            await self.http.fetch("/")
        headers = {"Cookie": self.http.cookie_header()} if self.http.cookies else None
        self.ws = await connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"],
                                origin=self.base, max_size=None, open_timeout=self.args.timeout,
                                ping_interval=None, additional_headers=headers)

    def _client_state(self, page: str, fragment: str = "", widgets=()):
        from streamlit.proto.ClientState_pb2 import ClientState

        query = urllib.parse.urlencode(self.query)
        state = ClientState(query_string=query, page_script_hash=self.pages.get(page, ""),
                            page_name=page if page in self.pages else "", fragment_id=fragment)
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        state.context_info.url = f"{self.base}/{page}" + (f"?{query}" if query else "")
        state.context_info.color_scheme = "light"
        for w in widgets:
            state.widget_states.widgets.append(w)
        return state

    async def run_script(self, kind: str, state) -> Answer | None:
        """Send one rerun; read until its run finishes. Records latency, errors, disconnects."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from websockets.exceptions import ConnectionClosed

        msg = BackMsg()
        msg.rerun_script.CopyFrom(state)
        answer = Answer()
        t0 = time.perf_counter()
        deadline = t0 + self.args.timeout
        try:
            await self.ws.send(msg.SerializeToString())
            if kind in REFRESH_KINDS:
                self.stats.refreshes[kind] += 1
            else:
                self.stats.runs += 1
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError
                raw = await asyncio.wait_for(self.ws.recv(), timeout=left)
                fwd = ForwardMsg()
                fwd.ParseFromString(raw)
                _walk(fwd, answer)
                if answer.status in ("FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY",
                                     "FINISHED_WITH_COMPILE_ERROR"):
                    break
        except TimeoutError:
            self.stats.error(kind, f"no answer within {self.args.timeout:.0f} s")
            return None
        except ConnectionClosed as exc:
            self.stats.disconnects += 1
            self.stats.examples.setdefault("disconnect", repr(exc)[:300])
            await self.reconnect()
            return None
        self.stats.latency[kind].append(time.perf_counter() - t0)
        self.pages.update(answer.pages)
        if answer.status == "FINISHED_WITH_COMPILE_ERROR":
            self.stats.error(kind, "the script failed to compile")
        for problem in answer.problems:
            self.stats.error(kind, problem)
        self.stats.inline_images += answer.inline
        new_media = [u for u in dict.fromkeys(answer.media) if u not in self.fetched]
        if new_media and not self.args.no_media:
            self.fetched.update(new_media)
            await self.fetch_media(new_media)
        return answer

    async def fetch_media(self, urls: list[str]) -> None:
        t0 = time.perf_counter()
        codes = await asyncio.gather(*(self.http.fetch(u) for u in urls))
        self.stats.media.append(time.perf_counter() - t0)
        self.stats.images += len(codes)
        self.stats.image_errors += sum(code != 200 for code in codes)
        for code in codes:
            if code != 200:
                self.stats.examples.setdefault("image", f"HTTP status {code or 'none (timeout or reset)'}")

    async def reconnect(self) -> None:
        with contextlib.suppress(Exception):  # the old socket may already be gone
            await self.ws.close()
        await self.connect()
        await self.open(self.page or "", "reconnect")

    # --- what a student does ------------------------------------------------------------------

    async def open(self, page: str, kind: str | None = None) -> Answer | None:
        self.page = page
        answer = await self.run_script(kind or f"open {page or 'home'}", self._client_state(page))
        if answer is not None and TITLES[page].encode() not in answer.content:
            self.stats.wrong_content(kind or f"open {page or 'home'}", f"page {page!r} without its title")
        return answer

    async def move_eps(self, answer: Answer, key: str, kind: str, step: float, top: float) -> Answer | None:
        """Move the slider `key` to another value on its grid, as a fragment rerun."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        wid, slider = find_widget(answer, key)
        if wid is None:
            self.stats.wrong_content(kind, f"no slider {key} on the page")
            return None
        current = float(slider.value[0]) if slider.value else float(slider.default[0])
        eps = current
        while abs(eps - current) < step / 2:
            eps = round(step * self.rng.randint(0, int(round(top / step))), 6)
        state = WidgetState(id=wid)
        state.double_array_value.data.append(eps)
        self.query[key] = f"{eps:g}"
        new = await self.run_script(kind, self._client_state(self.page, answer.fragments.get(wid, ""), [state]))
        if new is not None:
            if eps_shown(kind, eps).encode() not in new.content:
                self.stats.wrong_content(kind, f"moved {key} to {eps}, the answer does not show it")
            slider.value[:] = [eps]
            answer.content = new.content
        return new

    async def pick_digit(self, answer: Answer) -> Answer | None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        wid, box = find_widget(answer, "draw_pick")
        if wid is None:
            self.stats.wrong_content("new digit", "no test-digit picker on the draw page")
            return None
        pick = self.rng.randrange(len(box.options))
        self.query["draw_pick"] = box.options[pick]
        new = await self.run_script("new digit", self._client_state(
            "draw", widgets=[WidgetState(id=wid, string_value=box.options[pick])]))
        if new is not None and digit_shown(box.options[pick]).encode() not in new.content:
            self.stats.wrong_content("new digit", f"picked {box.options[pick]!r}, not shown")
        return new

    def remember_digits(self, answer: Answer | None) -> None:
        """The draw page's test-digit options, for deep links to a random shipped digit."""
        if answer is not None and not self.digit_options:
            _, box = find_widget(answer, "draw_pick")
            self.digit_options = list(box.options) if box is not None else []

    async def pause(self, since: float) -> None:
        """Think time: about 1/rate seconds from the start of the last action to the next."""
        interval = self.rng.uniform(0.5, 1.5) / self.args.rate
        await asyncio.sleep(max(0.0, since + interval - time.perf_counter()))

    async def class_action(self) -> bool:
        """With probability --share, a board or poll action (half each) instead of the next move;
        True if one was done (the student is then on another page)."""
        board = self.args.board
        if board is None or self.rng.random() >= self.args.share:
            return False
        from benchmarks import class_board

        # A student reads the board's "one drawing every 10 s" and votes meanwhile.
        if self.rng.random() < 0.5 and time.perf_counter() - getattr(self, "last_send", -1e9) > 10.5:
            self.last_send = time.perf_counter()
            await class_board.send_drawing(self, board)
        else:
            await class_board.vote(self, board, self.args.board_refresh)
        self.actions += 1
        return True

    def busy(self, deadline: float) -> bool:
        return time.perf_counter() < deadline and self.actions < self.args.max_actions

    async def lecture(self, deadline: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.args.ramp))
        await self.connect()
        try:
            if await self.open("", "first page") is None:
                return
            for page in TALK_ORDER[1:]:
                if page == "draw":
                    self.query = {"draw_source": "Pick a test digit"}
                answer = await self.open(page)
                if page == "draw":
                    self.remember_digits(answer)
                self.query = {}
            while self.busy(deadline):
                # The MNIST gallery, from a shared link with some digit set.
                self.query = {"mnist_digits": str(self.rng.randint(0, DIGIT_SETS))}
                t = time.perf_counter()
                answer = await self.open("mnist", "open mnist")
                for _ in range(self.args.moves):
                    await self.pause(t)
                    if answer is None or not self.busy(deadline):
                        break
                    t = time.perf_counter()
                    if await self.class_action():
                        break  # on another page now
                    await self.move_eps(answer, "mnist_eps", "mnist eps", 0.005, 0.3)
                    self.actions += 1
                if not self.busy(deadline):
                    break
                # The draw page with a shipped test digit; a few eps moves, then another digit.
                self.query = {"draw_source": "Pick a test digit"}
                if self.digit_options:  # the picker's URL value is its option's text: the index ("7")
                    self.query["draw_pick"] = self.rng.choice(self.digit_options)
                await self.pause(t)
                t = time.perf_counter()
                answer = await self.open("draw", "open draw")
                self.remember_digits(answer)
                for i in range(self.args.moves):
                    await self.pause(t)
                    if answer is None or not self.busy(deadline):
                        break
                    t = time.perf_counter()
                    if await self.class_action():
                        break
                    if i == self.args.moves - 1:
                        picked = await self.pick_digit(answer)
                        answer = picked or answer
                    else:
                        await self.move_eps(answer, "draw_eps", "draw eps", 0.0025, 0.3)
                    self.actions += 1
                await self.pause(t)
        finally:
            self.http.close()
            await self.ws.close()


class MediaClient:
    """A browser's image fetches: HTTP/1.1 GETs on up to `width` keep-alive connections.

    Plain asyncio (the venv has no async HTTP client); enough for Streamlit's `/media/` answers,
    which carry a Content-Length (chunked bodies are read too).
    """

    def __init__(self, base: str, timeout: float, width: int = 4):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port, self.netloc = parts.hostname, parts.port or 80, parts.netloc
        self.timeout = timeout
        self.idle: list[tuple] = []
        self.slots = asyncio.Semaphore(width)
        self.cookies: dict[str, str] = {}  # a sticky-session proxy's cookie, kept as a browser keeps it

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    async def _get(self, conn, path: str) -> int:
        reader, writer = conn
        cookie = f"Cookie: {self.cookie_header()}\r\n" if self.cookies else ""
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.netloc}\r\nAccept: */*\r\n{cookie}\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        code = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        for line in lines[1:]:
            if line.lower().startswith("set-cookie:"):
                name, _, value = line.split(":", 1)[1].split(";")[0].strip().partition("=")
                self.cookies[name] = value
        if "content-length" in headers:
            await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            for _ in range(1_000_000):  # bounded: a body of at most a million chunks
                size = int((await reader.readline()).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        if headers.get("connection", "").lower() == "close":
            raise ConnectionResetError("closed by the server")
        return code

    async def fetch(self, path: str) -> int:
        """The HTTP status of GET path (0: no answer in time, or the connection failed).

        A kept-alive connection the server has closed meanwhile (uvicorn closes idle ones after
        5 s) is retried once on a new connection, as a browser does.
        """
        async with self.slots:
            for attempt in range(2):
                conn = self.idle.pop() if self.idle and attempt == 0 else None
                reused = conn is not None
                try:
                    if conn is None:
                        conn = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
                    code = await asyncio.wait_for(self._get(conn, path), self.timeout)
                    self.idle.append(conn)
                    return code
                except (OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError,
                        asyncio.LimitOverrunError) as exc:
                    if conn is not None:
                        conn[1].close()
                    if not reused or isinstance(exc, TimeoutError):
                        return 0
            return 0

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


# --- the server -------------------------------------------------------------------------------


def _proc_sample(pids: list[int]) -> tuple[float, float]:
    """(CPU seconds used so far, RSS in MB) summed over the server processes."""
    cpu = rss = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        # A process that has just exited counts as nothing.
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(stat[11]) + int(stat[12])) / tick
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
    return cpu, rss


async def sample_server(pids: list[int], every: float, until: asyncio.Event, rows: list) -> None:
    """Append (seconds since start, CPU in cores since the last sample, RSS in MB, CPU seconds since
    start) to rows every `every` seconds until `until` is set, summed over the server processes."""
    t0 = time.perf_counter()
    last_t, (cpu0, _) = t0, _proc_sample(pids)
    last_cpu = cpu0
    while not until.is_set():
        with contextlib.suppress(TimeoutError):  # a sample every `every` seconds until the end
            await asyncio.wait_for(until.wait(), timeout=every)
        now = time.perf_counter()
        cpu, rss = _proc_sample(pids)
        rows.append((now - t0, (cpu - last_cpu) / max(now - last_t, 1e-9), rss, cpu - cpu0))
        last_t, last_cpu = now, cpu


def cpu_ms_per_interaction(cpu_s: float, runs: int) -> float:
    """Server CPU per student interaction in ms: cpu_s (CPU seconds of every app process, >= 0) over
    runs (script and fragment runs the students asked for: page opens and widget changes); nan
    without runs."""
    if cpu_s < 0:
        raise ValueError(f"cpu_s must be >= 0, got {cpu_s}")
    return 1000 * cpu_s / runs if runs > 0 else float("nan")


# --- running it -------------------------------------------------------------------------------


def _q(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(stats: Stats, rows: list, args, wall: float) -> dict:
    order = ["first page", *[f"open {p or 'home'}" for p in TALK_ORDER[1:]], "mnist eps", "draw eps",
             "new digit", "reconnect"]
    kinds = [k for k in order if k in stats.latency] + sorted(set(stats.latency) - set(order))
    print(f"\n{args.students} students, {wall:.0f} s, rate {args.rate}/s each, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"  {'action':<18}{'n':>6}{'p50 s':>9}{'p95 s':>9}{'max s':>9}{'errors':>8}{'wrong':>7}")
    summary = {"kinds": {}, "errors": sum(stats.errors.values()), "wrong": sum(stats.wrong.values()),
               "disconnects": stats.disconnects, "images": stats.images, "image_errors": stats.image_errors,
               "inline_images": stats.inline_images}
    for kind in kinds:
        v = stats.latency[kind]
        p50, p95, top = _q(v, 50), _q(v, 95), max(v)
        summary["kinds"][kind] = {"n": len(v), "p50": p50, "p95": p95, "max": top}
        print(f"  {kind:<18}{len(v):>6}{p50:>9.2f}{p95:>9.2f}{top:>9.2f}{stats.errors[kind]:>8}{stats.wrong[kind]:>7}")
    for kind in set(stats.errors) | set(stats.wrong):
        if kind not in stats.latency:
            print(f"  {kind:<18}{0:>6}{'':>27}{stats.errors[kind]:>8}{stats.wrong[kind]:>7}")
    print(f"  images: {stats.inline_images} inline (in the answers), {stats.images} fetched, "
          f"{stats.image_errors} failed" + (f"; fetch after a run p50 {_q(stats.media, 50):.2f} s, "
                                            f"p95 {_q(stats.media, 95):.2f} s" if stats.media else ""))
    print(f"  errors {summary['errors']}, wrong content {summary['wrong']}, disconnects {stats.disconnects}")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"  this client used {(usage.ru_utime + usage.ru_stime) / wall:.2f} cores (same machine as the server)")
    for what, example in stats.examples.items():
        print(f"    e.g. {what}: {example}")
    if rows:
        print("  server over time (CPU in cores, RSS in MB):")
        step = max(1, len(rows) // args.table_rows)
        for t, cpu, rss, _ in rows[::step]:
            print(f"    t={t:6.0f} s  cpu {cpu:4.2f}  rss {rss:7.0f}")
        cpus = [r[1] for r in rows]
        print(f"  server CPU mean {statistics.mean(cpus):.2f} cores (max {max(cpus):.2f}); RSS start "
              f"{rows[0][2]:.0f} MB, max {max(r[2] for r in rows):.0f}, end {rows[-1][2]:.0f}")
        summary.update(cpu_mean=statistics.mean(cpus), rss_start=rows[0][2], rss_end=rows[-1][2],
                       rss_max=max(r[2] for r in rows))
        actions = sum(len(v) for v in stats.latency.values())
        cpu_s = sum(r[1] for r in rows) * args.sample_every
        print(f"  server CPU per answered request: {1000 * cpu_s / max(actions, 1):.0f} ms "
              f"({cpu_s:.0f} CPU-s over {actions} requests, images included)")
        total = rows[-1][3]  # measured, not summed from the rounded rates
        per_run = cpu_ms_per_interaction(total, stats.runs)
        summary.update(cpu_s=total, runs=stats.runs, cpu_ms_per_interaction=per_run)
        print(f"  server CPU per interaction: {per_run:.1f} ms ({total:.1f} CPU-s of the app processes over "
              f"{stats.runs} script and fragment runs: page opens, eps moves, picked digits"
              + (", drawings sent, votes" if args.board is not None else "") + ")")
        if args.board is not None:
            from benchmarks import class_board

            summary.update(class_board.report(args.board, stats, total, _q))
    elif args.board is not None:
        from benchmarks import class_board

        summary.update(class_board.report(args.board, stats, None, _q))
    return summary


async def run_class(base: str, pids: list[int], args) -> dict:
    stats = Stats()
    rows: list = []
    done = asyncio.Event()
    sampler = asyncio.create_task(sample_server(pids, args.sample_every, done, rows)) if pids else None
    extra = []
    if args.board_refresh is None:  # the app's own interval
        from app.classroom.board_view import REFRESH_S

        args.board_refresh = REFRESH_S
    if args.share > 0:  # the board and the polls: the lecturer opens a poll, the projector shows the board
        from benchmarks import class_board

        args.board = class_board.Board(os.environ.get("LECTURE_DB"))
        args.board.open_poll()
        if pids:  # each update's own CPU, measured before the class arrives
            args.board.costs = await class_board.calibrate(Student(-2, base, args, Stats()), args.board, pids)
    else:
        args.board = None
    t0 = time.perf_counter()
    deadline = t0 + args.duration
    students = [Student(i, base, args, stats) for i in range(args.students)]
    class_over = asyncio.Event()
    if args.board is not None:
        extra.append(class_board.projector(Student(-1, base, args, stats), args.board, deadline,
                                           args.board_refresh, class_over))

    async def class_() -> list:
        try:
            return await asyncio.gather(*(s.lecture(deadline) for s in students), return_exceptions=True)
        finally:
            class_over.set()

    # Every student stops by the deadline; the grace covers the last request in flight.
    results = await asyncio.wait_for(
        asyncio.gather(class_(), *extra, return_exceptions=True),
        timeout=args.duration + args.ramp + 4 * args.timeout + 30)
    results = [*results[0], *results[1:]] if isinstance(results[0], list) else results
    for r in results:
        if isinstance(r, BaseException):
            stats.error("student", f"{type(r).__name__}: {r}")
    done.set()
    if sampler:
        await sampler
    return report(stats, rows, args, time.perf_counter() - t0)


def run_async(coro):
    """asyncio.run(coro), in a worker thread when this thread already runs an event loop (a test
    session that also drives Playwright's sync API has one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def check_loopback(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        raise SystemExit(f"error: --url must be http on this machine (127.0.0.1, ::1 or localhost), got {url}")
    return f"http://{parts.netloc}"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.class_load", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--students", type=int, default=30, help="simulated students (default 30)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of slider moving after the start (default 60)")
    p.add_argument("--rate", type=float, default=1.0, help="interactions per second per student (default 1)")
    p.add_argument("--moves", type=int, default=5, help="interactions per visit of the MNIST / draw page (default 5)")
    p.add_argument("--max-actions", type=int, default=10_000, help="interactions per student at most")
    p.add_argument("--ramp", type=float, default=2.0, help="students arrive spread over this many seconds (default 2)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds a request may take before it counts as an error")
    p.add_argument("--url", default=None, help="a running app (loopback only); default: start a fresh server")
    p.add_argument("--pid", type=int, nargs="*", default=None, help="server process ids to sample (with --url)")
    p.add_argument("--processes", type=int, default=1,
                   help="fresh servers behind HAProxy with sticky sessions (deploy/serve_class.py); default 1: "
                        "one plain server")
    p.add_argument("--server-arg", action="append", default=[], metavar="--OPTION=VALUE",
                   help="extra `streamlit run` option for the fresh server (repeatable)")
    p.add_argument("--sample-every", type=float, default=1.0, help="seconds between server CPU/RSS samples")
    p.add_argument("--table-rows", type=int, default=12, help="rows of the CPU/RSS table printed")
    p.add_argument("--no-media", action="store_true", help="do not fetch the images")
    p.add_argument("--seed", type=int, default=0, help="seed of the students' choices")
    p.add_argument("--share", type=float, default=0.1,
                   help="share of a student's actions that send a drawing to the class board or vote in the "
                        "open poll (default 0.1; 0: no board, no polls, no projector)")
    p.add_argument("--board-refresh", type=float, default=None,
                   help="seconds between the projector's board refreshes (default: the app's own, "
                        "app.classroom.board_view.REFRESH_S)")
    return p


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    if not 0 <= args.share <= 1:
        raise SystemExit("error: --share must be from 0 to 1")
    if args.share > 0 and not args.url and not os.environ.get("LECTURE_DB"):
        import tempfile  # a fresh server gets a fresh class database, not the lecture's own

        os.environ["LECTURE_DB"] = os.path.join(tempfile.mkdtemp(prefix="class-load-"), "class.sqlite3")
    for name in ("students", "moves", "max_actions", "processes"):
        if getattr(args, name) < 1:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be >= 1")
    for name in ("duration", "rate", "timeout", "sample_every"):
        if not 0 < getattr(args, name) < 1e6:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be a positive number")
    if args.url:
        return run_async(run_class(check_loopback(args.url), list(args.pid or []), args))
    sys.path.insert(0, str(REPO))
    from tests.live_app import free_port, start_app, stop, wait_healthy

    if args.processes > 1:
        from deploy.serve_class import Class

        ports = [free_port() for _ in range(args.processes + 1)]
        lecture = Class(args.processes, "127.0.0.1", ports[0], 0)
        lecture.ports = ports[1:]
        t0 = time.perf_counter()
        try:
            lecture.start()
            wait_healthy(ports[0], lecture.proxy, poll=0.05)
            print(f"{args.processes} fresh servers (pids {lecture.pids}) behind HAProxy on port {ports[0]}, "
                  f"caches warmed in {lecture.warm_s:.1f} s, open after {time.perf_counter() - t0:.1f} s")
            return run_async(run_class(f"http://127.0.0.1:{ports[0]}", lecture.pids, args))
        finally:
            lecture.stop()
    port = free_port()
    t0 = time.perf_counter()
    proc = start_app(REPO / "streamlit_app.py", port, extra_args=args.server_arg)
    try:
        wait_healthy(port, proc, poll=0.05)
        print(f"fresh server (pid {proc.pid}) healthy after {time.perf_counter() - t0:.1f} s")
        return run_async(run_class(f"http://127.0.0.1:{port}", [proc.pid], args))
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
