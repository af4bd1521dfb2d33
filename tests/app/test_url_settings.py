"""app.url_settings: URL-bound widgets with the talk's defaults, the reset and the prompt (on a demo page
that also draws a chart with its downloads)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app.url_settings import TalkSettings


def demo_app():
    """A page that uses every tool of app.url_settings and a chart with downloads (AppTest.from_function)."""
    import altair as alt
    import pandas as pd
    import streamlit as st

    from app.chart_export import chart_with_downloads
    from app.url_settings import TalkSettings, what_to_notice

    talk = TalkSettings("demo", {"eps": 0.1, "model": "f_nd", "dims": [20, 80], "steps": 5})
    talk.reset_button()
    eps = st.slider("eps", 0.0, 0.3, step=0.05, **talk.bind("eps"))
    model = st.selectbox("model", ["f_n", "f_nd"], **talk.bind("model", options=["f_n", "f_nd"]))
    dims = st.pills("dims", [10, 20, 40, 80], selection_mode="multi", **talk.bind("dims", arg="default"))
    steps = st.number_input("steps", 1, 10, **talk.bind("steps"))
    what_to_notice("The line goes up.")
    frame = pd.DataFrame({"x": [0, 1, 2], "y": [0.0, eps, 2 * eps]})
    chart_with_downloads(alt.Chart(frame).mark_line().encode(x="x", y="y"), frame, "demo-line")
    st.write(f"eps={eps} model={model} dims={dims} steps={steps}")


def state(at: AppTest) -> str:
    return [m.value for m in at.markdown if m.value.startswith("eps=")][0]


def test_bind_gives_key_url_binding_and_the_talk_default():
    talk = TalkSettings("mnist", {"eps": 0.1, "model": "f_nd"})
    assert talk.bind("eps") == {"key": "mnist_eps", "bind": "query-params", "value": 0.1}
    assert talk.bind("model", arg="default") == {"key": "mnist_model", "bind": "query-params",
                                                 "default": "f_nd"}
    assert talk.bind("model", options=("f_n", "f_nd"))["index"] == 1
    assert talk.value("eps") == 0.1  # outside a run: the talk's value
    with pytest.raises(KeyError, match="not a setting"):
        talk.key("nope")


@pytest.mark.parametrize("page,defaults", [("Recap", {"a": 1}), ("recap-1", {"a": 1}), ("recap", {"Bad": 1})])
def test_names_must_be_url_friendly(page, defaults):
    with pytest.raises(ValueError, match="lower-case"):
        TalkSettings(page, defaults)


def test_widgets_start_at_the_talk_settings_and_show_prompt_and_downloads():
    at = AppTest.from_function(demo_app, default_timeout=60).run()
    assert not at.exception, at.exception
    assert state(at) == "eps=0.1 model=f_nd dims=[20, 80] steps=5"
    assert at.info[0].value == "**What to notice.** The line goes up."
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["PNG", "SVG", "CSV"]
    assert len(at.get("vega_lite_chart")) == 1


def test_the_url_sets_the_widgets_and_bad_values_fall_back():
    at = AppTest.from_function(demo_app, default_timeout=60)
    at.query_params.update({"demo_eps": "0.25", "demo_model": "f_n", "demo_dims": ["10", "40"],
                            "demo_steps": "8"})
    at.run()
    assert state(at) == "eps=0.25 model=f_n dims=[10, 40] steps=8"

    bad = AppTest.from_function(demo_app, default_timeout=60)
    bad.query_params.update({"demo_eps": "2", "demo_model": "resnet", "demo_steps": "ten"})
    bad.run()
    assert not bad.exception, bad.exception
    assert state(bad) == "eps=0.1 model=f_nd dims=[20, 80] steps=5"


def test_reset_puts_every_widget_back():
    at = AppTest.from_function(demo_app, default_timeout=60)
    at.query_params.update({"demo_eps": "0.25", "demo_dims": ["10"]})
    at.run()
    at.selectbox(key="demo_model").set_value("f_n")
    at.number_input(key="demo_steps").set_value(2).run()
    assert state(at) == "eps=0.25 model=f_n dims=[10] steps=2"
    at.button(key="demo__reset").click().run()
    assert state(at) == "eps=0.1 model=f_nd dims=[20, 80] steps=5"
