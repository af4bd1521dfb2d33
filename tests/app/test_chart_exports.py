"""Every chart stands alone: a title, axis titles, a legend where it has several series, and a
1200x675 (landscape, slide-sized) PNG / SVG export; the model colours keep 4.5:1 contrast on
Streamlit's dark background, and a dark theme swaps them in. Then app/chart_export.py's tools on one
small chart: PNG, SVG and CSV exports, and Altair datasets sent as Arrow bytes made once."""

from __future__ import annotations

import re
import struct

import altair as alt
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import shipped
from app.chart_export import EXPORT_HEIGHT, EXPORT_WIDTH, chart_png, chart_svg, swap_colors, table_csv
from app.charts import capacity as capacity_charts
from app.charts import mnist as mnist_charts
from app.charts import random_data as random_data_charts
from app.charts import recap as recap_charts
from core.specs import DARK_MODE_COLORS, MNIST_MODELS

DARK_BACKGROUND = "#0E1117"  # Streamlit's dark theme


def all_charts() -> list[tuple[str, dict, bool]]:
    """(name, Vega-Lite spec, has several series) of every chart the lecture pages draw."""
    t = recap_charts.talk_defaults()
    out = [
        ("recap double descent", recap_charts.double_descent_chart(t["dd_n"], t["dd_noise"], t["dd_seed"])[0], False),
        ("recap gauge", recap_charts.gauge_chart()[0], True),
        ("recap distances", recap_charts.distances_chart(784)[0], False),
        ("recap law", recap_charts.law_chart(t["law_n"], t["law_d"], t["law_p"], t["law_deff"])[0], True),
    ]
    flip, _, pic, _, _ = recap_charts.fgsm_charts(784, 0.1, 0.05)
    out += [("recap fgsm flip", flip, True), ("recap fgsm 2d", pic, True)]
    root = shipped.pretrained_root()
    out += [(f"mnist {kind}", mnist_charts.curve_chart(root, kind)[0], True) for kind in mnist_charts.CURVE_KINDS]
    out.append(("mnist flip eps", mnist_charts.flip_chart(root)[0], True))
    out.append(("capacity size", capacity_charts.size_figure(root, capacity_charts.TALK_EPS)[0], True))
    for grid in ("paper", "laptop", "control"):
        stamp = random_data_charts.file_stamp(root, grid)
        view = random_data_charts.shipped_view(root, grid, stamp)
        out += [(f"random {grid} {stem}", spec, True) for spec, _, stem in view["figures"]]
        for rule in random_data_charts.RULES:
            split = random_data_charts.shipped_split(root, grid, stamp, rule)
            if split:
                out.append((f"random {grid} split {rule}", split[0][0], True))
    return out


CHARTS = all_charts()


def layers(spec: dict):
    yield spec
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []):
            yield from layers(sub)


def legends(spec: dict) -> list[str]:
    """The fields of the channels that draw a legend (color, shape, strokeDash with a field and
    legend not switched off, scale not null)."""
    found = []
    for layer in layers(spec):
        for channel in ("color", "shape", "strokeDash", "fill"):
            enc = (layer.get("encoding") or {}).get(channel)
            if isinstance(enc, dict) and "field" in enc and enc.get("legend", {}) is not None \
                    and enc.get("scale", {}) is not None:
                found.append(enc["field"])
    return found


def axis_titles(spec: dict) -> list[str]:
    titles = []
    for layer in layers(spec):
        for channel in ("x", "y"):
            enc = (layer.get("encoding") or {}).get(channel)
            if isinstance(enc, dict) and "field" in enc:
                titles.append(enc.get("title", enc["field"]))
    return titles


@pytest.mark.parametrize("name,spec,several", CHARTS, ids=[c[0] for c in CHARTS])
def test_every_chart_has_a_title_axis_titles_and_its_legend(name, spec, several):
    title = spec.get("title")
    assert title and (title if isinstance(title, str) else title.get("text")), f"{name}: no title"
    assert axis_titles(spec) and all(axis_titles(spec)), f"{name}: an axis without a title"
    if several:
        assert legends(spec), f"{name}: several series but no legend"


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


@pytest.mark.parametrize("name,spec,several", CHARTS[:8] + CHARTS[-2:], ids=[c[0] for c in CHARTS[:8] + CHARTS[-2:]])
def test_exports_are_landscape_slides(name, spec, several):
    assert png_size(chart_png(spec)) == (EXPORT_WIDTH, EXPORT_HEIGHT)
    svg = chart_svg(spec)
    width, height = (float(v) for v in re.search(r'<svg[^>]*width="([\d.]+)"[^>]*height="([\d.]+)"', svg).groups())
    assert (round(width), round(height)) == (EXPORT_WIDTH, EXPORT_HEIGHT)
    assert png_size(chart_png(spec, scale=2.0)) == (2 * EXPORT_WIDTH, 2 * EXPORT_HEIGHT)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #RRGGBB colours."""
    def lum(c: str) -> float:
        rgb = [int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_model_colours_keep_contrast_in_dark_mode():
    assert contrast("#FFFFFF", "#000000") == pytest.approx(21.0)
    assert contrast("#0072B2", DARK_BACKGROUND) < 4.5  # why the variant exists
    for spec in MNIST_MODELS.values():
        assert contrast(spec.color_on_dark, DARK_BACKGROUND) >= 4.5, spec.name
    assert MNIST_MODELS["f_nd"].color == "#0072B2"
    for spec in MNIST_MODELS.values():  # as text on white (WCAG 1.4.3), hence as a mark too (1.4.11)
        assert contrast(spec.color, "#FFFFFF") >= 4.5, spec.name
    assert contrast("#E69F00", "#FFFFFF") < 3  # why f_n's orange is darkened on a light theme


def test_a_dark_theme_swaps_the_model_colours_but_not_the_data():
    spec = mnist_charts.flip_chart(shipped.pretrained_root())[0]
    dark = swap_colors(spec, {k.upper(): v for k, v in DARK_MODE_COLORS.items()})
    text = repr({k: v for k, v in dark.items() if k not in ("data", "datasets")})
    assert "#0072B2" not in text and MNIST_MODELS["f_nd"].color_on_dark in text
    assert dark.get("data") is spec.get("data") and dark.get("datasets") is spec.get("datasets")
    assert "#0072B2" in repr(spec)  # the cached spec is untouched


def test_model_colours_mean_models_only():
    """No generic curve (a chart without a model series) draws in orange or blue."""
    model_colors = {s.color.upper() for s in MNIST_MODELS.values()}
    for name, spec, _ in CHARTS:
        if name in ("recap double descent", "recap distances", "recap fgsm flip", "recap fgsm 2d"):
            text = repr({k: v for k, v in spec.items() if k not in ("data", "datasets")}).upper()
            assert not any(c in text for c in model_colors), name


def test_no_mark_falls_back_to_vegas_default_blue():
    """Vega-Lite draws a mark without a colour, or the points overlaid on a line (`point: true`)
    without their own colour, in its default blue (#4C78A8), which reads as f_nd: every mark
    has a colour of its own or a colour channel."""
    def unset(spec: dict) -> list[str]:
        found = []
        for layer in layers(spec):
            mark = layer.get("mark")
            if mark is None:
                continue
            mark = mark if isinstance(mark, dict) else {"type": mark}
            encoding = layer.get("encoding") or {}
            if "color" in encoding or "fill" in encoding or "stroke" in encoding:
                continue
            if mark["type"] not in ("text", "rule") and not any(k in mark for k in ("color", "fill", "stroke")):
                found.append(f"{mark['type']} without a colour")
            point = mark.get("point")
            if point is True or (isinstance(point, dict) and not any(k in point for k in ("color", "fill"))):
                found.append(f"{mark['type']}'s points without a colour")
        return found

    bad = {name: unset(spec) for name, spec, _ in CHARTS}
    assert not any(bad.values()), {k: v for k, v in bad.items() if v}


# --- app/chart_export.py's tools on one small chart ------------------------------------------------


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

    from app.chart_export import arrow_datasets, chart_spec, screen_spec

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

        from app.chart_export import chart_spec, chart_with_downloads

        rows = [{"x": 1, "y": 2.5}, {"x": 2, "y": 3.5}]
        spec = chart_spec(alt.Chart(alt.Data(values=rows)).mark_line().encode(x="x:Q", y="y:Q"))
        chart_with_downloads(spec, rows, "arrow-demo")

    at = AppTest.from_function(page).run()
    assert not at.exception, at.exception
    proto = at.get("vega_lite_chart")[0].proto
    (dataset,) = proto.datasets
    assert pa.ipc.open_stream(dataset.data.data).read_all().to_pylist() == [{"x": 1, "y": 2.5}, {"x": 2, "y": 3.5}]
    assert json.loads(proto.spec)["data"]["name"] == dataset.name
