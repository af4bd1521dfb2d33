"""Classroom plumbing for every page: shareable settings, a reset, prompts and chart downloads.

Not a page (the navigation lists only the files in streamlit_app.TALK). Four tools:

* `TalkSettings`: a page's widgets bound to the URL. Each widget is created with the talk's value
  as its default and `bind="query-params"` (Streamlit >= 1.67), so the URL holds every setting that
  differs from the talk's: opening a shared link restores the view, moving a widget updates the
  address bar, and a URL value that is invalid (not a number, out of range, not an option) is
  dropped and the talk's value used instead.
* `TalkSettings.reset_button`: puts every bound widget back to the talk's value (which also
  clears the URL).
* `what_to_notice`: the short prompt shown before a result, for students.
* `chart_with_downloads`: an Altair chart with PNG, SVG (drawn server-side by vl-convert-python)
  and CSV downloads of the data behind it.

Applying it to a page (e.g. pages/mnist.py):

    from pages.sharing import TalkSettings, chart_with_downloads, what_to_notice

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

import importlib.util
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

    def bind(self, name: str, arg: str = "value", options: Sequence[Any] | None = None) -> dict[str, Any]:
        """Keyword arguments that bind a widget to the URL with the talk's value as its default.

        Args:
            name: the setting's name (a key of `defaults`).
            arg: the widget's default-value parameter: "value" (slider, number_input, toggle,
                checkbox, select_slider, text_input) or "default" (segmented_control, pills,
                multiselect).
            options: for selectbox and radio, their options: the default is passed as `index=`.
        Returns: {"key": ..., "bind": "query-params", arg: default} (or "index": i).
        """
        default = self.defaults[name]
        kwargs: dict[str, Any] = {"key": self.key(name), "bind": BIND}
        if options is not None:
            kwargs["index"] = list(options).index(default)
        else:
            kwargs[arg] = default
        return kwargs

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


def what_to_notice(text: str) -> None:
    """The prompt before a result: what students should look for in it."""
    st.info(f"**What to notice.** {text}", icon=":material/visibility:")


# --- chart export ---------------------------------------------------------------------------


def vl_convert_available() -> bool:
    return importlib.util.find_spec("vl_convert") is not None


def _spec(chart) -> dict:
    """The Vega-Lite spec of an Altair chart or of a spec dict, on a white background."""
    spec = dict(chart) if isinstance(chart, Mapping) else chart.to_dict()
    spec.setdefault("background", "white")  # a PNG is transparent otherwise
    return spec


def chart_png(chart, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes, drawn server-side by vl-convert-python (scale 2: sharp on slides)."""
    import vl_convert

    return vl_convert.vegalite_to_png(_spec(chart), scale=scale)


def chart_svg(chart) -> str:
    """The chart as SVG text, drawn server-side by vl-convert-python."""
    import vl_convert

    return vl_convert.vegalite_to_svg(_spec(chart))


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
            that caches the spec (pages/recap_charts.py) pays for Altair's build and schema
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
    if isinstance(chart, Mapping):
        st.vega_lite_chart(spec=dict(chart), width=width, height=height, key=f"{key}__chart")
    else:
        st.altair_chart(chart, width=width, height=height, key=f"{key}__chart")
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
