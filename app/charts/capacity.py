"""The capacity page's closing figure, built once per (folder, eps) and cached as a Vega-Lite spec.

Every student opens the page at the talk's eps and moves its slider over a grid of 20 values, so
each figure is built once per eps (`st.cache_resource`: one object shared by every session, never changed) and sent as a cached
spec; the presenter's capacity slide draws the same spec. `warm()` builds the talk's eps at
server start-up (app/warmup.py).

A module, not a page (the navigation lists only the files in streamlit_app.TALK).
"""

import altair as alt
import pandas  # noqa: F401  (imported fully before any chart is built: see pages/capacity.py)
import streamlit as st

from app.chart_export import chart_spec
from core.results import capacity as cr
from core.specs import MNIST_MODELS

SMALL, BIG = MNIST_MODELS["f_n"], MNIST_MODELS["f_nd"]
TALK_EPS = 0.1
# Colours of the measured quantities: none of them is a model's (orange is f_n, blue is f_nd).
MEASURE_COLORS = {
    cr.MEASURE_LABELS["train"]: "#9A9A9A",
    cr.MEASURE_LABELS["clean"]: "#000000",
    cr.MEASURE_LABELS["FGSM"]: "#009E73",
    cr.MEASURE_LABELS["PGD"]: "#CC79A7",
    cr.MEASURE_LABELS["AutoAttack"]: "#6A3D9A",
}
TRAINING_DASH = {"standard": [1, 0], "adversarial": [6, 3]}
X_DOMAIN = (8e3, 1e8)  # from the narrowest net to beyond p = nd

@st.cache_resource(show_spinner="Reading the capacity sweep...")
def results(root: str) -> dict:
    return cr.load_capacity_results(root)


def pretrained_root() -> str:
    import core.results.pretrained as pretrained

    return str(pretrained.PRETRAINED_DIR)


def size_chart(rows: list[dict], eps: float) -> alt.LayerChart:
    """Accuracy against parameter count (log), one colour per measure, one dash per training."""
    xscale = alt.Scale(type="log", domain=list(X_DOMAIN))
    x = alt.X("parameters:Q", title="parameters p (log scale)", scale=xscale, axis=alt.Axis(format="~s"))
    y = alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=x, y=y,
        color=alt.Color("measure:N", title=None, scale=alt.Scale(domain=list(MEASURE_COLORS),
                                                                 range=list(MEASURE_COLORS.values())),
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=320)),
        detail="training:N",
        tooltip=["training:N", "hidden:Q", alt.Tooltip("parameters:Q", format=","),
                 alt.Tooltip("p / n:Q", format=".3g"), "measure:N", alt.Tooltip("accuracy:Q", format=".4f"),
                 alt.Tooltip("low:Q", format=".4f", title="lowest seed"),
                 alt.Tooltip("high:Q", format=".4f", title="highest seed"), "seeds:Q"],
    )
    # The spread over seeds: a vertical bar from the lowest to the highest seed at each width.
    # aria=False: the bars repeat the table's lowest and highest seed, and an empty layer (a folder
    # of single-seed runs) would otherwise be an unnamed graphics symbol to a screen reader.
    bars = base.transform_filter("datum.seeds > 1").mark_rule(strokeWidth=2, aria=False).encode(
        y=alt.Y("low:Q", scale=alt.Scale(domain=[0, 1])), y2="high:Q")
    # The training as a dash on the lines and a shape on the points: one legend (Vega-Lite merges
    # the two channels of one field), so neither may switch its legend off ("Conflicting legend
    # property disable").
    lines = base.mark_line(strokeWidth=2).encode(
        strokeDash=alt.StrokeDash("training:N", title="training",
                                  scale=alt.Scale(domain=list(TRAINING_DASH), range=list(TRAINING_DASH.values())),
                                  legend=alt.Legend(orient="top"))
    ) + base.mark_point(filled=True, size=45).encode(
        shape=alt.Shape("training:N", title="training",
                        scale=alt.Scale(domain=list(TRAINING_DASH), range=["circle", "square"]),
                        legend=alt.Legend(orient="top")))
    n, nd = cr.N_TRAIN, cr.N_TRAIN * cr.INPUT_DIM
    widest = max(r["parameters"] for r in rows)
    marks = [
        {"p": n, "label": "p = n", "color": "#555555", "y": 0.04},
        {"p": SMALL.param_count, "label": "f_n", "color": SMALL.color, "y": 0.12},
        {"p": BIG.param_count, "label": "f_nd", "color": BIG.color, "y": 0.12},
        {"p": nd, "label": "p = nd", "color": "#555555", "y": 0.04},
    ]
    rule = alt.Chart(alt.Data(values=marks)).encode(x=alt.X("p:Q", scale=xscale),
                                                     color=alt.Color("color:N", scale=None))
    rules = rule.mark_rule(strokeDash=[2, 2], strokeWidth=1.5)
    labels = rule.mark_text(align="left", dx=4, fontSize=12, fontWeight="bold").encode(
        y=alt.Y("y:Q", scale=alt.Scale(domain=[0, 1])), text="label:N")
    arrow_rows = [{"from": widest, "to": nd, "y": 0.25,
                   "label": f"p = nd is {nd / widest:.0f}× the widest net"}]
    arrow = alt.Chart(alt.Data(values=arrow_rows))
    shaft = arrow.mark_rule(color="#555555", strokeWidth=1.5).encode(
        x=alt.X("from:Q", scale=xscale), x2="to:Q", y=alt.Y("y:Q", scale=alt.Scale(domain=[0, 1])))
    head = arrow.mark_point(shape="triangle-right", size=120, filled=True, color="#555555", opacity=1).encode(
        x=alt.X("to:Q", scale=xscale), y=alt.Y("y:Q", scale=alt.Scale(domain=[0, 1])))
    note = arrow.mark_text(align="right", dy=-9, fontSize=11, color="#555555").encode(
        x=alt.X("to:Q", scale=xscale), y=alt.Y("y:Q", scale=alt.Scale(domain=[0, 1])), text="label:N")
    # Independent colour scales: the marks' colours are their own (scale=None, no legend), the
    # measures' have a legend.
    # The bars sit in one layer with the lines, so that they share the measures' colour scale
    # (a layer of their own would get a second, independent legend).
    measures = alt.layer(lines, bars)
    return (rules + labels + shaft + head + note + measures).resolve_scale(color="independent").properties(
        title=f"Accuracy against size at eps = {eps:.3f}", height=420)



@st.cache_resource(show_spinner=False, max_entries=64)
def size_figure(root: str, eps: float) -> tuple[dict, list[dict]]:
    """(Vega-Lite spec, its rows) of the accuracy-against-size figure at eps."""
    rows = cr.sweep_rows(results(root), eps)
    return chart_spec(size_chart(rows, eps)), rows


def warm() -> None:
    """The figure at the talk's eps (server start-up); a broken folder is left to the page."""
    from core.errors import RobustnessError

    try:
        size_figure(pretrained_root(), TALK_EPS)
    except RobustnessError:
        return
