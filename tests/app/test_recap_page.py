"""The recap page under AppTest: the live double-descent curve, the law's calculator, URL-driven
sliders, the reset, and a clear error (with a working page) when the intrinsic dimension is missing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

import core.results.pretrained as pretrained
from core.results.recap import FALLBACK_DIM, load_intrinsic_dim
from core.specs import MNIST_MODELS

REPO = Path(__file__).resolve().parents[2]
PAGE = str(REPO / "pages" / "recap.py")


def run_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def chart_frames(chart) -> list:
    """The data sets of a rendered Altair chart (AppTest element), as pandas frames."""
    return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]


def metric(at: AppTest, label_start: str) -> str:
    found = [m.value for m in at.metric if m.label.startswith(label_start)]
    assert found, f"no metric starting with {label_start!r}: {[m.label for m in at.metric]}"
    return found[0]


@pytest.fixture(scope="module")
def default_run() -> AppTest:
    return run_page()


def test_the_contents_at_the_top_link_to_every_section(default_run):
    """A table of contents before the first section: one link per header, to its anchor."""
    at = default_run
    contents = next(m.value for m in at.markdown if m.value.startswith("**On this page**"))
    headers = [(h.value, h.proto.anchor) for h in at.header]
    assert len(headers) == 5 and all(anchor for _, anchor in headers)
    assert contents.count("- [") == len(headers)
    for title, anchor in headers:
        assert f"- [{title}](#{anchor})" in contents


def test_page_runs_with_every_section_and_prompt(default_run):
    at = default_run
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    headers = [h.value for h in at.header]
    for word in ("Classical", "Memorization", "Smoothness", "universal law", "FGSM"):
        assert any(word in h for h in headers), (word, headers)
    notices = [i.value for i in at.info if i.value.startswith("**What to notice.**")]
    assert len(notices) >= 5
    assert len(at.get("vega_lite_chart")) >= 6
    # Every chart comes with PNG, SVG and CSV downloads.
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("PNG") == labels.count("SVG") == labels.count("CSV") == len(at.get("vega_lite_chart"))


def test_double_descent_curve_is_computed_and_peaks_at_p_equals_n(default_run):
    chart = default_run.get("vega_lite_chart")[0]
    curve = next(f for f in chart_frames(chart) if "test error" in f.columns)
    assert len(curve) > 10
    peak = curve.loc[curve["test error"].idxmax()]
    assert peak["p/n"] == pytest.approx(1.0)
    assert peak["test error"] > 3 * curve["test error"].iloc[-1]
    assert any("peaks at **p/n = 1**" in m.value for m in default_run.markdown)


def test_double_descent_follows_its_sliders():
    at = run_page({"recap_dd_n": "100"})
    curve = next(f for f in chart_frames(at.get("vega_lite_chart")[0]) if "test error" in f.columns)
    assert int(curve.loc[curve["p/n"] == 1.0, "features p"].iloc[0]) == 100


def test_calculator_gives_sqrt_nd_over_p_for_the_big_mnist_model(default_run):
    big = MNIST_MODELS["f_nd"].param_count
    expected = math.sqrt(60_000 * 784 / big)
    assert big == 3_000_340 and expected == pytest.approx(3.9596, abs=1e-4)
    assert metric(default_run, "Lower bound on Lip(f)") == f"{expected:.3g}" == "3.96"
    latex = " ".join(el.value for el in default_run.get("latex"))
    assert "60{,}000 \\times 784" in latex and "3{,}000{,}340" in latex


def test_calculator_follows_its_inputs():
    at = run_page()
    at.number_input(key="recap_law_n").set_value(1000)
    at.number_input(key="recap_law_d").set_value(100)
    at.number_input(key="recap_law_p").set_value(1000).run()
    assert not at.exception
    assert metric(at, "Lower bound on Lip(f)") == "10"  # sqrt(1000 * 100 / 1000)
    at.number_input(key="recap_law_p").set_value(100_000).run()
    assert metric(at, "Lower bound on Lip(f)") == "1"  # p = n d


def test_the_mnist_models_sit_on_the_law_chart(default_run):
    charts = default_run.get("vega_lite_chart")
    law = next(c for c in charts
               if any("bound" in f.columns and "model" in f.columns for f in chart_frames(c)))
    models = next(f for f in chart_frames(law) if "model" in f.columns and "bound" in f.columns)
    for spec in MNIST_MODELS.values():
        row = models[(models["model"] == spec.label) & models["dimension"].str.startswith("d =")]
        assert row["p"].iloc[0] == spec.param_count
        assert row["bound"].iloc[0] == pytest.approx(math.sqrt(60_000 * 784 / spec.param_count))


def test_query_params_drive_the_sliders():
    at = run_page({"recap_dd_n": "300", "recap_dd_noise": "0.25", "recap_fgsm_eps": "0.1",
                   "recap_law_p": "120055", "recap_law_deff": "20"})
    assert not at.exception
    assert at.slider(key="recap_dd_n").value == 300
    assert at.slider(key="recap_dd_noise").value == 0.25
    assert at.slider(key="recap_fgsm_eps").value == 0.1
    assert at.slider(key="recap_law_deff").value == 20.0
    assert metric(at, "Lower bound on Lip(f)") == f"{math.sqrt(60_000 * 784 / 120_055):.3g}"


def test_invalid_query_params_fall_back_to_the_talk_settings():
    at = run_page({"recap_dd_n": "many", "recap_dd_noise": "7", "recap_law_p": "-5",
                   "recap_geo_d": "3", "recap_fgsm_d": "x"})
    assert not at.exception, at.exception
    assert at.slider(key="recap_dd_n").value == 200
    assert at.slider(key="recap_dd_noise").value == 0.5
    assert at.number_input(key="recap_law_p").value == MNIST_MODELS["f_nd"].param_count
    assert at.select_slider(key="recap_geo_d").value == 784
    assert at.select_slider(key="recap_fgsm_d").value == 784


def test_reset_restores_the_talk_settings():
    at = run_page({"recap_dd_n": "300"})
    at.slider(key="recap_fgsm_eps").set_value(0.3)
    at.number_input(key="recap_law_n").set_value(1234).run()
    assert at.slider(key="recap_fgsm_eps").value == 0.3
    at.button(key="recap__reset").click().run()
    assert not at.exception
    assert at.slider(key="recap_dd_n").value == 200
    assert at.slider(key="recap_fgsm_eps").value == 0.2
    assert at.number_input(key="recap_law_n").value == 60_000


def test_effective_dimension_defaults_to_the_shipped_estimate(default_run):
    shipped = json.loads((REPO / "pretrained" / "recap" / "intrinsic_dim.json").read_text())
    assert load_intrinsic_dim().estimate == shipped["estimate"]
    assert default_run.slider(key="recap_law_deff").value == round(shipped["estimate"], 1)
    deff = round(shipped["estimate"], 1)
    assert metric(default_run, "With d_eff") == f"{math.sqrt(60_000 * deff / 3_000_340):.3g}"


def test_missing_intrinsic_dimension_shows_the_fix_and_the_page_still_works(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    at = run_page()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "python -m training.intrinsic_dim" in errors[0], errors
    assert at.slider(key="recap_law_deff").value == float(FALLBACK_DIM)
    assert "fallback" in at.slider(key="recap_law_deff").label
    assert metric(at, "Lower bound on Lip(f)") == "3.96"
    assert len(at.get("vega_lite_chart")) >= 6


def test_fgsm_example_moves_the_score_by_eps_times_l1(default_run):
    l1 = float(metric(default_run, "‖w‖₁"))
    clean = float(metric(default_run, "Clean score"))
    attacked = float(metric(default_run, "Attacked score"))
    assert clean == 1.0
    eps = default_run.slider(key="recap_fgsm_eps").value
    assert attacked == pytest.approx(clean - eps * l1, abs=2e-3)
    assert l1 == pytest.approx(np.sqrt(2 * 784 / np.pi), rel=0.1)


def test_the_2d_fgsm_picture_moves_the_point_visibly_at_the_talks_eps(default_run):
    """At the default eps the attacked point is at least 5% of the picture's width from the clean one."""
    from core.attacks import linear_fgsm

    eps = default_run.slider(key="recap_fgsm_eps").value
    ex = linear_fgsm.random_example(2, eps, margin=1.0, seed=0)
    assert float(np.linalg.norm(ex.x_adv - ex.x)) >= 0.05 * 3.2  # the picture spans [-1.6, 1.6]


def test_an_effective_dimension_above_d_is_refused():
    at = run_page({"recap_law_d": "10", "recap_law_deff": "12.5"})
    assert not at.exception
    assert any("cannot exceed the input dimension" in w.value for w in at.warning)
    assert metric(at, "With d_eff") == metric(at, "Lower bound on Lip(f)")
