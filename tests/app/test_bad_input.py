"""Bad values from a client: URL values that overflow, typed numbers beyond int64, and the check
behind them (`app.url_settings.url_value_problem`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.url_settings import url_value_problem

REPO = Path(__file__).resolve().parents[2]


def run_page(page: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / page), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


@pytest.mark.parametrize("raw, default, low, high, problem", [
    ("1e309", 0, None, None, "not a finite number"),
    ("-inf", 0.05, None, None, "not a finite number"),
    ("nan", 0.05, None, None, "not a finite number"),
    ("lots", 0.05, None, None, "not a number"),
    ("1.5", 3, None, None, "not a whole number"),
    ("1e20", 3, None, None, "larger than"),
    ("1000", 0, 0, 999, "outside 0 to 999"),
    ("-0.1", 0.05, 0.0, 0.3, "outside 0 to 0.3"),
])
def test_bad_url_numbers_are_named(raw, default, low, high, problem):
    assert problem in url_value_problem(raw, default, low, high)


@pytest.mark.parametrize("raw, default", [("7", 0), ("0.1", 0.05), ("1e3", 5), ("anything", "FGSM"),
                                          ("true", True)])
def test_good_or_non_numeric_values_pass(raw, default):
    assert url_value_problem(raw, default, 0, 10_000) is None


@pytest.mark.parametrize("page, key, value, talk", [
    ("mnist.py", "mnist_digits", "1e309", 0),
    ("mnist.py", "mnist_eps", "1e309", 0.05),
    ("mnist.py", "mnist_digits", "5000", 0),
    ("recap.py", "recap_law_n", "1e309", 60_000),
    ("recap.py", "recap_law_p", "-5", None),
    ("draw.py", "draw_noise", "1e309", 0),
])
def test_an_overflowing_url_value_gets_a_message_and_the_talks_value(page, key, value, talk):
    query = {key: value}
    if page == "draw.py":
        query.update(draw_source="Pick a test digit", draw_attack="White noise")
    at = run_page(page, query)
    assert not at.exception, [e.message for e in at.exception]
    warnings = [w.value for w in at.warning if key in w.value]
    assert len(warnings) == 1 and value in warnings[0] and "talk's value" in warnings[0], warnings
    assert key not in at.query_params  # removed from the address bar too
    widget = next(w for w in (*at.number_input, *at.slider) if w.key == key)
    if talk is not None:
        assert widget.value == talk


def test_the_law_calculator_takes_n_times_d_beyond_int64():
    # n·d = 1e21 overflows int64 (9.2e18); typed and from a link alike.
    at = run_page("recap.py", {"recap_law_n": "1000000000000", "recap_law_d": "1000000000", "recap_law_p": "1000"})
    assert not at.exception, [e.message for e in at.exception]
    assert not at.warning
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Parameters for Lip ≈ 1: n·d"] == "1e+21"
    at.number_input(key="recap_law_d").set_value(999_999_999).run()
    assert not at.exception


def test_a_valid_link_shows_no_warning():
    at = run_page("mnist.py", {"mnist_digits": "7", "mnist_eps": "0.1"})
    assert not at.exception and not at.warning
    assert at.number_input(key="mnist_digits").value == 7
