"""Presenter mode under AppTest: every slide of the registry renders without an exception, with its
claim and the step buttons; the slide registry follows the talk's order; the projector styling
gives charts readable fonts. The keys and the URL in a browser: tests/browser/test_presenter.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import presenter, slides
from app.slides import SLIDES
from tests.browser.test_pages import talk_pages

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "streamlit_app.py")


def run_app(query: dict, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if page:
        at.switch_page(page)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def claims(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "present-claim" in m.value]


def test_slides_follow_the_talk_and_cover_every_page():
    order = [f"pages/{stem or 'home'}.py" for stem, _ in talk_pages()]
    pages = [s.page for s in SLIDES]
    assert set(pages) == set(order)
    # In the talk's order: the page index never goes back.
    idx = [order.index(p) for p in pages]
    assert idx == sorted(idx)
    assert len({s.claim for s in SLIDES}) == len(SLIDES)


@pytest.mark.parametrize("number", range(1, len(SLIDES) + 1))
def test_every_slide_renders_with_its_claim(number):
    at = run_app({"present": "1", "slide": str(number)})
    assert not at.exception, at.exception
    slide = SLIDES[number - 1]
    assert claims(at) == [f"<h2 class='present-claim'>{slides.claim(slide)}</h2>"]
    labels = [b.label for b in at.button]
    assert "Next" in labels and "Previous" in labels
    assert str(at.query_params["slide"]).strip("[]'") == str(number)
    assert not at.title  # the page's own title and prose are not drawn: one claim per screen


@pytest.mark.parametrize("bad", ["1e9", "0", "-2", "x", str(len(SLIDES) + 1)])
def test_a_bad_slide_number_falls_back_to_the_pages_first_slide(bad):
    # (Stepping is tested in the browser: AppTest re-sends its own query string on every run.)
    at = run_app({"present": "1", "slide": bad}, page="pages/recap.py")
    assert not at.exception
    first = presenter.first_slide_of("pages/recap.py")
    assert claims(at)[0].endswith(f"{SLIDES[first].claim}</h2>")


def test_without_present_the_page_runs_with_talk_links():
    at = run_app({})
    assert not at.exception
    assert "overparameterization" in at.title[0].value
    assert not claims(at)
    assert any(t.label == "Presenter mode" for t in at.toggle)


def test_projector_spec_has_large_fonts_and_keeps_the_cached_spec():
    from app.charts import recap as recap_charts

    spec, _ = recap_charts.gauge_chart()
    before = repr(spec)
    big = slides.projector_spec(spec, height=300)
    assert big["config"]["axis"]["labelFontSize"] >= 16
    assert big["config"]["axis"]["titleFontSize"] >= 16
    assert big["config"]["legend"]["labelFontSize"] >= 16
    assert big["height"] == 300 and big["config"]["view"]["continuousHeight"] == 300
    assert repr(spec) == before  # the cached spec is not modified


def test_the_curves_slide_has_the_marker_and_plays(monkeypatch):
    """The MNIST curves slide carries the page's marker: its slider (the page's `mnist_sweep`)
    moves it, and Play sweeps every position, ending at the last."""
    import json

    from app import shipped
    from app.charts import mnist as mnist_charts

    number = next(i for i, s in enumerate(SLIDES, 1) if s.render.__name__ == "_mnist_curves")
    at = run_app({"present": "1", "slide": str(number)})
    assert not at.exception, at.exception
    at.slider(key="mnist_sweep").set_value(3).run()
    assert not at.exception, at.exception

    def marker_x(at) -> set[float]:
        spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
        return {v["eps"] for layer in spec["layer"] if layer["mark"]["type"] == "point"
                and "values" in layer.get("data", {}) for v in layer["data"]["values"]}

    grid = mnist_charts.sweep_grid(mnist_charts.curve_chart(shipped.pretrained_root(), "fgsm")[1])
    assert marker_x(at) == {grid[3]}
    monkeypatch.setattr(mnist_charts, "PLAY_FRAME_S", 0.0)
    drawn = []
    real = mnist_charts.marked_curve
    monkeypatch.setattr(mnist_charts, "marked_curve", lambda *a, **k: drawn.append(a[2]) or real(*a, **k))
    at.button(key="present_play").click().run()
    assert not at.exception, at.exception
    assert sorted(set(drawn)) == list(range(mnist_charts.SWEEP_POSITIONS))
    assert at.slider(key="mnist_sweep").value == mnist_charts.SWEEP_POSITIONS - 1
    assert marker_x(at) == {grid[-1]}


def test_the_keys_script_holds_no_html_tag():
    """Streamlit 1.67 does not run a script that holds an HTML tag, even inside a JS comment (an
    "<html>" there once silently disabled the presenter keys and the dark-theme colours)."""
    import re

    from app.page_style import keys_script

    script = keys_script()
    assert script.startswith("<script>") and script.endswith("</script>")
    assert not re.search(r"<[A-Za-z/!]", script[len("<script>"):-len("</script>")])


def test_the_readme_states_the_number_of_slides():
    text = (REPO / "README.md").read_text()
    assert f"({len(SLIDES)} slides from the title to the references" in text


@pytest.mark.parametrize("damage", ["corrupt", "smoke"])
def test_the_law_slide_shows_the_error_not_a_default_d_eff(damage, tmp_path, monkeypatch):
    """A damaged pretrained/recap/intrinsic_dim.json: the slide showed d_eff = 784 as if estimated."""
    import json
    import shutil

    import core.results.pretrained as pretrained
    from core.results.recap import INTRINSIC_DIM_FILE

    folder = tmp_path / "recap"
    shutil.copytree(REPO / "pretrained" / "recap", folder)
    path = folder / INTRINSIC_DIM_FILE
    if damage == "corrupt":  # edited after shipping: its checksum no longer matches
        path.write_text(path.read_text().replace('"estimate": ', '"estimate": 1'))
    else:  # the output of `training.intrinsic_dim --smoke` put there, manifest and all
        path.write_text(json.dumps({**json.loads(path.read_text()), "smoke": True}))
        pretrained.write_manifest(folder, "training.intrinsic_dim --smoke")
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    number = [s.render for s in SLIDES].index(slides._law) + 1
    at = run_app({"present": "1", "slide": str(number)})
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "python -m training.intrinsic_dim" in errors[0], errors
    assert not at.get("vega_lite_chart")  # no chart drawn with a made-up d_eff
    assert claims(at) == [f"<h2 class='present-claim'>{slides.claim(SLIDES[number - 1])}</h2>"]


def test_the_law_slide_states_theorem_3_as_a_lower_bound():
    from core.experiments.robustness_law import LAW_LATEX

    number = [s.render for s in SLIDES].index(slides._law_statement) + 1
    at = run_app({"present": "1", "slide": str(number)})
    assert not at.exception
    assert len(at.latex) == 1 and LAW_LATEX in at.latex[0].value
    text = " ".join(m.value for m in at.markdown)
    assert "lower bound" in text and "Theorem 3" in text and "smoothly parametrized" in text


def test_the_capacity_slide_states_the_recipe_the_attacks_and_their_images():
    """The closing slide says how its figure was made, from the shipped results (issue: the slide
    states the recipe, the attack and the number of test images)."""
    from core.results import capacity as cr

    number = next(i for i, s in enumerate(SLIDES, 1) if s.render.__name__ == "_capacity")
    at = run_app({"present": "1", "slide": str(number)})
    assert not at.exception, at.exception
    doc = cr.load_capacity_results()
    text = " ".join(m.value for m in at.markdown)
    settings = doc["settings"]
    assert f"a {settings['adversarial_training']['ramp_epochs']}-epoch eps ramp" in text
    assert f"{len(settings['adversarial_seeds'])} seeds per width" in text
    assert f"PGD ({settings['pgd']['steps']} steps) on {settings['pgd']['subset_size']:,} test images" in text
    assert f"AutoAttack on {settings['autoattack']['images']:,}" in text
    assert "under AutoAttack" in claims(at)[0]
