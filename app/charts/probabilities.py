"""Class-probability bars: each model's probability of each digit, drawn on every slider move.

Not a page (the navigation lists only the files in streamlit_app.TALK). A plain Vega-Lite spec,
not Altair (`probability_spec`): it answers every slider move of the draw page, and an Altair
chart costs tens of milliseconds more; Altair is built only when a download button is clicked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app import accessible
from app.chart_export import download_row
from core.specs import TALK_MODELS

EXPORT_WIDTH = 360  # pixels of an exported bar chart (on the page the chart fills its column)


def probability_bars(probs_by_model: dict[str, np.ndarray], stem: str, key: str, height: int,
                     title: str) -> None:
    """Class-probability bars (with a title) and PNG, SVG and CSV downloads of them.

    `st.vega_lite_chart` of a plain spec, not `chart_with_downloads` (Altair): these bars answer every
    slider move, and an Altair chart costs tens of milliseconds more. The downloads are deferred:
    the images are drawn (by vl-convert) only when a button is clicked, so a rerun pays nothing.
    Args: {model name: probabilities [10]}; stem: the files' name; key: the buttons' key prefix;
    height: px of the plot (title and legend above it); title: the chart's.
    """
    # Rows inline in the spec, not a DataFrame: no pandas and no Arrow table on a slider move.
    rows = probability_rows(probs_by_model)
    spec = bars_spec(list(probs_by_model), title=title)
    # The plot at its own height, title and legend above it (a given element height squeezes the plot).
    st.vega_lite_chart(spec=inline_rows(accessible.described({**spec, "data": {"values": rows}, "height": height},
                                                             rows)),
                       width="stretch", height="content")

    def chart():
        import altair as alt

        return alt.Chart.from_dict({**spec, "data": {"values": rows}, "width": EXPORT_WIDTH, "height": height})

    download_row(chart, rows, stem, key, numbers="The probabilities behind the chart")
    accessible.data_table(spec, rows, key)


def inline_rows(spec: dict) -> dict:
    """A single-view spec with inline rows ({"mark", "data": {"values": rows}, ...}) as one layer
    holding the mark and the rows, everything else (encoding, title, size) kept at the top.

    The same chart; but `st.vega_lite_chart` turns top-level rows into a pandas DataFrame and an
    Arrow table on every run (about a millisecond for 20 rows), while a layer's rows go to the
    browser as they are, inside the spec."""
    top = {k: v for k, v in spec.items() if k not in ("mark", "data")}
    return {**top, "layer": [{"mark": spec["mark"], "data": spec["data"]}]}


def probability_spec(probs_by_model: dict[str, np.ndarray],
                     title: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Data and Vega-Lite spec of class-probability bars, grouped by model when there are several.

    A plain spec for `st.vega_lite_chart`, not Altair: it answers every slider move, and building
    and validating an Altair chart costs tens of milliseconds where this costs a fraction of one.
    Args: {model name: probabilities [10]}; the chart's title (None: none). The bars are in each
    model's colour (spec.color). The plot's height goes in the spec ({**spec, "height": h}), drawn with
    `st.vega_lite_chart(..., height="content")`: title and legend then add to it, not squeeze it.
    """
    return pd.DataFrame(probability_rows(probs_by_model)), bars_spec(list(probs_by_model), title)


def bars_spec(names: list[str], title: str | None = None) -> dict:
    """The Vega-Lite spec of `probability_spec`, without its data: bars of the models `names`
    (keys of core.specs.TALK_MODELS), grouped by model when there are several; title or None."""
    several = len(names) > 1
    specs = [TALK_MODELS[name] for name in names]
    domain = [s.label for s in specs]
    color = {"field": "model", "type": "nominal",
             "scale": {"domain": domain, "range": [s.color for s in specs]},
             # One model per line: two long labels side by side do not fit a narrow column.
             "legend": {"orient": "top", "direction": "vertical", "title": None, "labelLimit": 400}
             if several else None}
    encoding = {
        "x": {"field": "digit", "type": "ordinal", "title": "digit", "axis": {"labelAngle": 0}},
        "y": {"field": "probability", "type": "quantitative", "scale": {"domain": [0, 1]}, "title": "probability"},
        "color": color,
        "tooltip": [{"field": "model", "type": "nominal"}, {"field": "digit", "type": "ordinal"},
                    {"field": "probability", "type": "quantitative", "format": ".3f"}],
    }
    if several:
        encoding["xOffset"] = {"field": "model", "type": "nominal", "scale": {"domain": domain}}
    # fit-x: the plot keeps its height, and title and legend come on top of it (app.chart_export.screen_spec)
    spec = {"mark": {"type": "bar"}, "encoding": encoding,
            "autosize": {"type": "fit-x", "contains": "padding"}}
    if title:
        spec["title"] = {"text": title, "anchor": "start", "fontSize": 13}
    return spec


def probability_rows(probs_by_model: dict[str, np.ndarray]) -> list[dict]:
    """Rows {model, digit, probability} from {model name: probabilities [10]}."""
    return [
        {"model": TALK_MODELS[name].label, "digit": d, "probability": float(p)}
        for name, probs in probs_by_model.items()
        for d, p in enumerate(np.asarray(probs).ravel())
    ]
