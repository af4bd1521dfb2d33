"""Only the lecturer controls the class (app/classroom/lecturer.py): without the key, with a wrong
key, or with forged widget values over the websocket, a student can open, close or reveal no poll,
hide no drawing, clear no board and reset no class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.classroom.store import ClassStore
from app.polls import POLLS
from app.slides import SLIDES

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "streamlit_app.py")
KEY = "correct-horse-42"
POLL = POLLS[0]


def poll_slide() -> int:
    return next(i for i, s in enumerate(SLIDES, 1) if POLL.question in s.claim)


def board_slide() -> int:
    return next(i for i, s in enumerate(SLIDES, 1) if s.page == "pages/class.py")


@pytest.fixture
def lecture(tmp_path, monkeypatch) -> ClassStore:
    monkeypatch.setenv("LECTURE_KEY", KEY)
    monkeypatch.setenv("LECTURE_DB", str(tmp_path / "class.sqlite3"))
    store = ClassStore()
    store.add_entry("someone", 3, np.zeros(784, np.float32))
    return store


def slide(number: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["present"] = "1"
    at.query_params["slide"] = str(number)
    return at.run()


LECTURER_BUTTONS = ("Open the poll", "Close it", "Reveal the answers", "Hide it", "Clear the board",
                    "Reset the class (board, polls, votes)", "Show nicknames")


def buttons(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


def test_a_student_sees_no_lecturer_control(lecture):
    for number in (poll_slide(), board_slide()):
        at = slide(number)
        assert not at.exception, at.exception
        assert not buttons(at) & set(LECTURER_BUTTONS)
    assert lecture.poll_state(POLL.id) == "waiting" and lecture.entry_count() == 1


def test_a_wrong_key_unlocks_nothing_and_is_not_kept(lecture):
    at = slide(poll_slide())
    at.text_input(key="class__key").input("wrong-key-123").run()
    assert not at.exception
    assert any("not this lecture's key" in e.value for e in at.error)
    assert not buttons(at) & set(LECTURER_BUTTONS)
    assert at.text_input(key="class__key").value == ""
    assert lecture.poll_state(POLL.id) == "waiting"


def test_the_key_unlocks_the_controls_for_this_tab_only(lecture):
    at = slide(poll_slide())
    at.text_input(key="class__key").input(KEY).run()
    assert not [t for t in at.text_input if t.key == "class__key"]  # the field gives way to "Lock"
    assert "Lock the lecturer controls" in buttons(at)
    assert KEY not in repr(at.session_state)  # the key is kept nowhere in the session
    assert {"Open the poll", "Close it", "Reveal the answers"} <= buttons(at)
    next(b for b in at.button if b.label == "Open the poll").click().run()
    assert lecture.poll_state(POLL.id) == "open"
    other = slide(poll_slide())  # another tab: a student
    assert not buttons(other) & set(LECTURER_BUTTONS)


def test_too_many_wrong_keys_wait(lecture):
    at = slide(poll_slide())
    for i in range(6):
        at.text_input(key="class__key").input(f"wrong-{i}-xxxxx").run()
    at.text_input(key="class__key").input(KEY).run()  # even the right one, within the minute
    assert any("Too many wrong keys" in e.value for e in at.error)
    assert not buttons(at) & set(LECTURER_BUTTONS)


def test_an_action_checks_the_key_when_it_runs(lecture):
    """`act` itself refuses, whatever the page drew (a forged click reaches it only through a callback)."""
    from app.classroom import lecturer

    called = []
    at = AppTest.from_function(lambda: None)
    at.run()
    with pytest.MonkeyPatch.context() as mp:
        state: dict = {}
        mp.setattr(lecturer.st, "session_state", state)
        lecturer.act(called.append, "x")
        assert called == [] and "Only the lecturer" in state[lecturer.NOTE][1]
        state[lecturer.LECTURER] = "yes"  # only True counts
        lecturer.act(called.append, "x")
        assert called == []
        state[lecturer.LECTURER] = True
        lecturer.act(called.append, "x")
        assert called == ["x"]


# --- forged widget values over the websocket ----------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    import os

    from tests.live_app import free_port, start_app, stop, wait_healthy

    db = tmp_path_factory.mktemp("lecture") / "class.sqlite3"
    port = free_port()
    env = {"LECTURE_KEY": KEY, "LECTURE_DB": str(db)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        proc = start_app(REPO / "streamlit_app.py", port)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    try:
        wait_healthy(port, proc, timeout=180)
        yield port, ClassStore(db)
    finally:
        stop(proc)


def test_forged_widget_values_do_none_of_the_lecturers_actions(live):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from tests.app.websocket_session import Session

    port, store = live
    store.reset_class()
    store.add_entry("someone", 3, np.zeros(784, np.float32))
    poll_q = f"present=1&slide={poll_slide()}"
    board_q = f"present=1&slide={board_slide()}"
    page_of = {poll_q: SLIDES[poll_slide() - 1].page, board_q: "pages/class.py"}
    path = {p: Path(p).stem if Path(p).stem != "home" else "" for p in page_of.values()}

    # The lecturer's tab: the key, then the controls' widget ids (the same in every session).
    ids: dict[str, str] = {}
    with Session(port, timeout=180) as lecturer:
        first = lecturer.run(path[page_of[poll_q]], poll_q)
        key_id, _ = first.widget("class__key")
        ids["class__key"] = key_id
        lecturer.run(path[page_of[poll_q]], poll_q, [WidgetState(id=key_id, string_value=KEY)])
        for q in (poll_q, board_q):  # unlocked: the tab keeps the controls on every slide
            for wid in lecturer.run(path[page_of[q]], q).widgets:
                ids[wid.rsplit("-", 1)[-1]] = wid
    controls = [k for k in ids if k.startswith(("poll_", "present_board_"))
                and not k.endswith(("_pause", "_network", "_attack"))]  # a student's own widgets
    assert any(k.endswith("_open") for k in controls) and "present_board_clear" in controls, sorted(ids)
    assert store.poll_state(POLL.id) == "waiting"  # unlocking alone changes nothing

    with Session(port, timeout=180) as student:
        for q in (poll_q, board_q):
            p = path[page_of[q]]
            student.run(p, q)
            key_id = ids["class__key"]
            # A wrong key, then every lecturer control pressed (and the "sure" box ticked) at once.
            forged = [WidgetState(id=key_id, string_value="not-the-key")]
            for k in controls:
                state = WidgetState(id=ids[k])
                if k.endswith("_sure"):
                    state.bool_value = True
                elif k.endswith("_hide_pick"):
                    state.string_value = "#1"
                else:
                    state.trigger_value = True
                forged.append(state)
            for k in ("present_board_network", "present_board_attack"):  # a student's own, with junk
                if k in ids and q == board_q:
                    forged.append(WidgetState(id=ids[k], string_value="<junk>"))
            run = student.run(p, q, forged)
            assert run.status == "FINISHED_SUCCESSFULLY" and not run.exceptions, run.text()
            again = student.run(p, q)  # and the run after it
            assert not {w.rsplit("-", 1)[-1] for w in again.widgets} & set(controls)
    assert store.poll_state(POLL.id) == "waiting"
    assert store.entry_count() == 1 and store.entries()[0].hidden is False
    assert store.setting("show_nicknames") == ""
