"""One state for the whole class: the board's drawings, the polls and their votes, the class settings.

Every app process of `make class` serves some of the students; they share this one SQLite file
(the standard library's sqlite3, write-ahead log), so a vote counts whichever process took it, and the
projector (on another process) sees it. The file's path: the environment variable `LECTURE_DB`, else
`classroom-data/class.sqlite3` in the repository (git-ignored).

Durability: each write is one transaction; a process killed in the middle of one leaves the file as
it was before it (tests/app/test_class_store.py kills writers). `synchronous=NORMAL` in WAL mode: a
committed write survives a killed process; only a power cut may lose the last few.

Errors: the database locked for longer than `BUSY_TIMEOUT_S`, a damaged file, a folder that cannot be
written: all raise `StoreError`, whose message names the fix. The pages show it in the board and
poll sections only; the rest of the app does not touch this file.

No streamlit here: the board's worker process (app/classroom/measure.py) uses it too.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError, RobustnessError

REPO = Path(__file__).resolve().parents[2]
DB_ENV = "LECTURE_DB"
DEFAULT_DB = REPO / "classroom-data" / "class.sqlite3"
BUSY_TIMEOUT_S = 2.0  # a write waits this long for another process's, then says so
MAX_ENTRIES = 500  # drawings one class may keep on its board
ENTRY_INTERVAL_S = 10.0  # one drawing per student per this many seconds
NICKNAME_MAX = 20
MAX_ATTEMPTS = 3  # a drawing whose measuring failed this often is marked failed
STALE_CLAIM_S = 60.0  # a claim older than this (its worker died) is taken again
POLL_STATES = ("waiting", "open", "closed", "revealed")


class StoreError(RobustnessError):
    """The class database cannot be read or written (locked, damaged, not writable)."""


class BoardFullError(RobustnessError):
    """The board already holds `MAX_ENTRIES` drawings."""


class TooSoonError(RobustnessError):
    """This student sent a drawing less than `ENTRY_INTERVAL_S` ago."""


class PollClosedError(RobustnessError):
    """A vote for a poll that is not open."""


@dataclass(frozen=True)
class Entry:
    """One drawing on the board. pixels: uint8 [784] (0 black .. 255 white strokes, the networks'
    input times 255); state: pending, working, done or failed; measures (when done): network name ->
    {"label", "confidence", "fgsm", "pgd"} (flip eps as floats, None where no eps up to 0.3 flips)."""

    id: int
    created: float
    digit: int
    nickname: str
    pixels: np.ndarray
    hidden: bool
    state: str
    measures: dict | None
    error: str = ""

    @property
    def image(self) -> np.ndarray:
        """The drawing as the networks' input: float32 [1, 784] in [0, 1]."""
        return (self.pixels.astype(np.float32) / 255.0).reshape(1, 784)


SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, student TEXT NOT NULL,
    digit INTEGER NOT NULL, nickname TEXT NOT NULL DEFAULT '', pixels BLOB NOT NULL,
    hidden INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'pending', claimed REAL,
    attempts INTEGER NOT NULL DEFAULT 0, measures TEXT, error TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS entries_student ON entries (student, created);
CREATE INDEX IF NOT EXISTS entries_state ON entries (state, id);
CREATE TABLE IF NOT EXISTS polls (id TEXT PRIMARY KEY, state TEXT NOT NULL, changed REAL NOT NULL);
CREATE TABLE IF NOT EXISTS votes (
    poll TEXT NOT NULL, student TEXT NOT NULL, choice INTEGER NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (poll, student));
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('version', 0);
"""


def db_path() -> Path:
    """Where the class's database lives: $LECTURE_DB, else classroom-data/class.sqlite3."""
    raw = os.environ.get(DB_ENV, "").strip()
    return Path(raw).expanduser() if raw else DEFAULT_DB


def _explain(exc: sqlite3.Error, path: Path) -> StoreError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreError("The class database is busy (another process holds it longer than "
                          f"{BUSY_TIMEOUT_S:.0f} s): try again in a moment.")
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text
                                                   or "corrupt" in text):
        return StoreError(f"The class database {path} is damaged ({exc}). The lecturer can move it away "
                          "(the board and polls then start empty) and restart the app; the rest of the "
                          "app works meanwhile.")
    return StoreError(f"The class database {path} cannot be used ({exc}). Check that its folder is "
                      f"writable, or set {DB_ENV} to another file.")


class ClassStore:
    """The class's state in one SQLite file, for every thread and process that opens the same path.

    Thread-safe: one connection per thread (sqlite3's rule). Every method raises `StoreError` for
    a database it cannot use; the board and poll methods raise their own errors for what a
    student did (`TooSoonError`, `BoardFullError`, `PollClosedError`, `InputError`).
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else db_path()
        self._local = threading.local()
        self._ready = False
        self._ready_lock = threading.Lock()

    # --- connections -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with self._ready_lock:
                if not self._ready:
                    conn.executescript(SCHEMA)
                    self._ready = True
        except (sqlite3.Error, OSError) as exc:
            raise _explain(exc, self.path) if isinstance(exc, sqlite3.Error) else StoreError(
                f"The class database's folder {self.path.parent} cannot be created or written ({exc}). "
                f"Set {DB_ENV} to a file in a writable folder.") from exc
        self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: writers queue at the start, not at commit); it
        bumps the class's version, which the projector's refresh compares."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("UPDATE meta SET value = value + 1 WHERE name = 'version'")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from exc

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            return self._connect().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from exc

    def version(self) -> int:
        """A number that changes with every write: a refresh that sees the same one can skip its work."""
        return int(self._read("SELECT value FROM meta WHERE name = 'version'")[0][0])

    def check(self) -> None:
        """Raise `StoreError` unless the file is a sound database (PRAGMA quick_check)."""
        result = self._read("PRAGMA quick_check")
        if result != [("ok",)]:
            raise StoreError(f"The class database {self.path} is damaged ({result[0][0]}). The lecturer "
                             "can move it away and restart the app.")

    # --- the board ---------------------------------------------------------------------------

    def add_entry(self, student: str, digit: int, pixels: np.ndarray, nickname: str = "",
                  now: float | None = None) -> int:
        """Store a student's drawing, pending its measures; returns its id.

        student: the session's id (`TooSoonError` within ENTRY_INTERVAL_S of its last one);
        digit: the digit the student meant, 0-9; pixels: [784] or [28, 28] in [0, 1];
        nickname: cleaned by `clean_nickname`."""
        now = time.time() if now is None else now
        if not isinstance(digit, (int, np.integer)) or isinstance(digit, bool) or not 0 <= int(digit) <= 9:
            raise InputError(f"The digit you meant must be a whole number from 0 to 9, not {digit!r}.")
        stored = pixels_to_bytes(pixels)
        name = clean_nickname(nickname)
        with self._write() as conn:
            last = conn.execute("SELECT MAX(created) FROM entries WHERE student = ?", (student,)).fetchone()[0]
            if last is not None and now - last < ENTRY_INTERVAL_S:
                wait = ENTRY_INTERVAL_S - (now - last)
                raise TooSoonError(f"One drawing every {ENTRY_INTERVAL_S:.0f} s each: send this one in "
                                   f"{max(1, round(wait))} s.")
            count = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
            if count >= MAX_ENTRIES:
                raise BoardFullError(f"The board is full ({MAX_ENTRIES} drawings): the lecturer can clear it.")
            cur = conn.execute("INSERT INTO entries (created, student, digit, nickname, pixels) VALUES (?, ?, ?, ?, ?)",
                               (now, student, int(digit), name, stored))
            return int(cur.lastrowid)

    def entries(self, include_hidden: bool = False) -> list[Entry]:
        """The board's drawings, oldest first (hidden ones only if asked)."""
        return self._select("" if include_hidden else "WHERE hidden = 0")

    def _select(self, where: str, args: tuple = ()) -> list[Entry]:
        rows = self._read("SELECT id, created, digit, nickname, pixels, hidden, state, measures, error FROM entries "
                          f"{where} ORDER BY id", args)
        return [Entry(r[0], r[1], r[2], r[3], np.frombuffer(r[4], dtype=np.uint8).copy(), bool(r[5]), r[6],
                      json.loads(r[7]) if r[7] else None, r[8]) for r in rows]

    def entry_count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM entries")[0][0])

    def student_entries(self, student: str) -> list[int]:
        """Ids of this student's drawings, oldest first."""
        return [r[0] for r in self._read("SELECT id FROM entries WHERE student = ? ORDER BY id", (student,))]

    def claim_next(self, now: float | None = None) -> Entry | None:
        """Take the oldest drawing that waits for its measures (or whose worker died), for one worker."""
        now = time.time() if now is None else now
        with self._write() as conn:
            row = conn.execute(
                "SELECT id FROM entries WHERE state = 'pending' OR (state = 'working' AND claimed < ?) "
                "ORDER BY id LIMIT 1", (now - STALE_CLAIM_S,)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE entries SET state = 'working', claimed = ?, attempts = attempts + 1 WHERE id = ?",
                         (now, row[0]))
            if conn.execute("SELECT attempts FROM entries WHERE id = ?", (row[0],)).fetchone()[0] > MAX_ATTEMPTS:
                conn.execute("UPDATE entries SET state = 'failed', error = ? WHERE id = ?",
                             ("measuring it failed repeatedly", row[0]))
                return None
        found = self._select("WHERE id = ?", (row[0],))
        return found[0] if found else None

    def finish(self, entry_id: int, measures: dict) -> None:
        """Store a drawing's measures (network -> {"label", "confidence", "fgsm", "pgd"})."""
        with self._write() as conn:
            conn.execute("UPDATE entries SET state = 'done', measures = ? WHERE id = ?",
                         (json.dumps(measures, allow_nan=False), entry_id))

    def fail(self, entry_id: int, error: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE entries SET state = 'failed', error = ? WHERE id = ?", (error[:200], entry_id))

    def hide_entry(self, entry_id: int, hidden: bool = True) -> None:
        with self._write() as conn:
            conn.execute("UPDATE entries SET hidden = ? WHERE id = ?", (int(hidden), int(entry_id)))

    def clear_board(self) -> int:
        """Delete every drawing; returns how many."""
        with self._write() as conn:
            return conn.execute("DELETE FROM entries").rowcount

    # --- polls -------------------------------------------------------------------------------

    def poll_state(self, poll: str) -> str:
        """waiting (never opened), open, closed or revealed."""
        rows = self._read("SELECT state FROM polls WHERE id = ?", (poll,))
        return rows[0][0] if rows else "waiting"

    def poll_states(self) -> dict[str, str]:
        return dict(self._read("SELECT id, state FROM polls"))

    def set_poll_state(self, poll: str, state: str) -> None:
        """Open, close or reveal a poll (the lecturer's actions; app/classroom/lecturer.py checks the key).
        Opening a poll closes any other open one: the class answers one question at a time."""
        if state not in POLL_STATES:
            raise InputError(f"A poll's state is one of {', '.join(POLL_STATES)}, not {state!r}.")
        now = time.time()
        with self._write() as conn:
            if state == "open":
                conn.execute("UPDATE polls SET state = 'closed', changed = ? WHERE state = 'open' AND id != ?",
                             (now, poll))
            conn.execute("INSERT INTO polls VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
                         "changed = excluded.changed", (poll, state, now))

    def open_poll(self) -> str | None:
        """The id of the poll now open, if any."""
        rows = self._read("SELECT id FROM polls WHERE state = 'open' ORDER BY changed DESC LIMIT 1")
        return rows[0][0] if rows else None

    def vote(self, poll: str, student: str, choice: int, choices: int) -> None:
        """This student's answer (one per student; a new one replaces it while the poll is open)."""
        if not isinstance(choice, (int, np.integer)) or isinstance(choice, bool) or not 0 <= int(choice) < choices:
            raise InputError(f"A vote is one of the {choices} answers shown, not {choice!r}.")
        with self._write() as conn:
            row = conn.execute("SELECT state FROM polls WHERE id = ?", (poll,)).fetchone()
            if row is None or row[0] != "open":
                raise PollClosedError("This poll is not open: votes count only while the lecturer has it open.")
            conn.execute("INSERT INTO votes VALUES (?, ?, ?, ?) ON CONFLICT (poll, student) DO UPDATE SET "
                         "choice = excluded.choice, at = excluded.at", (poll, student, int(choice), time.time()))

    def my_vote(self, poll: str, student: str) -> int | None:
        rows = self._read("SELECT choice FROM votes WHERE poll = ? AND student = ?", (poll, student))
        return int(rows[0][0]) if rows else None

    def counts(self, poll: str, choices: int) -> list[int]:
        """Votes per answer, in the answers' order."""
        out = [0] * choices
        for choice, n in self._read("SELECT choice, COUNT(*) FROM votes WHERE poll = ? GROUP BY choice", (poll,)):
            if 0 <= choice < choices:
                out[choice] = n
        return out

    # --- settings and reset --------------------------------------------------------------------

    def setting(self, name: str, default: str = "") -> str:
        rows = self._read("SELECT value FROM settings WHERE name = ?", (name,))
        return rows[0][0] if rows else default

    def set_setting(self, name: str, value: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                         (name, value))

    def reset_class(self) -> None:
        """Forget the class: drawings, polls, votes and settings."""
        with self._write() as conn:
            for table in ("entries", "polls", "votes", "settings"):
                conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def pixels_to_bytes(pixels: np.ndarray) -> bytes:
    """A drawing [784] or [28, 28] (or [1, 784]) in [0, 1] as 784 uint8 bytes; `InputError` otherwise."""
    arr = np.asarray(pixels)
    if arr.size != 784 or arr.dtype.kind not in "fiu":
        raise InputError(f"A drawing is 28x28 = 784 pixels in [0, 1]; got shape {arr.shape}.")
    arr = arr.astype(np.float64).reshape(784)
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise InputError("A drawing's pixels must be finite numbers in [0, 1].")
    return np.rint(arr * 255).astype(np.uint8).tobytes()


def clean_nickname(raw: object) -> str:
    """A nickname as stored: printable characters only, spaces collapsed, at most NICKNAME_MAX long.

    Escaping for HTML happens where it is shown; this keeps control characters and very long names
    out. `InputError` for a non-string or one longer than NICKNAME_MAX once cleaned."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InputError("A nickname is text.")
    text = " ".join("".join(ch for ch in raw if ch.isprintable()).split())
    if len(text) > NICKNAME_MAX:
        raise InputError(f"A nickname is at most {NICKNAME_MAX} characters (this one has {len(text)}).")
    return text
