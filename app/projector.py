"""The projector's look: chart fonts read from the back of a hall, large text, and the sizes a slide
keeps to (1280x720: axis labels >= 16 px, digit images >= 200 px).

Not a page (the navigation lists only the files in streamlit_app.TALK). `projector_spec` restyles a
cached Vega-Lite spec with a dict merge (no Altair on a slider path); `chart` draws one, described
for a screen reader; the slides (app/slides.py) and the class's slides (app/classroom/) use them.
"""

from __future__ import annotations

import streamlit as st

from app import accessible
from app.chart_export import merged_config, readable_spec, screen_spec

# Projector sizes (CSS px at 1280x720): axis labels >= 16 px, digit images >= 200 px.
AXIS_LABEL_PX, AXIS_TITLE_PX, LEGEND_PX, TITLE_PX, TEXT_PX = 18, 20, 18, 21, 18
CHART_HEIGHT = 380
DIGIT_ZOOM = 8  # 28 x 8 = 224 px
PROJECTOR_MARK_FONT = 18  # px of the text a chart's own marks print (the curves' marker, labels)
MIN_TEXT_PX = 16  # no text on a slide is smaller, the text Vega draws included


PROJECTOR_CONFIG = {
    "axis": {"labelFontSize": AXIS_LABEL_PX, "titleFontSize": AXIS_TITLE_PX, "labelOverlap": True,
             "titleFontWeight": "normal"},
    "legend": {"labelFontSize": LEGEND_PX, "titleFontSize": LEGEND_PX, "symbolSize": 160, "rowPadding": 2, "columnPadding": 6,
               "labelLimit": 520},
    "title": {"fontSize": TITLE_PX, "subtitleFontSize": AXIS_LABEL_PX},
    "text": {"fontSize": TEXT_PX},
    "header": {"labelFontSize": AXIS_LABEL_PX, "titleFontSize": AXIS_TITLE_PX},
}


def projector_spec(spec: dict, height: int = CHART_HEIGHT, legend: str | None = None) -> dict:
    """A cached chart's Vega-Lite spec with fonts large enough for the back of a hall.

    A shallow merge (the data stay shared with the cached spec): cheap enough for a slider path.
    Every font size the spec sets below `MIN_TEXT_PX` (a text mark's, a title's, a legend's) is
    raised to `PROJECTOR_MARK_FONT`, so no text Vega draws on a slide is small. legend: where the
    legends go ("right": beside the plot, for a chart as wide as the slide, whose height then
    goes to the plot; None: where the page puts them). Drawn as SVG, whatever its size, so the
    text drawn can be checked in the page (tests/browser/test_screens.py).
    """
    config = merged_config(spec, PROJECTOR_CONFIG)
    config["view"] = {**config.get("view", {}), "continuousHeight": height}
    if legend:
        config["legend"] = {**config["legend"], "orient": legend}
    out = readable_spec(spec, MIN_TEXT_PX, PROJECTOR_MARK_FONT, legend)
    out["config"] = config
    usermeta = dict(spec.get("usermeta") or {})
    usermeta["embedOptions"] = {**usermeta.get("embedOptions", {}), "renderer": "svg"}
    out["usermeta"] = usermeta
    if "height" in spec:
        out["height"] = height
    out.pop("width", None)
    return out


def chart(spec: dict, key: str, height: int = CHART_HEIGHT, legend: str | None = None) -> None:
    """A cached chart at projector size, keyed "present_<key>" (legend: as in `projector_spec`),
    described for a screen reader (its accessible name, and its data as a table that takes no room
    on the slide)."""
    with st.container(gap=None):
        st.vega_lite_chart(spec=accessible.described(screen_spec(projector_spec(spec, height, legend)),
                                                     accessible.rows_of(spec)),
                           width="stretch", key=f"present_{key}")
        accessible.hidden_table(spec)


def big(text: str) -> None:
    """A line of large text."""
    st.markdown(f"<div class='present-big'>{text}</div>", unsafe_allow_html=True)
