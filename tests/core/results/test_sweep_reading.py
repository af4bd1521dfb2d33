"""core.results.sweep_reading: fits per width rule and a verdict decided by its stated criterion."""

from __future__ import annotations

import numpy as np
import pytest

from core.results.sweep_reading import read_rule, read_sweep, verdict


def rows(f_n, f_nd, dims=(10, 40, 90, 160, 250, 490), memorized=lambda d, rule: True):
    return [{"d": d, "rule": rule, "seed": 0, "memorized": memorized(d, rule), "grad_max": g(d)}
            for d in dims for rule, g in (("f_n", f_n), ("f_nd", f_nd))]


def test_fit_recovers_slope_and_ends():
    r = read_rule(rows(lambda d: 1 + 0.5 * np.sqrt(d), lambda d: 2.0), "f_n")
    assert (r.slope, r.intercept, r.r2) == pytest.approx((0.5, 1.0, 1.0))
    assert (r.d_min, r.d_max) == (10, 490)
    assert r.fitted_high == pytest.approx(1 + 0.5 * np.sqrt(490))
    assert r.line(np.array([100.0])) == pytest.approx([6.0])


def test_unmemorized_runs_are_left_out_of_the_fit():
    data = rows(lambda d: np.sqrt(d), lambda d: 2.0, memorized=lambda d, rule: d != 490)
    data.append({"d": 490, "rule": "f_n", "seed": 1, "memorized": False, "grad_max": 1e6})
    r = read_rule(data, "f_n")
    assert (r.runs, r.memorized, r.d_max) == (7, 5, 250)
    assert r.slope == pytest.approx(1.0)


@pytest.mark.parametrize(
    "f_n,f_nd,kind",
    [
        (lambda d: 1 + 0.8 * np.sqrt(d), lambda d: 3.0, "as_predicted"),
        (lambda d: 1 + 0.8 * np.sqrt(d), lambda d: 3 + 0.3 * np.sqrt(d), "ordering_only"),
        (lambda d: 1 + 0.3 * np.sqrt(d), lambda d: 1 + 0.5 * np.sqrt(d), "not_separated"),
        (lambda d: 3.0, lambda d: 3.0, "not_separated"),
    ],
)
def test_verdict_kinds(f_n, f_nd, kind):
    v = verdict(read_sweep(rows(f_n, f_nd)))
    assert v.kind == kind
    assert "25%" in v.criterion
    assert "f_n goes from" in v.text  # the numbers are in the text


@pytest.mark.parametrize(
    "f_n,f_nd,phrase",
    [
        (lambda d: 1 + 0.8 * np.sqrt(d), lambda d: 3 + 0.3 * np.sqrt(d), "Both rise"),
        (lambda d: 1 + 0.8 * np.sqrt(d), lambda d: 20 - 0.5 * np.sqrt(d), "f_nd falls"),
        (lambda d: 10 + 0.01 * np.sqrt(d), lambda d: 10 - 0.01 * np.sqrt(d), "too little"),
    ],
)
def test_ordering_only_says_what_happened(f_n, f_nd, phrase):
    v = verdict(read_sweep(rows(f_n, f_nd)))
    assert v.kind == "ordering_only" and phrase in v.text


def test_too_few_memorized_dimensions_give_no_fit():
    data = rows(lambda d: 1.0, lambda d: 1.0, dims=(10, 40),
                memorized=lambda d, rule: rule == "f_nd" or d == 10)
    readings = read_sweep(data)
    assert not readings["f_n"].fitted and readings["f_nd"].fitted
    assert verdict(readings).kind == "too_few"
    with pytest.raises(ValueError):
        readings["f_n"].line(np.array([10.0]))
