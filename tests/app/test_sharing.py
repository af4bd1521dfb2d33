"""app.sharing: URL-bound widgets with the talk's defaults, the reset, the prompt, and chart exports."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.sharing import TalkSettings, chart_png, chart_svg, table_csv


def demo_app():
    """A page that uses every tool of app.sharing (run by AppTest.from_function)."""
    import altair as alt
    import pandas as pd
    import streamlit as st

    from app.sharing import TalkSettings, chart_with_downloads, what_to_notice

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


@pytest.fixture(scope="module")
def chart():
    frame = pd.DataFrame({"d": [10, 40, 90], "grad": [1.0, 2.0, 3.0]})
    line = alt.Chart(frame).mark_line(point=True).encode(x="d:Q", y="grad:Q")
    return line.properties(width=200, height=120)


def test_png_export_is_a_png_of_the_chart_size(chart):
    import io

    from PIL import Image

    png = chart_png(chart, scale=1.0)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(png)).convert("RGBA")
    assert img.width > 200 and img.height > 120  # the plot plus its axes
    assert img.getpixel((1, 1)) == (255, 255, 255, 255)  # white background, not transparent
    assert len(chart_png(chart, scale=2.0)) > len(png)


def test_svg_export_draws_the_chart(chart):
    svg = chart_svg(chart)
    assert svg.lstrip().startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "grad" in svg  # the axis title


def test_csv_holds_the_numbers_behind_the_chart():
    rows = [{"d": 10, "grad": 1.5}, {"d": 40, "grad": 2.25}]
    assert table_csv(rows) == "d,grad\n10,1.5\n40,2.25\n"
    assert table_csv(pd.DataFrame(rows)) == table_csv(rows)


def test_altair_datasets_go_as_arrow_bytes_made_once():
    import pyarrow as pa

    from app.sharing import arrow_datasets, chart_spec, screen_spec

    rows = [{"eps": 0.0, "acc": 1.0, "model": "f_n"}, {"eps": 0.1, "acc": 0.25, "model": "f_nd"}]
    # Inline rows (alt.Data(values=...)) become a dataset named by their content, as Altair names
    # a DataFrame's; the same rows get the same name.
    spec = chart_spec(alt.Chart(alt.Data(values=rows)).mark_line().encode(x="eps:Q", y="acc:Q"))
    (name,) = spec["datasets"]
    assert spec["data"] == {"name": name} and name.startswith("data-")
    frame_spec = alt.Chart(pd.DataFrame(rows)).mark_line().encode(x="eps:Q", y="acc:Q").to_dict()
    assert list(frame_spec["datasets"]) == [name]
    sent = screen_spec(spec)
    blob = sent["datasets"][name]
    assert isinstance(blob, bytes)
    assert pa.ipc.open_stream(blob).read_all().to_pylist() == rows  # the same numbers
    assert screen_spec(spec)["datasets"][name] is blob  # made once, then reused
    assert spec["datasets"][name] == rows  # the cached spec keeps its rows (for the exports)
    # A dataset not named by Altair's content hash is left to Streamlit.
    other = {"datasets": {"mine": rows}, "data": {"name": "mine"}, "mark": "line"}
    assert arrow_datasets(other)["datasets"]["mine"] is rows


def test_a_chart_with_arrow_datasets_reaches_the_page():
    """The bytes pass through st.vega_lite_chart as the chart's dataset, the spec keeps its name."""
    import json

    import pyarrow as pa

    def page():
        import altair as alt
        import streamlit as st

        from app.sharing import chart_with_downloads

        from app.sharing import chart_spec

        rows = [{"x": 1, "y": 2.5}, {"x": 2, "y": 3.5}]
        spec = chart_spec(alt.Chart(alt.Data(values=rows)).mark_line().encode(x="x:Q", y="y:Q"))
        chart_with_downloads(spec, rows, "arrow-demo")

    at = AppTest.from_function(page).run()
    assert not at.exception, at.exception
    proto = at.get("vega_lite_chart")[0].proto
    (dataset,) = proto.datasets
    assert pa.ipc.open_stream(dataset.data.data).read_all().to_pylist() == [{"x": 1, "y": 2.5}, {"x": 2, "y": 3.5}]
    assert json.loads(proto.spec)["data"]["name"] == dataset.name
