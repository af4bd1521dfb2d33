"""app/classroom/key.py: the lecturer key, from LECTURE_KEY or made once per process, compared in
constant time; a bad LECTURE_KEY is refused with the fix."""

from __future__ import annotations

import hmac

import pytest

from app.classroom import key
from core.errors import InputError


@pytest.fixture
def fresh(monkeypatch):
    """No LECTURE_KEY, and no key made by this process yet."""
    monkeypatch.delenv(key.LECTURE_KEY_ENV, raising=False)
    monkeypatch.setattr(key, "_made", None)
    return monkeypatch


def test_a_made_key_is_long_random_and_easy_to_type():
    keys = {key.make_key() for _ in range(200)}
    assert len(keys) == 200
    for k in keys:
        assert len(k) == key.KEY_LENGTH == 12 and set(k) <= set(key.KEY_ALPHABET)
    assert not set("0o1li") & set(key.KEY_ALPHABET) and len(key.KEY_ALPHABET) == 31
    assert set("".join(keys)) == set(key.KEY_ALPHABET)  # every symbol drawn (200 x 12 draws of 31)


def test_the_key_from_the_environment_is_the_lectures(fresh):
    fresh.setenv(key.LECTURE_KEY_ENV, "k7mdq2xwhe4p")
    assert key.lecture_key() == "k7mdq2xwhe4p"
    assert key.is_lecture_key("k7mdq2xwhe4p") and key.is_lecture_key(" k7mdq2xwhe4p\n")
    for wrong in ("k7mdq2xwhe4P", "k7mdq2xwhe4", "k7mdq2xwhe4pp", "x7mdq2xwhe4p", "k7mdq 2xwhe4p"):
        assert not key.is_lecture_key(wrong), wrong


def test_without_the_environment_one_key_is_made_per_process_and_printed_once(fresh, capsys):
    first = key.lecture_key()
    assert key.lecture_key() == first and key.is_lecture_key(first)
    err = capsys.readouterr().err
    assert err.count("Lecturer key:") == 1
    assert f"Lecturer key: {first} (type it into the presenter's Lecturer field)" in err


@pytest.mark.parametrize("typed", [None, 12345678, b"k7mdq2xwhe4p", ["k7mdq2xwhe4p"], "", "   ",
                                   "k7mdq2xwhe4p" + " " * 200, "x" * 201])
def test_anything_but_the_key_as_text_is_refused(fresh, typed):
    fresh.setenv(key.LECTURE_KEY_ENV, "k7mdq2xwhe4p")
    assert key.is_lecture_key(typed) is False


def test_an_overlong_guess_is_refused_before_any_comparison(fresh):
    calls, real = [], hmac.compare_digest
    fresh.setattr(key.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    fresh.setenv(key.LECTURE_KEY_ENV, "k7mdq2xwhe4p")
    assert not key.is_lecture_key("k" * 201) and calls == []
    assert key.is_lecture_key("k7mdq2xwhe4p") and len(calls) == 1  # the real check goes through compare_digest


@pytest.mark.parametrize("bad, says", [("short12", "7 characters, fewer than 8"), ("x" * 201, "more than 200"),
                                       ("has space1", "whitespace"), ("tab\there12", "whitespace"),
                                       ("bell\x07bell", "cannot be typed")])
def test_a_bad_key_in_the_environment_is_refused_with_the_fix(fresh, bad, says):
    fresh.setenv(key.LECTURE_KEY_ENV, bad)
    with pytest.raises(InputError, match=says) as error:
        key.lecture_key()
    assert "set LECTURE_KEY to at least 8" in str(error.value) and bad not in str(error.value)
    with pytest.raises(InputError):  # never a silent False: the lecturer sees why no key works
        key.is_lecture_key("k7mdq2xwhe4p")


def test_any_printable_key_of_eight_or_more_is_accepted(fresh):
    for given in ("12345678", "Ünïcödé-kéy", "a" * 200, "p@ss:w0rd!"):
        fresh.setenv(key.LECTURE_KEY_ENV, given)
        assert key.lecture_key() == given and key.is_lecture_key(given)
