"""Classroom plumbing for every page: shareable settings, a reset, prompts and chart downloads.

Not a page (the navigation lists only the files in streamlit_app.TALK). Four tools:

* `TalkSettings`: a page's widgets bound to the URL. Each widget is created with the talk's value
  as its default and `bind="query-params"` (Streamlit >= 1.67), so the URL holds every setting that
  differs from the talk's: opening a shared link restores the view, moving a widget updates the
  address bar, and a URL value that is invalid (not a number, out of range, not an option) is
  dropped and the talk's value used instead; a number that is not finite, not whole or out of
  range (`bind(..., low=, high=)`) also gets a visible warning (`url_value_problem`).
* `TalkSettings.reset_button`: puts every bound widget back to the talk's value (which also
  clears the URL).
* `what_to_notice`: the short prompt shown before a result, for students.
* `chart_with_downloads`: an Altair chart with PNG, SVG (drawn server-side by vl-convert-python,
  as a 1200x675 slide: `export_spec`) and CSV downloads of the data behind it; on a dark theme the
  model colours become their dark variants (`themed_spec`).

Applying it to a page (e.g. pages/mnist.py):

    from app.sharing import TalkSettings, chart_with_downloads, what_to_notice

    TALK = TalkSettings("mnist", {"eps": 0.1, "model": "f_nd"})   # page id, the talk's values
    TALK.reset_button()
    eps = st.slider("FGSM eps", 0.0, 0.3, step=0.01, **TALK.bind("eps"))        # value=, key=, bind=
    model = st.segmented_control("Model", ["f_n", "f_nd"], **TALK.bind("model", arg="default"))
    name = st.selectbox("Model", OPTIONS, **TALK.bind("model", options=OPTIONS))  # index=
    what_to_notice("The big model keeps its accuracy for larger eps.")
    chart_with_downloads(chart, rows, "mnist-fgsm-sweep", height=300)   # rows: DataFrame or list of dicts

Keys are "<page>_<name>", so they are unique across pages and readable in the URL
(`?mnist_eps=0.2`). The widget's own `key=` must not be passed again.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

BIND = "query-params"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class TalkSettings:
    """The URL-bound widgets of one page and the talk's value of each.

    Args:
        page: short page id, the prefix of every key ("recap").
        defaults: widget name -> the talk's value (the widget's default).
    """

    def __init__(self, page: str, defaults: Mapping[str, Any]):
        if not _NAME.match(page):
            raise ValueError(f"page id must be lower-case letters, digits and _, got {page!r}")
        for name in defaults:
            if not _NAME.match(name):
                raise ValueError(f"widget name must be lower-case letters, digits and _, got {name!r}")
        self.page = page
        self.defaults = dict(defaults)

    def key(self, name: str) -> str:
        """The widget's key, which is also its query parameter: "<page>_<name>"."""
        if name not in self.defaults:
            raise KeyError(f"{name!r} is not a setting of page {self.page!r}: add it to its defaults")
        return f"{self.page}_{name}"

    def bind(self, name: str, arg: str = "value", options: Sequence[Any] | None = None,
             low: float | None = None, high: float | None = None) -> dict[str, Any]:
        """Keyword arguments that bind a widget to the URL with the talk's value as its default.

        The URL's value is checked first (`url_value_problem`): one that is not a finite number
        where the talk's value is a number, not whole where it is whole, or outside [low, high],
        is removed from the URL before the widget reads it, and a warning says so; the widget
        then shows the talk's value. (Streamlit would otherwise raise on `?x=1e309`.)

        Args:
            name: the setting's name (a key of `defaults`).
            arg: the widget's default-value parameter: "value" (slider, number_input, toggle,
                checkbox, select_slider, text_input) or "default" (segmented_control, pills,
                multiselect).
            options: for selectbox and radio, their options: the default is passed as `index=`.
            low, high: the widget's range, for a numeric setting (optional).
        Returns: {"key": ..., "bind": "query-params", arg: default} (or "index": i).
        """
        default = self.defaults[name]
        if options is None:  # a choice widget's URL holds its option's text: Streamlit checks it
            self._drop_invalid_url_value(name, low, high)
        kwargs: dict[str, Any] = {"key": self.key(name), "bind": BIND}
        if options is not None:
            kwargs["index"] = list(options).index(default)
        else:
            kwargs[arg] = default
        return kwargs

    def _drop_invalid_url_value(self, name: str, low: float | None, high: float | None) -> None:
        """Remove a URL value the widget cannot take before the widget reads it, and say so.

        Streamlit seeds a bound widget from the URL as it registers it, and raises on some values
        (OverflowError for an integer input given 1e309), so the value is removed first: from
        the query string the widget seeds from, and from the browser's address bar.
        """
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        key, default = self.key(name), self.defaults[name]
        ctx = get_script_run_ctx(suppress_warning=True)
        if ctx is None:  # outside a running app: no URL
            return
        with ctx.session_state.query_params() as params:
            raw = params.get_initial_value(key)
            if isinstance(raw, list):
                raw = raw[-1] if raw else None
            problem = None if raw is None else url_value_problem(raw, default, low, high)
            if problem:
                params._initial_query_params.pop(key, None)  # streamlit 1.67 (pinned): the seed source
                params.remove_param(key)
        if problem:
            st.warning(f"The link's value of **{key}** ({raw[:40]!r}) {problem}: showing the talk's "
                       f"value, {default}.", icon=":material/link_off:")

    def value(self, name: str) -> Any:
        """The widget's current value (the talk's value before the widget has been drawn)."""
        return st.session_state.get(self.key(name), self.defaults[name])

    def reset(self) -> None:
        """Set every widget of the page back to the talk's value (a widget callback)."""
        for name, default in self.defaults.items():
            st.session_state[self.key(name)] = default

    def reset_button(self, label: str = "Reset to the talk's settings", container=None) -> bool:
        """A button that calls `reset`, with a note that the URL shares the current settings."""
        where = container if container is not None else st
        clicked = where.button(label, key=f"{self.page}__reset", icon=":material/restart_alt:",
                               on_click=self.reset,
                               help="Every slider back to the value used in the talk.")
        where.caption("The address bar holds the settings that differ from the talk's: copy it to "
                      "share exactly this view.")
        return clicked


WHOLE_MAX = 2**53  # the largest whole number a URL (a JavaScript double) carries exactly


def url_value_problem(raw: str, default: Any, low: float | None = None, high: float | None = None) -> str | None:
    """Why a URL value cannot be a setting whose talk's value is `default` (None: it can).

    Numbers only (where Streamlit itself raises, e.g. OverflowError on 1e309); the choice
    widgets fall back to the talk's value on their own.
    """
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return "is not a number"
    if not math.isfinite(value):
        return "is not a finite number"
    if isinstance(default, int):
        if not value.is_integer():
            return "is not a whole number"
        if abs(value) > WHOLE_MAX:
            return f"is larger than {WHOLE_MAX:.0e}"
    if (low is not None and value < low) or (high is not None and value > high):
        return f"is outside {low:g} to {high:g}" if low is not None and high is not None else "is out of range"
    return None


def what_to_notice(text: str) -> None:
    """The prompt before a result: what students should look for in it."""
    st.info(f"**What to notice.** {text}", icon=":material/visibility:")


# --- chart export ---------------------------------------------------------------------------


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


def _merged_config(spec: Mapping, extra: Mapping) -> dict:
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
    spec["config"] = _merged_config(spec, EXPORT_CONFIG)
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


def screen_spec(spec: Mapping) -> dict:
    """The spec as the page draws it: its colours for the theme, and the plot at its own height.

    `autosize: fit-x`: Streamlit fits a stretched chart into its height otherwise, title, axes
    and legend included, and a chart with a legend was squeezed to a sliver of a plot.
    Its named datasets go as Arrow bytes made once per dataset (`arrow_datasets`)."""
    out = arrow_datasets(themed_spec(spec))
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


def dark_theme() -> bool:
    """Whether this student's app is in a dark theme (Streamlit infers it from the background)."""
    try:
        return st.context.theme.type == "dark"
    except Exception:  # outside a running app (a unit test): the light theme
        return False


def model_color(spec) -> str:
    """A model's colour (core.specs.MLPSpec) for this student's theme: its dark variant on a dark one."""
    return spec.color_on_dark if dark_theme() else spec.color


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
    st.vega_lite_chart(spec=spec, width=width, height=height, key=f"{key}__chart")
    if caption:
        st.caption(caption)
    row = st.container(horizontal=True, gap="small", key=f"{key}__downloads")
    has_vl = vl_convert_available()
    missing = "Install vl-convert-python (see requirements.txt) to export images."
    row.download_button(
        "PNG", data=lambda: chart_png(chart), file_name=f"{stem}.png", mime="image/png",
        key=f"{key}__png", on_click="ignore", icon=":material/image:", disabled=not has_vl,
        help="The chart as a PNG image" if has_vl else missing, type="tertiary")
    row.download_button(
        "SVG", data=lambda: chart_svg(chart), file_name=f"{stem}.svg", mime="image/svg+xml",
        key=f"{key}__svg", on_click="ignore", icon=":material/draw:", disabled=not has_vl,
        help="The chart as an SVG image" if has_vl else missing, type="tertiary")
    row.download_button(
        "CSV", data=lambda: table_csv(data), file_name=f"{stem}.csv", mime="text/csv",
        key=f"{key}__csv", on_click="ignore", icon=":material/table:",
        help="The numbers behind the chart", type="tertiary")
