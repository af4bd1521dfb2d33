"""The lecturer key: one per lecture, typed into the presenter's Lecturer field, checked here.

Whoever starts the lecture makes it once and hands it to every app process in the environment
variable `LECTURE_KEY`: deploy/serve_class.py (`make class`) for all its processes, restarted ones
included, deploy/serve_app.py (`make app`) for its one; both print it on their console as
`key_line` words it. A plain `streamlit run streamlit_app.py` without LECTURE_KEY makes one per
process on first use and prints that line once to stderr.

    make_key()             -> "k7mdq2xwhe4p"  (12 characters, no 0/o/1/l/i: easy to read and type)
    lecture_key()          -> this lecture's key
    is_lecture_key(typed)  -> whether `typed` is it (constant-time comparison)

No streamlit here: deploy/ imports this module before Streamlit starts.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sys
import threading

from core.errors import InputError

LECTURE_KEY_ENV = "LECTURE_KEY"
# Lower case and digits without the look-alikes 0/o, 1/l/i: 31 symbols, about 5 bits each.
KEY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
KEY_LENGTH = 12  # about 59 bits: far beyond guessing at any rate a server answers
MIN_KEY_LENGTH, MAX_KEY_LENGTH = 8, 200  # what LECTURE_KEY may hold; longer typed text is refused unread

_lock = threading.Lock()
_made: str | None = None  # this process's own key, when LECTURE_KEY is unset


def make_key(length: int = KEY_LENGTH) -> str:
    """A new random key: `length` characters of `KEY_ALPHABET`, from the `secrets` module."""
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(length))


def check_key(key: str) -> str:
    """A key given in LECTURE_KEY, checked: 8 to 200 printable characters, no whitespace.

    Raises InputError with the fix otherwise (the key itself is not repeated in the message)."""
    fix = (f"set {LECTURE_KEY_ENV} to at least {MIN_KEY_LENGTH} printable characters without spaces "
           f"(at most {MAX_KEY_LENGTH}), or unset it and a key is made and printed on the console")
    if not isinstance(key, str):
        raise InputError(f"{LECTURE_KEY_ENV} is not text: {fix}")
    if len(key) < MIN_KEY_LENGTH:
        raise InputError(f"{LECTURE_KEY_ENV} holds {len(key)} characters, fewer than {MIN_KEY_LENGTH}: {fix}")
    if len(key) > MAX_KEY_LENGTH:
        raise InputError(f"{LECTURE_KEY_ENV} holds {len(key)} characters, more than {MAX_KEY_LENGTH}: {fix}")
    if not key.isprintable() or any(c.isspace() for c in key):
        raise InputError(f"{LECTURE_KEY_ENV} holds whitespace or a character that cannot be typed: {fix}")
    return key


def key_line(key: str) -> str:
    """The console line that hands the key to the lecturer (as Jupyter prints its token)."""
    return f"Lecturer key: {key} (type it into the presenter's Lecturer field)"


def lecture_key() -> str:
    """This lecture's key: LECTURE_KEY (checked by `check_key`) when set, else one made for this
    process on first use and printed once to stderr with `key_line`."""
    global _made
    given = os.environ.get(LECTURE_KEY_ENV)
    if given:
        return check_key(given)
    with _lock:
        if _made is None:
            _made = make_key()
            print(key_line(_made) + f" [made by this process: no {LECTURE_KEY_ENV} was set]",
                  file=sys.stderr, flush=True)
        return _made


def is_lecture_key(typed: object) -> bool:
    """Whether `typed` is this lecture's key, compared in constant time (hmac.compare_digest).

    Surrounding whitespace is ignored (a pasted key often carries a newline). False for anything
    that is not a str, for an empty one and for one over 200 characters (refused before comparing).
    """
    if not isinstance(typed, str):
        return False
    text = typed.strip()
    if not text or len(typed) > MAX_KEY_LENGTH:
        return False
    return hmac.compare_digest(text.encode("utf-8"), lecture_key().encode("utf-8"))
