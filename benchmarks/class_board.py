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
        self.refresh_cpu: list[float] = []

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
    student.query = {}  # the draw page's default input is the canvas
    student.page = "draw"
    answer = await student.open("draw", "open draw")
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


async def vote(student, board: Board) -> None:
    """Open the class page and vote in the open poll (a fragment rerun of the poll section)."""
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
    new = await student.run_script("vote", student._client_state(
        "class", answer.fragments.get(wid, ""), [WidgetState(id=wid, string_value=choice)]))
    if new is not None and f"Your vote: {choice}".encode() not in new.content:
        student.stats.wrong_content("vote", f"voted {choice!r}, not confirmed")


async def projector(student, board: Board, deadline: float, refresh_s: float) -> None:
    """The board slide in presenter mode, refreshed every refresh_s seconds as the browser does."""
    from app.slides import SLIDES

    number = next(i for i, s in enumerate(SLIDES, 1) if s.page == "pages/class.py")
    await student.connect()
    try:
        student.query = {"present": "1", "slide": str(number)}
        student.page = "class"
        answer = await student.run_script("projector open", student._client_state("class"))
        fragment = next(iter(answer.fragment_ids), "") if answer is not None else ""
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            new = await student.run_script("board refresh", student._client_state("class", fragment))
            if new is not None:
                board.saw(new.content, time.perf_counter())
                fragment = next(iter(new.fragment_ids), fragment)
            await asyncio.sleep(max(0.0, t + refresh_s - time.perf_counter()))
    finally:
        student.http.close()
        await student.ws.close()
