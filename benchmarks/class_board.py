"""The class board and the polls under load: what benchmarks/class_load.py adds with --share.

A student's board or poll action, with probability --share per action (default 0.1):
- "board send": on the draw page, a drawing on the canvas (a shipped test digit drawn large, sent
  as the canvas component sends it), then the form "Send to the board" with the digit meant;
- "vote": on the class page, an answer to the poll now open (the benchmark opens the first poll of
  app/polls.py in the class's database, as the lecturer would from the presenter).

A projector (one more tab, not a student) shows the board slide and refreshes it as the browser
does (a fragment rerun every `REFRESH_S` s). It records when each drawing a student sent first
appears on it ("new entry on the projector": sent -> shown) and when it shows it measured ("entry
measured on the projector"). Its refreshes are reported apart from the students' interactions
("board refresh"), with their own CPU cost estimate.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import time

import numpy as np

SENT = re.compile(rb"Sent as drawing #(\d+)")
# The board's captions: "#12 a 3<br>measuring…" (or the eps, once measured).
SHOWN = re.compile(rb"#(\d+) a \d(?: \xc2\xb7 [^<]*)?<br>([^<]*)</figcaption>")
MEASURING = "measuring…".encode()


def canvas_state(image: np.ndarray, size: int = 280) -> str:
    """The canvas component's state for a 28x28 digit in [0, 1] drawn on the 280x280 canvas: white
    strokes on black, as a PNG data URL, with one stroke object (the JSON the browser sends)."""
    from PIL import Image

    zoom = size // 28
    gray = np.rint(np.clip(image.reshape(28, 28), 0, 1) * 255).astype(np.uint8)
    big = np.repeat(np.repeat(gray, zoom, 0), zoom, 1)
    rgba = np.dstack([big, big, big, np.full_like(big, 255)])
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return json.dumps({"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": url}})


class Board:
    """What the board part of a load run shares: the digits drawn, the sent times, the projector's
    sightings, and the poll opened."""

    def __init__(self, db: str | None):
        from core.results.pretrained import PRETRAINED_DIR, load_sample

        self.images, self.labels = load_sample(root=PRETRAINED_DIR)
        self.sent: dict[int, float] = {}  # entry id -> when the student's send finished
        self.shown: dict[int, float] = {}
        self.measured: dict[int, float] = {}
        self.poll = None
        self.db = db
        self.costs: dict[str, float] = {}  # update kind -> server CPU ms per update, measured alone

    def open_poll(self) -> None:
        """Open the first poll, as the lecturer does (in the class's database the server uses)."""
        from app.classroom.store import ClassStore
        from app.polls import POLLS

        self.poll = POLLS[0]
        store = ClassStore(self.db) if self.db else ClassStore()
        store.reset_class()
        store.set_poll_state(self.poll.id, "open")

    def saw(self, content: bytes, now: float) -> None:
        for m in SHOWN.finditer(content):
            entry = int(m.group(1))
            self.shown.setdefault(entry, now)
            if MEASURING not in m.group(2):
                self.measured.setdefault(entry, now)

    def delays(self) -> dict[str, list[float]]:
        """Seconds from a drawing's sending to its first showing on the projector, and to its
        showing measured; drawings never shown are counted as missing."""
        return {"new entry on the projector": [self.shown[i] - t for i, t in self.sent.items() if i in self.shown],
                "entry measured on the projector": [self.measured[i] - t for i, t in self.sent.items()
                                                    if i in self.measured]}


async def send_drawing(student, board: Board) -> None:
    """Draw a digit on the draw page and send it to the board (two runs: the drawing, the form)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from benchmarks.class_load import find_widget

    i = student.rng.randrange(len(board.labels))
    student.query = {"draw_source": "Draw"}  # the canvas (a shared link to the draw page with it)
    student.page = "draw"
    answer = await student.open("draw", "open draw")
    if answer is None:
        return
    canvas_id = next((w for w in answer.canvas if w.endswith("-draw_canvas")), None)
    source_id, _ = find_widget(answer, "draw_source")
    if canvas_id is None and source_id is not None:  # this tab last had a test digit: click "Draw"
        answer = await student.run_script("open draw", student._client_state(
            "draw", widgets=[WidgetState(id=source_id, string_value="Draw")]))
        if answer is None:
            return
        canvas_id = next((w for w in answer.canvas if w.endswith("-draw_canvas")), None)
    if canvas_id is None:
        student.stats.wrong_content("board send", "no canvas on the draw page")
        return
    canvas = WidgetState(id=canvas_id, json_value=canvas_state(board.images[i]))
    drawn = await student.run_script("draw digit", student._client_state("draw", widgets=[canvas]))
    if drawn is None:
        return
    digit_id, _ = find_widget(drawn, "class__digit")
    go = next((b for b in drawn.buttons if b.endswith("-class__send_go")), None)
    if digit_id is None or go is None:
        student.stats.wrong_content("board send", "no send form under the drawing")
        return
    states = [canvas, WidgetState(id=digit_id, string_value=str(int(board.labels[i]))),
              WidgetState(id=go, trigger_value=True)]
    sent = await student.run_script("board send", student._client_state("draw", widgets=states))
    if sent is None:
        return
    m = SENT.search(sent.content)
    if m:
        board.sent[int(m.group(1))] = time.perf_counter()
    elif b"One drawing every" not in sent.content:  # the 10 s limit is an answer, not an error
        student.stats.wrong_content("board send", "no 'Sent as drawing' confirmation")


async def vote(student, board: Board, refresh_s: float = 2.0, refreshes: int = 2) -> None:
    """Open the class page, vote in the open poll (a fragment rerun of the poll section), then watch
    it for `refreshes` updates, refresh_s apart, as the page does ("poll refresh")."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from benchmarks.class_load import find_widget

    student.query = {}
    answer = await student.open("class", "open class")
    if answer is None or board.poll is None:
        return
    wid, radio = find_widget(answer, f"vote_{board.poll.id}")
    if wid is None:
        student.stats.wrong_content("vote", "no open poll on the class page")
        return
    choice = student.rng.choice(list(board.poll.choices))
    fragment = answer.fragments.get(wid, "")
    new = await student.run_script("vote", student._client_state(
        "class", fragment, [WidgetState(id=wid, string_value=choice)]))
    if new is not None and f"Your vote: {choice}".encode() not in new.content:
        student.stats.wrong_content("vote", f"voted {choice!r}, not confirmed")
    for _ in range(refreshes):
        await asyncio.sleep(refresh_s)
        await student.run_script("poll refresh", student._client_state("class", fragment))


async def calibrate(student, board: Board, pids: list[int], n: int = 10) -> dict[str, float]:
    """Server CPU (ms) of one board refresh and one poll refresh, each measured alone before the
    class arrives: n back-to-back updates, the app processes' CPU time before and after."""
    from benchmarks.class_load import find_widget

    costs = {}
    await student.connect()
    try:
        number = _board_slide()
        student.query, student.page = {"present": "1", "slide": str(number)}, "class"
        answer = await student.run_script("calibrate", student._client_state("class"))
        fragment = answer.fragment_ids[0] if answer is not None and answer.fragment_ids else ""
        costs["board refresh"] = await _cpu_of(student, pids, "class", fragment, n)
        student.query = {}
        answer = await student.run_script("calibrate", student._client_state("class"))
        wid, _ = find_widget(answer, f"vote_{board.poll.id}") if answer is not None else (None, None)
        if wid is not None:
            costs["poll refresh"] = await _cpu_of(student, pids, "class", answer.fragments.get(wid, ""), n)
    finally:
        student.http.close()
        await student.ws.close()
    return costs


async def _cpu_of(student, pids: list[int], page: str, fragment: str, n: int) -> float:
    from benchmarks.class_load import _proc_sample

    await asyncio.sleep(0.5)
    before, _ = _proc_sample(pids)
    for _ in range(n):
        await student.run_script("calibrate", student._client_state(page, fragment))
    after, _ = _proc_sample(pids)
    return 1000 * (after - before) / n


def _board_slide() -> int:
    from app.slides import SLIDES

    return next(i for i, s in enumerate(SLIDES, 1) if s.page == "pages/class.py")


def worker_cpu() -> tuple[float, int]:
    """(CPU seconds, processes) of the board's measuring workers running now (app/classroom/measure.py)."""
    import os
    from pathlib import Path

    tick, total, count = os.sysconf("SC_CLK_TCK"), 0.0, 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"app.classroom.measure" not in (proc / "cmdline").read_bytes():
                continue
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(stat[11]) + int(stat[12])) / tick
        count += 1
    return total, count


def report(board: Board, stats, cpu_s: float | None, quantile) -> dict:
    """Print the board's and polls' figures; the summary's entries for them."""
    out: dict = {"board": {}}
    print("  class board and polls:")
    for kind, values in board.delays().items():
        missing = len(board.sent) - len(values)
        if values:
            p50, p95, top = quantile(values, 50), quantile(values, 95), max(values)
            print(f"    {kind:<32} n {len(values):>4}  p50 {p50:5.2f} s  p95 {p95:5.2f} s  max {top:5.2f} s"
                  f"  never shown {missing}")
            out["board"][kind] = {"n": len(values), "p50": p50, "p95": p95, "max": top, "missing": missing}
        else:
            print(f"    {kind:<32} none of {len(board.sent)} drawings sent")
            out["board"][kind] = {"n": 0, "missing": missing}
    subtracted = 0.0
    for kind in ("board refresh", "poll refresh"):
        n, cost = stats.refreshes.get(kind, 0), board.costs.get(kind)
        if cost is not None:
            subtracted += n * cost / 1000
        print(f"    {kind:<32} {n} updates" + (f", {cost:.1f} ms of server CPU each (measured alone)"
                                                  if cost is not None else ""))
        out["board"][kind] = {"n": n, "cpu_ms": cost}
    cpu, workers = worker_cpu()
    measured = len(board.measured)
    print(f"    measuring workers: {cpu:.1f} CPU-s in {workers} process(es) for {len(board.sent)} drawings sent"
          + (f" ({1000 * cpu / len(board.sent):.0f} ms each)" if board.sent else ""))
    out["board"]["worker_cpu_s"] = cpu
    if cpu_s is not None and stats.runs:
        per = 1000 * max(cpu_s - subtracted, 0.0) / stats.runs
        print(f"    server CPU per interaction without the updates' estimated {subtracted:.1f} CPU-s: {per:.1f} ms")
        out["cpu_ms_per_interaction_without_updates"] = per
    out["board"]["measured_on_projector"] = measured
    return out



async def projector(student, board: Board, deadline: float, refresh_s: float,
                    class_over: asyncio.Event | None = None) -> None:
    """The board slide in presenter mode, refreshed every refresh_s seconds as the browser does,
    until the deadline or the students' last action, and a few refreshes more (the last drawings'
    measures)."""
    number = _board_slide()
    await student.connect()
    try:
        student.query = {"present": "1", "slide": str(number)}
        student.page = "class"
        answer = await student.run_script("projector open", student._client_state("class"))
        fragment = answer.fragment_ids[0] if answer is not None and answer.fragment_ids else ""
        end = None
        while end is None or time.perf_counter() < end:
            if end is None and (time.perf_counter() >= deadline or (class_over and class_over.is_set())):
                end = time.perf_counter() + 3 * refresh_s
            t = time.perf_counter()
            new = await student.run_script("board refresh", student._client_state("class", fragment))
            if new is not None:
                board.saw(new.content, time.perf_counter())
                fragment = new.fragment_ids[0] if new.fragment_ids else fragment
            await asyncio.sleep(max(0.0, t + refresh_s - time.perf_counter()))
    finally:
        student.http.close()
        await student.ws.close()
