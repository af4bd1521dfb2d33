"""Chart export: PNG, SVG and CSV downloads of a chart, and the spec as the page draws it.

Not a page (the navigation lists only the files in streamlit_app.TALK).

* `chart_with_downloads`: a chart (Altair, or its cached Vega-Lite spec) with PNG, SVG (drawn
  server-side by vl-convert-python, as a 1200x675 slide: `export_spec`) and CSV downloads of the
  data behind it; `download_row` is the row of buttons alone, for a chart drawn another way.
* `screen_spec`: a cached spec as the page draws it, in this student's theme (`themed_spec`: on a
  dark theme the model colours become their dark variants) with its data as Arrow bytes made once.
* `chart_spec`: an Altair chart's spec for a cache, its rows as a named dataset.

    from app.chart_export import chart_with_downloads

    chart_with_downloads(chart, rows, "mnist-fgsm-sweep", height=300)   # rows: DataFrame or list of dicts
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Callable, Mapping

import streamlit as st

from app import accessible
from app.theme import dark_theme


@functools.cache
def vl_convert_available() -> bool:
    """Whether the image exporter is installed; looked up once per process (find_spec walks
    sys.path: 6.6% of the server's CPU under a 20-student load when asked on every chart)."""
    return importlib.util.find_spec("vl_convert") is not None


# Exported images: one landscape slide (16:9), whatever the chart's on-screen size.
EXPORT_WIDTH, EXPORT_HEIGHT = 1200, 675
# Fonts of an exported chart: a slide is read from afar.
EXPORT_CONFIG = {
    "axis": {"labelFontSize": 16, "titleFontSize": 18, "labelOverlap": True},
    "legend": {"labelFontSize": 16, "titleFontSize": 16, "labelLimit": 600},
    "title": {"fontSize": 22},
}


def merged_config(spec: Mapping, extra: Mapping) -> dict:
    """The spec's `config` with each group of `extra` merged over it (a copy: cached specs are shared)."""
    config = {k: dict(v) if isinstance(v, Mapping) else v for k, v in (spec.get("config") or {}).items()}
    for group, values in extra.items():
        config[group] = {**config.get(group, {}), **values}
    return config


def export_spec(chart) -> dict:
    """The Vega-Lite spec of an Altair chart or of a spec dict, as a 1200x675 slide on white.

    The whole figure (title and legend included) fits 1200x675 (`autosize: fit`), not Vega's
    default portrait; a single view or a layer only (a concatenation keeps its own layout)."""
    spec = dict(chart) if isinstance(chart, Mapping) else chart.to_dict()
    spec.setdefault("background", "white")  # a PNG is transparent otherwise
    spec["config"] = merged_config(spec, EXPORT_CONFIG)
    if not any(k in spec for k in ("hconcat", "vconcat", "concat", "facet", "repeat")):
        spec.update(width=EXPORT_WIDTH, height=EXPORT_HEIGHT,
                    autosize={"type": "fit", "contains": "padding"})
    return spec


def chart_png(chart, scale: float = 1.0) -> bytes:
    """The chart as a 1200x675 PNG (times scale), drawn server-side by vl-convert-python."""
    import vl_convert

    return vl_convert.vegalite_to_png(export_spec(chart), scale=scale)


def chart_svg(chart) -> str:
    """The chart as a 1200x675 SVG, drawn server-side by vl-convert-python."""
    import vl_convert

    return vl_convert.vegalite_to_svg(export_spec(chart))


_DATA_KEYS = frozenset({"data", "datasets", "values"})


def swap_colors(node, mapping: Mapping[str, str]):
    """A copy of a Vega-Lite spec with each colour in `mapping` replaced (case-insensitive);
    the data are not walked (they are shared with the cached spec, and can be large)."""
    if isinstance(node, str):
        return mapping.get(node.upper(), node)
    if isinstance(node, Mapping):
        return {k: (v if k in _DATA_KEYS else swap_colors(v, mapping)) for k, v in node.items()}
    if isinstance(node, list):
        return [swap_colors(v, mapping) for v in node]
    return node


# The smallest text a chart draws on a page: what a phone still shows legibly (Vega's text marks
# default to 11 px).
SCREEN_MIN_PX = 12
_FONT_KEYS = frozenset({"fontSize", "labelFontSize", "titleFontSize", "subtitleFontSize"})


def readable_spec(node, min_px: float, to_px: float, legend: str | None = None):
    """A copy of a Vega-Lite spec (data not walked) with every font size under min_px raised to
    to_px, and, given `legend` ("right", "top"...), every legend placed there (one column beside
    the plot)."""
    if isinstance(node, Mapping):
        out = {}
        for k, v in node.items():
            if k in _DATA_KEYS:
                out[k] = v
            elif k in _FONT_KEYS and isinstance(v, (int, float)) and v < min_px:
                out[k] = to_px
            elif k == "legend" and isinstance(v, Mapping) and legend:
                placed = {**readable_spec(v, min_px, to_px, legend), "orient": legend}
                if legend in ("left", "right"):
                    placed.pop("columns", None)
                    placed["direction"] = "vertical"
                out[k] = placed
            else:
                out[k] = readable_spec(v, min_px, to_px, legend)
        return out
    if isinstance(node, list):
        return [readable_spec(v, min_px, to_px, legend) for v in node]
    return node


TITLE_PX_PER_CHAR = 8.5  # about the width of a character of a chart's title on a page


def fitted_title(title):
    """A long chart title that breaks into two lines where the plot is too narrow for it (a phone),
    instead of Vega's "Double descent: test error of min-norm leas…": a Vega expression on the
    plot's `width`. A short title, or one that is not text, comes back as it is."""
    text = title.get("text") if isinstance(title, Mapping) else title
    if not isinstance(text, str) or len(text) <= 40:
        return title
    middle = len(text) // 2
    spaces = [i for i, c in enumerate(text) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - middle)) if spaces else middle
    lines = [text[:cut].rstrip(), text[cut:].lstrip()]
    expr = f"width < {TITLE_PX_PER_CHAR * len(text):.0f} ? {json.dumps(lines)} : {json.dumps(text)}"
    return {**(dict(title) if isinstance(title, Mapping) else {}), "text": {"expr": expr}}


def screen_spec(spec: Mapping) -> dict:
    """The spec as the page draws it: its colours for the theme, and the plot at its own height.

    `autosize: fit-x`: Streamlit fits a stretched chart into its height otherwise, title, axes
    and legend included, and a chart with a legend was squeezed to a sliver of a plot.
    No text under SCREEN_MIN_PX (12 px: a phone's smallest), a text mark's included.
    Its named datasets go as Arrow bytes made once per dataset (`arrow_datasets`)."""
    out = arrow_datasets(readable_spec(themed_spec(spec), SCREEN_MIN_PX, SCREEN_MIN_PX))
    config = merged_config(out, {})
    if config.get("text", {}).get("fontSize", 0) < SCREEN_MIN_PX:  # a slide's larger size stays
        config["text"] = {**config.get("text", {}), "fontSize": SCREEN_MIN_PX}
    out["config"] = config
    if "title" in out:
        out["title"] = fitted_title(out["title"])
    out.setdefault("autosize", {"type": "fit-x", "contains": "padding"})
    return out


# Altair names an inline dataset "data-" + a hash of its values, so the name stands for the
# content: the Arrow bytes Streamlit sends for it are made once per name, not on every run.
_ARROW_DATASETS: dict[str, bytes] = {}
_ARROW_DATASETS_MAX = 512  # about 10 kB each: a few MB at most
_ALTAIR_DATASET = re.compile(r"^data-[0-9a-f]{32}$")


def chart_spec(chart) -> dict:
    """An Altair chart's Vega-Lite spec for a cache, its top-level inline data as a named dataset.

    Altair leaves `alt.Data(values=rows)` inline; named ("data-" + a hash of the rows, as Altair
    names a DataFrame's), the rows go to the page as Arrow bytes made once (`arrow_datasets`).
    """
    import hashlib
    import json

    spec = chart.to_dict()
    data = spec.get("data")
    if isinstance(data, dict) and set(data) == {"values"} and isinstance(data["values"], list):
        values = data["values"]
        name = "data-" + hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:32]
        spec["data"] = {"name": name}
        spec["datasets"] = {**spec.get("datasets", {}), name: values}
    return spec


def arrow_datasets(spec: dict) -> dict:
    """The spec with each of its Altair-named datasets (rows) as Arrow IPC bytes.

    `st.vega_lite_chart` turns every dataset of a spec into Arrow bytes on every call, through a
    pandas DataFrame: a sixth of the server's CPU under a 30-student load (py-spy), for charts
    that are cached and never change. Bytes it passes through as they are. A dataset whose name
    is not Altair's content hash is left to Streamlit.
    """
    datasets = spec.get("datasets")
    if not isinstance(datasets, Mapping) or not datasets:
        return spec
    out = {}
    for name, values in datasets.items():
        if not (isinstance(values, list) and _ALTAIR_DATASET.match(str(name))):
            out[name] = values
            continue
        blob = _ARROW_DATASETS.get(name)
        if blob is None:
            from streamlit import dataframe_util

            blob = dataframe_util.convert_anything_to_arrow_bytes(values)
            if len(_ARROW_DATASETS) >= _ARROW_DATASETS_MAX:
                _ARROW_DATASETS.clear()  # a bound, not an LRU: the talk has a few dozen charts
            _ARROW_DATASETS[name] = blob
        out[name] = blob
    return {**spec, "datasets": out}


def themed_spec(spec: Mapping) -> dict:
    """The spec for the current theme: on a dark background the model colours' dark variants
    (core.specs.DARK_MODE_COLORS: blue #0072B2 has 3.7:1 contrast there, its variant 7:1)."""
    if not dark_theme():
        return dict(spec)
    from core.specs import DARK_MODE_COLORS

    return swap_colors(spec, {k.upper(): v for k, v in DARK_MODE_COLORS.items()})


def table_csv(data) -> str:
    """CSV text of a DataFrame or of a list of row dicts (header from the columns / keys)."""
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data))
    return frame.to_csv(index=False)


def chart_with_downloads(chart, data, stem: str, key: str | None = None, caption: str | None = None,
                         stretch: bool = True, height: int | str = "content") -> None:
    """Draw an Altair chart with download buttons: PNG and SVG of the chart, CSV of `data`.

    The images are drawn only when a button is clicked (deferred download), so a page pays
    nothing for them until then.

    Args:
        chart: an Altair chart, or its Vega-Lite spec (`chart.to_dict()`, data inline): a page
            that caches the spec (app/charts/recap.py) pays for Altair's build and schema
            validation once, not on every run. data: the numbers behind it (what the CSV
            holds): a pandas DataFrame, or a list of row dicts (as `alt.Data(values=rows)` takes).
        stem: file name without extension ("recap-double-descent"); also the default key prefix.
        key: prefix of the buttons' keys, unique on the page (default: stem).
        caption: an optional line under the chart.
        stretch: fill the container's width (False: keep the chart's own width, e.g. a square plot).
        height: passed to st.altair_chart ("content": the chart's own height).
    """
    key = key or stem
    width = "stretch" if stretch else "content"
    spec = screen_spec(chart if isinstance(chart, Mapping) else chart.to_dict())
    # Its accessible name (what it shows, from its data) and its numbers as an HTML table, for a
    # screen reader: made once per cached chart, not on every run.
    description, table = accessible.chart_parts(chart, spec, data)
    spec = spec if spec.get("description") else {**spec, "description": description}
    st.vega_lite_chart(spec=spec, width=width, height=height, key=f"{key}__chart")
    if caption:
        st.caption(caption)
    download_row(lambda: chart, data, stem, key)
    accessible.data_table(spec, data, key, table)


MISSING_VL_CONVERT = "Install vl-convert-python (see requirements.txt) to export images."


def download_row(chart: Callable[[], object], data, stem: str, key: str,
                 numbers: str = "The numbers behind the chart") -> None:
    """PNG, SVG and CSV download buttons in one row, for a chart already drawn.

    The images are drawn only when a button is clicked (deferred download), so a page pays
    nothing for them until then: `chart` is called then, not now.

    Args:
        chart: returns the chart to export (an Altair chart or a Vega-Lite spec, data inline).
        data: the numbers behind it (what the CSV holds): a DataFrame, or a list of row dicts.
        stem: file name without extension. key: prefix of the buttons' keys, unique on the page.
        numbers: the CSV button's help text.
    """
    row = st.container(horizontal=True, gap="small", key=f"{key}__downloads")
    has_vl = vl_convert_available()
    row.download_button(
        "PNG", data=lambda: chart_png(chart()), file_name=f"{stem}.png", mime="image/png",
        key=f"{key}__png", on_click="ignore", icon=":material/image:", disabled=not has_vl,
        help="The chart as a PNG image" if has_vl else MISSING_VL_CONVERT, type="tertiary")
    row.download_button(
        "SVG", data=lambda: chart_svg(chart()), file_name=f"{stem}.svg", mime="image/svg+xml",
        key=f"{key}__svg", on_click="ignore", icon=":material/draw:", disabled=not has_vl,
        help="The chart as an SVG image" if has_vl else MISSING_VL_CONVERT, type="tertiary")
    row.download_button(
        "CSV", data=lambda: table_csv(data), file_name=f"{stem}.csv", mime="text/csv",
        key=f"{key}__csv", on_click="ignore", icon=":material/table:", help=numbers, type="tertiary")
