"""The class page, the draw page's "send to the board" and the board's HTML under AppTest: votes,
sends, limits, escaping, and a broken database that breaks only the board and poll sections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.classroom.store import ClassStore, Entry
from app.polls import POLLS

REPO = Path(__file__).resolve().parents[2]
POLL = POLLS[0]


@pytest.fixture
def db(tmp_path, monkeypatch) -> ClassStore:
    monkeypatch.setenv("LECTURE_DB", str(tmp_path / "class.sqlite3"))
    return ClassStore()


def class_page() -> AppTest:
    return AppTest.from_file(str(REPO / "pages/class.py"), default_timeout=120).run()


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [e.value for e in at.error] + [i.value for i in at.info]
                     + [s.value for s in at.success])


def test_an_empty_class(db):
    at = class_page()
    assert not at.exception, at.exception
    assert "No poll is open" in texts(at)
    assert "No drawing has been measured yet" in texts(at)


def test_a_student_votes_and_changes_the_vote(db):
    db.set_poll_state(POLL.id, "open")
    at = class_page()
    assert POLL.question in texts(at)
    at.radio(key=f"vote_{POLL.id}").set_value(POLL.choices[1]).run()
    assert db.counts(POLL.id, len(POLL.choices))[1] == 1
    at.radio(key=f"vote_{POLL.id}").set_value(POLL.choices[0]).run()
    counts = db.counts(POLL.id, len(POLL.choices))
    assert counts[0] == 1 and sum(counts) == 1
    assert f"Your vote: {POLL.choices[0]}" in " ".join(c.value for c in at.caption)


def test_a_revealed_poll_shows_the_class_beside_the_measured_answer(db):
    db.set_poll_state(POLL.id, "open")
    db.vote(POLL.id, "a", 0, len(POLL.choices))
    db.set_poll_state(POLL.id, "revealed")
    at = class_page()
    measured = POLL.answer(str(REPO / "pretrained"))
    shown = texts(at)
    assert ("The class said" in shown or "The class split" in shown) and measured.text in shown
    assert f"The shipped results say **{POLL.choices[measured.choice]}**" in shown


def test_a_damaged_database_breaks_only_the_class_sections(tmp_path, monkeypatch):
    bad = tmp_path / "class.sqlite3"
    bad.write_bytes(b"not a database at all" * 200)
    monkeypatch.setenv("LECTURE_DB", str(bad))
    at = class_page()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 2 and all("damaged" in e and "move it away" in e for e in errors), errors
    assert str(tmp_path) not in " ".join(errors)  # no server path for students
    other = AppTest.from_file(str(REPO / "pages/mnist.py"), default_timeout=120).run()
    assert not other.exception and not other.error


def _send_app():
    import numpy as np

    from app.classroom.board_view import send_section

    send_section(np.full((1, 784), 0.5, dtype=np.float32), "pretrained")


def sender() -> AppTest:
    return AppTest.from_function(_send_app, default_timeout=60)


def test_sending_a_drawing_and_the_10_s_limit(db, monkeypatch):
    from app.classroom import board

    started = []
    monkeypatch.setattr(board, "ensure_worker", lambda store, root: started.append(root))
    at = sender().run()
    at.button(key="class__send_go").click().run()
    assert any("Choose the digit" in e.value for e in at.error)
    assert db.entry_count() == 0
    at.selectbox(key="class__digit").set_value(7)
    at.text_input(key="class__nickname").input("<b onclick=x>hi")
    at.button(key="class__send_go").click().run()
    assert any("Sent as drawing #" in s.value for s in at.success), [e.value for e in at.error]
    (entry,) = db.entries()
    assert entry.digit == 7 and entry.nickname == "<b onclick=x>hi" and started
    at.button(key="class__send_go").click().run()
    assert any("One drawing every 10 s" in e.value for e in at.error)
    assert db.entry_count() == 1


def test_a_forged_long_nickname_is_cut_to_20(db, monkeypatch):
    from app.classroom import board

    monkeypatch.setattr(board, "ensure_worker", lambda store, root: None)
    at = sender().run()
    at.selectbox(key="class__digit").set_value(1)
    at.text_input(key="class__nickname").set_value("x" * 500)  # past max_chars, as a forged message
    at.button(key="class__send_go").click().run()
    assert len(db.entries()[0].nickname) == 20  # Streamlit cuts a text input at max_chars on the server


def test_nicknames_are_escaped_and_hidden_until_shown():
    from app.classroom.board_view import gallery_html

    e = Entry(1, 0.0, 3, "<script>x</script>", np.zeros(784, np.uint8), False, "pending", None)
    hidden = gallery_html([e], "f_nd", names=False, size=48)
    assert "script" not in hidden
    shown = gallery_html([e], "f_nd", names=True, size=48)
    assert "<script>" not in shown and "&lt;script&gt;x&lt;/script&gt;" in shown
    assert "alt='Drawing number 1 by &lt;script&gt;" in shown


def test_what_the_class_said_counts_the_votes_and_ties():
    from app.classroom.poll_view import class_said

    assert class_said(POLL, [0] * len(POLL.choices)) == "No one voted."
    counts = [0] * len(POLL.choices)
    counts[1] = 4
    counts[0] = 2
    assert class_said(POLL, counts) == f"The class said **{POLL.choices[1]}** (4 of 6)."
    counts[0] = 4
    assert class_said(POLL, counts) == (f"The class split between **{POLL.choices[0]}** and "
                                        f"**{POLL.choices[1]}** (4 each of 8).")


def test_a_refresh_reuses_the_view_until_the_class_changes(db):
    from app.classroom.board_view import board_view

    board_view.cache_clear()
    path = str(db.path)
    first = board_view(path, db.version(), "f_nd", "pgd", True)
    assert board_view(path, db.version(), "f_nd", "pgd", True) is first  # nothing read, nothing built
    db.add_entry("s1", 3, np.zeros(784, np.float32))
    changed = board_view(path, db.version(), "f_nd", "pgd", True)
    assert changed is not first and changed.count == first.count + 1 and "#1 a 3" in changed.newest
