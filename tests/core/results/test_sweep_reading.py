"""core.results.sweep_reading: fits per width rule and a verdict decided by its stated criterion."""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.results.sweep_reading import (
    LARGE_DIMS,
    law_floor_text,
    read_rule,
    read_split,
    read_sweep,
    split_text,
    verdict,
)


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
    assert "k = 10n/d networks goes from" in v.text  # the numbers are in the text
    assert "f_n" not in v.text  # f_n and f_nd name the MNIST networks, not the width rules


@pytest.mark.parametrize(
    "f_n,f_nd,phrase",
    [
        (lambda d: 1 + 0.8 * np.sqrt(d), lambda d: 3 + 0.3 * np.sqrt(d), "Both rise"),
        (lambda d: 1 + 0.8 * np.sqrt(d), lambda d: 20 - 0.5 * np.sqrt(d), "k = n falls"),
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


# --- the shipped sweeps: every quoted number is the data's ---------------------------------------

NUMBER = r"(-?\d+(?:\.\d+)?)"


def shipped(grid):
    from core.results.random_data import load_random_data_sweep

    return load_random_data_sweep(grid=grid)[0]


def mean_at(rows, rule, d, stat="grad_max"):
    return float(np.mean([r[stat] for r in rows if r["rule"] == rule and r["d"] == d and r["memorized"]]))


@pytest.mark.parametrize("grid", ["paper", "laptop", "control"])
def test_the_shipped_verdict_quotes_the_measured_ends_never_a_negative_norm(grid):
    data = shipped(grid)
    text = verdict(read_sweep(data)).text
    dims = sorted({r["d"] for r in data})
    m = re.search(rf"k = 10n/d networks goes from {NUMBER} to {NUMBER}.*k = n networks from {NUMBER} to "
                  rf"{NUMBER}", text)
    assert m, text
    quoted = [float(x) for x in m.groups()]
    assert min(quoted) > 0
    expected = [mean_at(data, "f_n", dims[0]), mean_at(data, "f_n", dims[-1]),
                mean_at(data, "f_nd", dims[0]), mean_at(data, "f_nd", dims[-1])]
    assert quoted == pytest.approx(expected, abs=0.006)
    assert "f_n" not in text


def test_the_verdict_follows_the_data_and_never_divides_by_a_fitted_intercept():
    data = shipped("paper")
    # The paper-scale fit of k = n crosses zero near the smallest d (intercept < 0); the verdict
    # reads the measured ends, so halving the k = n runs at the largest d changes the quote.
    assert read_rule(data, "f_nd").fitted_low < 1.0 < read_rule(data, "f_nd").measured_low
    d_max = max(r["d"] for r in data)
    flipped = [dict(r, grad_max=r["grad_max"] / 2) if r["rule"] == "f_nd" and r["d"] == d_max else r
               for r in data]
    before, after = read_rule(data, "f_nd"), read_rule(flipped, "f_nd")
    assert after.measured_high == pytest.approx(before.measured_high / 2)
    assert after.relative_change == pytest.approx(after.measured_high / after.measured_low - 1)
    assert f"to {after.measured_high:.2f} (slope" in verdict(read_sweep(flipped)).text
    # Flat by the measured ends: every k = n run equal at both ends of the grid.
    flat = [dict(r, grad_max=5.0) if r["rule"] == "f_nd" else r for r in data]
    assert verdict(read_sweep(flat)).kind == "as_predicted"


def test_the_law_floor_is_computed_from_the_data_and_stated_as_a_lower_bound():
    from core.experiments.robustness_law import law_lower_bound

    data = shipped("paper")
    d_max = max(r["d"] for r in data)
    row = next(r for r in data if r["rule"] == "f_n" and r["d"] == d_max)
    text = law_floor_text(data)
    floor = law_lower_bound(row["n"], d_max, row["p"])
    assert f"= {floor:.1f} at d = {d_max}" in text and "lower bound" in text
    assert f"there is {mean_at(data, 'f_n', d_max):.1f}" in text
    assert floor == pytest.approx(np.sqrt(d_max / 10), rel=0.05)  # p ≈ 10n: about sqrt(d/10)
    bigger = [dict(r, p=r["p"] * 4) if r["rule"] == "f_n" else r for r in data]
    assert f"= {floor / 2:.1f} at d = {d_max}" in law_floor_text(bigger)
    assert law_floor_text([r for r in data if r["rule"] == "f_nd"]) == ""


def test_the_split_reports_the_linear_part_against_the_line_by_d():
    data = shipped("laptop")
    dims = sorted({r["d"] for r in data})
    split = read_split(data, "f_nd")
    ratio = {d: float(np.mean([r["lin_norm"] / r["ls_slope_norm"] for r in data
                               if r["rule"] == "f_nd" and r["d"] == d and r["memorized"]])) for d in dims}
    assert split.ls_fraction_by_d == pytest.approx(ratio)
    top = [ratio[d] for d in dims[-LARGE_DIMS:]]
    text = split_text(split)
    assert (f"{ratio[dims[0]]:.0%} of its length at d = {dims[0]}, and {min(top):.0%} to {max(top):.0%} "
            f"at d = {', '.join(map(str, dims[-LARGE_DIMS:-1]))} and {dims[-1]}") in text
    assert "median" not in text.split("β")[1].split(")")[1]  # no single median for the length
    halved = [dict(r, lin_norm=r["lin_norm"] / 2) if r["d"] == dims[-1] else r for r in data]
    assert f"{ratio[dims[-1]] / 2:.0%}" in split_text(read_split(halved, "f_nd"))


def test_a_control_linear_part_is_not_said_to_point_along_the_line():
    text = split_text(read_split(shipped("control"), "f_nd"))
    assert "does not point along" in text


def test_the_paper_scale_reading_says_no_split_was_recorded_there():
    from app.charts.random_data import law_and_line_text

    paper, laptop = law_and_line_text(shipped("paper")), law_and_line_text(shipped("laptop"))
    assert read_split(shipped("paper"), "f_nd") is None
    assert "not recorded at this scale" in paper and "measures how much" not in paper
    assert "measures how much" in laptop and "not recorded" not in laptop


def test_the_readme_quotes_the_control_as_the_data_says():
    from pathlib import Path

    data = shipped("control")
    dims = sorted({r["d"] for r in data})
    rise = mean_at(data, "f_n", dims[-1]) / mean_at(data, "f_n", dims[0])
    fall = (mean_at(data, "f_nd", dims[0]), mean_at(data, "f_nd", dims[-1]))
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    paragraph = readme[readme.index("The even-activation control"):].split("\n\n")[0].replace("\n", " ")
    assert "as the paper describes" not in paragraph
    assert f"×{rise:.1f}" in paragraph
    assert f"{fall[0]:.1f} → {fall[1]:.1f}" in paragraph
    assert f"d = {dims[0]} to {dims[-1]}" in paragraph
    assert f"sqrt(d) grows ×{np.sqrt(dims[-1] / dims[0]):.1f}" in paragraph
