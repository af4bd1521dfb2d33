"""app/accessible.py: chart descriptions and data tables computed from the chart's own spec and
rows, and alt texts that say the digit, the attack and its eps, and each network's answer.
(The same in a browser, with axe-core: tests/browser/test_accessibility.py.)"""

from __future__ import annotations

import re

import pytest

from app import accessible, shipped
from app.charts import mnist as mnist_charts


@pytest.fixture(scope="module")
def fgsm_curve():
    spec, rows = mnist_charts.curves(shipped.pretrained_root())["fgsm"]
    return spec, rows


def test_a_chart_description_is_computed_from_its_spec_and_rows(fgsm_curve):
    spec, rows = fgsm_curve
    text = accessible.chart_description(spec, rows)
    assert text.startswith(spec["title"] + ". ")
    assert "test accuracy against eps" in text  # the axis titles
    assert f"a table of {len(rows)} rows" in text
    models = sorted({r["model"] for r in rows})
    assert all(m in text for m in models)
    # Without rows given, the spec's own dataset is read.
    assert accessible.chart_description(spec) == text
    assert accessible.described(spec, rows)["description"] == text
    assert "description" not in spec  # the cached spec is untouched


def test_the_data_table_is_html_with_headers_and_every_row(fgsm_curve):
    spec, rows = fgsm_curve
    html = accessible.table_html(spec, rows)
    assert html.startswith("<table><caption>")
    assert html.count("<th scope='col'>") == len(rows[0])
    assert html.count("<tr>") == len(rows) + 1


def test_a_long_table_is_thinned_evenly_and_says_so():
    rows = [{"x": i, "y": i * i} for i in range(1000)]
    spec = {"mark": "line", "encoding": {"x": {"field": "x"}, "y": {"field": "y"}}, "title": "t"}
    html = accessible.table_html(spec, rows)
    assert html.count("<tr>") == accessible.TABLE_ROWS_MAX + 1
    assert f"{accessible.TABLE_ROWS_MAX} of its 1000 rows" in html
    assert "<td>0</td>" in html and "<td>999</td>" in html  # first and last kept


def test_alt_texts_say_digit_attack_eps_and_answers():
    clean = accessible.digit_alt(7, answers=[("f_n", 7, 0.98), ("f_nd", 1, 0.6)])
    assert clean == ("Test digit, labelled 7: f_n answers 7 with 98% confidence, right; "
                     "f_nd answers 1 with 60% confidence, wrong.")
    attacked = accessible.attacked_alt("f_n", accessible.budget_text("FGSM", 0.05), 7, 3, 0.84)
    assert re.search(r"labelled 7 after FGSM at eps 0\.050.*f_n answers 3 with 84% confidence, wrong", attacked)
    noise = accessible.budget_text("White noise", 0.1, eps=False)
    assert noise == "White noise of std 0.10"
    assert "largest pixel change 0.050" in accessible.perturbation_alt("f_nd", "FGSM at eps 0.050", 0.05)
    assert "0.050" in accessible.legend_alt(0.05)


def test_a_verdict_change_is_worded_for_a_screen_reader():
    assert accessible.verdicts_text([("f_n", 7, 3), ("f_nd", 7, 7)]) == \
        "f_n now answers 3 (clean 7, changed). f_nd still answers 7."


def test_full_motion_outside_a_running_app():
    assert accessible.reduced_motion() is False


def test_without_rows_the_largest_dataset_of_any_layer_is_the_table():
    from app.charts import capacity

    spec, rows = capacity.size_figure(capacity.pretrained_root(), capacity.TALK_EPS)
    assert len(accessible.rows_of(spec)) == len(rows)  # the curves' rows, not an annotation's
    assert "accuracy against parameters p (log scale)" in accessible.chart_description(spec)


def test_a_charts_description_and_table_are_made_once_per_cached_chart():
    from app import accessible

    rows = [{"eps": 0.1 * i, "accuracy": 1 - 0.1 * i} for i in range(5)]
    spec = {"title": "Accuracy", "mark": "line", "data": {"values": rows},
            "encoding": {"x": {"field": "eps", "type": "quantitative"}, "y": {"field": "accuracy", "type": "quantitative"}}}
    first = accessible.chart_parts(spec, spec, rows)
    assert first[0] == accessible.chart_description(spec, rows) and "<table>" in first[1]
    # The same rows under a rebuilt spec (a marker added each run): no new work, the same parts.
    calls = []
    original = accessible.chart_description
    accessible.chart_description = lambda *a: calls.append(a) or original(*a)
    try:
        again = accessible.chart_parts({**spec}, {**spec}, rows)
        other_rows = [dict(r) for r in rows]
        fresh = accessible.chart_parts(spec, spec, other_rows)  # other rows: computed anew
    finally:
        accessible.chart_description = original
    assert again == first and len(calls) == 1 and fresh == first
