"""The class's store (app/classroom/store.py): one state for every process, its limits, its errors,
and nothing lost when a writer is killed."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import app.classroom.store as store_module
from app.classroom.store import (
    BoardFullError,
    ClassStore,
    PollClosedError,
    StoreError,
    TooSoonError,
    clean_nickname,
)
from core.errors import InputError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path) -> ClassStore:
    return ClassStore(tmp_path / "class.sqlite3")


def drawing(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(784).astype(np.float32)


def test_a_drawing_comes_back_as_sent(db):
    x = drawing()
    entry = db.add_entry("s1", 3, x, "  Ann \t Lee ")
    (got,) = db.entries()
    assert got.id == entry and got.digit == 3 and got.nickname == "Ann Lee" and got.state == "pending"
    assert np.max(np.abs(got.image - x)) <= 0.5 / 255 + 1e-6
    assert got.image.shape == (1, 784)


@pytest.mark.parametrize("bad", [-1, 10, 3.0, "3", None, True])
def test_the_digit_meant_is_0_to_9(db, bad):
    with pytest.raises(InputError, match="0 to 9"):
        db.add_entry("s1", bad, drawing())
    assert db.entries() == []


@pytest.mark.parametrize("bad", [np.zeros(783), np.full(784, np.nan), np.full(784, 2.0), np.full(784, -0.1),
                                 np.array(["a"] * 784)])
def test_a_drawing_is_784_pixels_in_0_1(db, bad):
    with pytest.raises(InputError):
        db.add_entry("s1", 3, bad)
    assert db.entry_count() == 0


def test_nicknames_are_cleaned_and_bounded():
    assert clean_nickname("a\x00b\u202ec  d") == "abc d"
    assert clean_nickname(None) == ""
    assert clean_nickname("x" * 20) == "x" * 20
    with pytest.raises(InputError, match="at most 20"):
        clean_nickname("x" * 21)
    with pytest.raises(InputError):
        clean_nickname(["<script>"])
    # Escaping is the page's job; the stored text keeps what was typed.
    assert clean_nickname("<b>hi</b>") == "<b>hi</b>"


def test_one_drawing_per_student_per_10_s(db):
    db.add_entry("s1", 1, drawing(), now=1000.0)
    with pytest.raises(TooSoonError, match="in 5 s"):
        db.add_entry("s1", 2, drawing(), now=1005.0)
    db.add_entry("s2", 2, drawing(), now=1005.0)  # another student is not held up
    db.add_entry("s1", 2, drawing(), now=1010.5)
    assert [e.digit for e in db.entries()] == [1, 2, 2]


def test_the_board_is_bounded(db, monkeypatch):
    monkeypatch.setattr(store_module, "MAX_ENTRIES", 3)
    for i in range(3):
        db.add_entry(f"s{i}", i, drawing(i))
    with pytest.raises(BoardFullError, match="full"):
        db.add_entry("s9", 9, drawing(9))
    assert db.entry_count() == 3
    db.clear_board()
    db.add_entry("s9", 9, drawing(9))


def test_a_worker_claims_each_drawing_once_and_a_dead_ones_claim_expires(db):
    a = db.add_entry("s1", 1, drawing(1), now=1.0)
    b = db.add_entry("s2", 2, drawing(2), now=1.0)
    first, second = db.claim_next(now=100.0), db.claim_next(now=100.0)
    assert (first.id, second.id) == (a, b)
    assert db.claim_next(now=101.0) is None
    db.finish(a, {"f_n": {"label": 1, "confidence": 0.9, "fgsm": 0.05, "pgd": None}})
    again = db.claim_next(now=100.0 + store_module.STALE_CLAIM_S + 1)  # b's worker died
    assert again.id == b
    done = {e.id: e for e in db.entries()}
    assert done[a].state == "done" and done[a].measures["f_n"]["pgd"] is None


def test_a_drawing_that_keeps_failing_is_given_up(db):
    a = db.add_entry("s1", 1, drawing(), now=1.0)
    t = 10.0
    for _ in range(store_module.MAX_ATTEMPTS):
        assert db.claim_next(now=t).id == a
        t += store_module.STALE_CLAIM_S + 1
    assert db.claim_next(now=t) is None
    assert db.entries()[0].state == "failed"


def test_hidden_drawings_leave_the_board(db):
    a = db.add_entry("s1", 1, drawing())
    db.add_entry("s2", 2, drawing())
    db.hide_entry(a)
    assert [e.digit for e in db.entries()] == [2]
    assert len(db.entries(include_hidden=True)) == 2


def test_votes_count_only_while_the_poll_is_open_one_per_student(db):
    with pytest.raises(PollClosedError):
        db.vote("q", "s1", 0, 3)
    db.set_poll_state("q", "open")
    db.vote("q", "s1", 0, 3)
    db.vote("q", "s2", 0, 3)
    db.vote("q", "s1", 2, 3)  # changed, not added
    assert db.counts("q", 3) == [1, 0, 1]
    assert db.my_vote("q", "s1") == 2
    for bad in (3, -1, 1.0, True, "1"):
        with pytest.raises(InputError):
            db.vote("q", "s3", bad, 3)
    db.set_poll_state("q", "closed")
    with pytest.raises(PollClosedError):
        db.vote("q", "s1", 1, 3)
    assert db.counts("q", 3) == [1, 0, 1]
    with pytest.raises(InputError):
        db.set_poll_state("q", "opened")


def test_opening_a_poll_closes_the_open_one(db):
    db.set_poll_state("a", "open")
    db.set_poll_state("b", "open")
    assert db.open_poll() == "b" and db.poll_state("a") == "closed"


def test_reset_forgets_the_class_and_the_version_moves(db):
    v0 = db.version()
    db.add_entry("s1", 1, drawing())
    db.set_poll_state("q", "open")
    db.vote("q", "s1", 1, 2)
    db.set_setting("show_nicknames", "1")
    assert db.version() > v0
    db.reset_class()
    assert db.entries() == [] and db.counts("q", 2) == [0, 0] and db.poll_state("q") == "waiting"
    assert db.setting("show_nicknames") == ""


def test_every_process_sees_one_state(db):
    db.set_poll_state("q", "open")
    code = textwrap.dedent(f"""
        from app.classroom.store import ClassStore
        s = ClassStore({str(db.path)!r})
        s.vote("q", "other-process", 1, 2)
        print(s.counts("q", 2))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    db.vote("q", "here", 0, 2)
    assert db.counts("q", 2) == [1, 1]


def test_the_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(store_module.DB_ENV, str(tmp_path / "x.sqlite3"))
    assert ClassStore().path == tmp_path / "x.sqlite3"
    monkeypatch.delenv(store_module.DB_ENV)
    assert ClassStore().path == store_module.DEFAULT_DB
    assert "classroom-data/" in (REPO / ".gitignore").read_text()


def test_a_damaged_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "class.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="damaged.*move it away"):
        ClassStore(path).entries()


def test_a_locked_database_gives_a_clear_error_in_time(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "class.sqlite3"
    ClassStore(path).version()  # created
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="busy"):
            ClassStore(path).add_entry("s1", 1, drawing())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    ClassStore(path).add_entry("s1", 1, drawing())


def test_an_unwritable_folder_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="writable"):
        ClassStore(blocker / "sub" / "class.sqlite3").version()


WRITER = """
import sys, numpy as np
from app.classroom.store import ClassStore
s = ClassStore(sys.argv[1])
s.set_poll_state("q", "open")
x = np.full(784, 0.5, dtype=np.float32)
i = 0
while True:
    entry = s.add_entry(f"student-{i}", i % 10, x, f"n{i}")
    s.vote("q", f"student-{i}", i % 3, 3)
    print(entry, flush=True)  # acknowledged: committed before this line
    i += 1
"""


def test_nothing_stored_is_lost_when_a_writer_is_killed(tmp_path):
    path = tmp_path / "class.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    acknowledged = []
    try:
        for line in proc.stdout:
            acknowledged.append(int(line))
            if len(acknowledged) >= 150:
                break
        proc.send_signal(signal.SIGKILL)  # in the middle of its next writes
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    s = ClassStore(path)
    s.check()
    ids = {e.id for e in s.entries()}
    assert set(acknowledged) <= ids
    assert sum(s.counts("q", 3)) >= len(acknowledged)
    s.add_entry("after", 1, drawing())  # still writable


def test_the_readme_states_the_limits_the_store_keeps():
    text = " ".join((REPO / "README.md").read_text().split())
    assert f"one drawing per student every {store_module.ENTRY_INTERVAL_S:.0f} s, {store_module.MAX_ENTRIES} drawings per class" in text
    assert f"at most {store_module.NICKNAME_MAX} characters" in text
    assert f"locked for more than {store_module.BUSY_TIMEOUT_S:.0f} s" in text


def test_the_readme_states_the_boards_refresh():
    from app.classroom.board_view import REFRESH_S, STUDENT_REFRESH_S

    text = " ".join((REPO / "README.md").read_text().split())
    assert f"refreshes every {REFRESH_S:g} s on the projector and every {STUDENT_REFRESH_S:g} s on a phone" in text
