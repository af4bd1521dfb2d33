"""The recap page's figures, built once per input and cached as Vega-Lite specs.

Building an Altair chart and turning it into Vega-Lite (schema validation included) costs tens
to hundreds of milliseconds per chart; the recap draws six. Every student opens the page with the
talk's settings, so each figure is built once per distinct input (`st.cache_resource`: one object shared by all
sessions) and the page sends the cached spec (`chart_with_downloads` takes a spec dict as well as
an Altair chart). `warm()` builds the talk's defaults at server start-up (app/warmup.py).

A module, not a page (the navigation lists only the files in streamlit_app.TALK).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import core.results.pretrained as pretrained
from app.chart_export import chart_spec
from core.attacks import linear_fgsm
from core.data import random_gaussian_data
from core.errors import RobustnessError
from core.experiments import robustness_law as law
from core.experiments.double_descent import double_descent_curve
from core.results.recap import FALLBACK_DIM, INTRINSIC_DIM_FILE, load_intrinsic_dim, recap_dir
from core.specs import MNIST_MODELS

SMALL, BIG = MNIST_MODELS["f_n"], MNIST_MODELS["f_nd"]
MNIST = law.MNIST_SCALE
THRESHOLD_COLOR = "#D55E00"  # Okabe-Ito vermillion: the interpolation threshold and the law's bound
NEUTRAL = "#555555"
# Generic curves (not a model): a mid grey, readable on a light and on a dark background. Orange
# and blue mean the two MNIST models only.
CURVE = "#808080"
POINT = "#009E73"  # Okabe-Ito bluish green: the clean point of the 2-d FGSM picture
POWER_OF_TEN = "'10^' + round(log(datum.value) / LN10)"  # axis labels 10^3, 10^4, ... (ticks at powers of 10)
GEOMETRY_POINTS = 200


def log_ticks(lo: float, hi: float) -> list[float]:
    return [10.0**e for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)]


@st.cache_resource(show_spinner="Fitting random-features models...", max_entries=64)
def curve(n: int, noise: float, seed: int):
    return double_descent_curve(n=n, noise=noise, seed=seed)


@st.cache_resource(show_spinner=False, max_entries=16)
def intrinsic_dim(root: str, stamp: int | None):
    """(estimate or None, error message or None): the shipped MNIST intrinsic dimension.

    `stamp` (the file's modification time) makes a regenerated file replace the cached one."""
    try:
        return load_intrinsic_dim(root), None
    except RobustnessError as exc:
        return None, str(exc)


def shipped_intrinsic_dim():
    """`intrinsic_dim` of the folder the app reads now, keyed on the file's modification time."""
    path = recap_dir(pretrained.PRETRAINED_DIR) / INTRINSIC_DIM_FILE
    return intrinsic_dim(str(pretrained.PRETRAINED_DIR), path.stat().st_mtime_ns if path.is_file() else None)


def talk_defaults() -> dict:
    """The talk's value of every recap widget (d_eff: the shipped estimate, else every pixel)."""
    result, _ = shipped_intrinsic_dim()
    return {
        "dd_n": 200, "dd_noise": 0.5, "dd_seed": 0,
        "geo_d": 784,
        "law_n": MNIST.n, "law_d": MNIST.d, "law_p": BIG.param_count,
        "law_deff": round(result.estimate, 1) if result else float(FALLBACK_DIM),
        # 0.2: the 2-d picture's point visibly moves (at 0.05 its move was a few pixels); at
        # d = 784 an eps of about 0.045 already flips, as the page says.
        "fgsm_d": 784, "fgsm_eps": 0.2,
    }


@st.cache_resource(show_spinner=False, max_entries=128)
def double_descent_chart(n: int, noise: float, seed: int) -> tuple[dict, pd.DataFrame]:
    """The double-descent figure (spec) and its numbers, for n training points, label noise, seed."""
    c = curve(n, noise, seed)
    frame = pd.DataFrame({"p/n": c.ratios, "features p": c.n_features, "test error": c.test_error,
                          "train error": c.train_error})
    lo, hi = float(frame["test error"].min()), float(frame["test error"].max())
    ymin, ymax = lo / 2, hi * 2
    regions = pd.DataFrame({
        "from": [float(c.ratios.min()), 1.0], "to": [1.0, float(c.ratios.max())],
        "regime": ["classical: p < n (U-curve)", "modern: p > n (interpolation)"],
        "shade": ["#F0F0F0", "#E8F1F8"], "y": [ymax, ymax],
    })
    x = alt.X("p/n:Q", scale=alt.Scale(type="log"), title="parameters per training point, p / n")
    y_scale = alt.Scale(type="log", domain=[ymin, ymax])
    bands = alt.Chart(regions).mark_rect(opacity=0.6).encode(
        x="from:Q", x2="to:Q", color=alt.Color("shade:N", scale=None))
    band_labels = alt.Chart(regions).mark_text(align="left", dx=6, dy=10, color=NEUTRAL).encode(
        x="from:Q", y=alt.Y("y:Q", scale=y_scale), text="regime:N")
    line = alt.Chart(frame).mark_line(point=alt.OverlayMarkDef(color=CURVE, filled=True), color=CURVE).encode(
        x=x, y=alt.Y("test error:Q", scale=y_scale, title="test error (MSE, log scale)"),
        tooltip=["features p:Q", alt.Tooltip("p/n:Q", format=".2f"),
                 alt.Tooltip("test error:Q", format=".3g"), alt.Tooltip("train error:Q", format=".2g")])
    rule = alt.Chart(pd.DataFrame({"p/n": [1.0], "label": ["interpolation threshold p = n"]}))
    threshold = rule.mark_rule(color=THRESHOLD_COLOR, strokeDash=[6, 3], size=2).encode(x="p/n:Q")
    threshold_label = rule.mark_text(align="left", dx=5, dy=-8, color=THRESHOLD_COLOR).encode(
        x="p/n:Q", y=alt.value(40), text="label:N")
    chart = (bands + band_labels + line + threshold + threshold_label).properties(
        height=340, title=f"Double descent: test error of min-norm least squares (n = {n}, label noise {noise:g})")
    return chart_spec(chart), frame


@st.cache_resource(show_spinner=False)
def gauge_chart() -> tuple[dict, pd.DataFrame]:
    """The memorization gauge (spec) and its rows: n and n·d of each data set next to real models."""
    gauge_rows = []
    for ds in law.DATASET_SCALES:
        gauge_rows.append({"data set": ds.name, "what": "n: enough to memorize", "parameters": ds.memorize,
                           "kind": "threshold", "source": ds.source})
        gauge_rows.append({"data set": ds.name, "what": "n·d: enough to memorize smoothly",
                           "parameters": ds.memorize_smoothly, "kind": "threshold", "source": ds.source})
    for spec in (SMALL, BIG):
        gauge_rows.append({"data set": MNIST.name, "what": spec.label, "parameters": spec.param_count,
                           "kind": "model", "source": "this lecture's MNIST networks (core.specs)"})
    gauge_rows.append({"data set": "ImageNet", "what": f"{law.RESNET50.name}", "parameters": law.RESNET50.params,
                       "kind": "model", "source": law.RESNET50.source})
    gauge = pd.DataFrame(gauge_rows)
    marks = {
        "n: enough to memorize": ("circle", NEUTRAL),
        "n·d: enough to memorize smoothly": ("diamond", THRESHOLD_COLOR),
        SMALL.label: ("square", SMALL.color),
        BIG.label: ("square", BIG.color),
        law.RESNET50.name: ("triangle-up", "#009E73"),
    }
    x_gauge = alt.X("parameters:Q", scale=alt.Scale(type="log", domain=[1e4, 1e12]),
                    axis=alt.Axis(values=log_ticks(1e4, 1e12), labelExpr=POWER_OF_TEN),
                    title="parameters (log scale)")
    points = alt.Chart(gauge).mark_point(size=220, filled=True, opacity=0.9).encode(
        x=x_gauge, y=alt.Y("data set:N", title="data set", sort=[d.name for d in law.DATASET_SCALES]),
        shape=alt.Shape("what:N", scale=alt.Scale(domain=list(marks), range=[m[0] for m in marks.values()]),
                        legend=alt.Legend(title=None, orient="bottom", direction="vertical", labelLimit=320)),
        color=alt.Color("what:N", scale=alt.Scale(domain=list(marks), range=[m[1] for m in marks.values()])),
        tooltip=["data set:N", "what:N", alt.Tooltip("parameters:Q", format=",.0f"), "source:N"])
    gpt = pd.DataFrame({"parameters": [law.GPT3.params], "label": ["GPT-3: 1.75·10¹¹"]})
    gpt_rule = alt.Chart(gpt).mark_rule(strokeDash=[4, 4], color=NEUTRAL).encode(x="parameters:Q")
    gpt_text = alt.Chart(gpt).mark_text(align="right", dx=-6, color=NEUTRAL).encode(
        x="parameters:Q", y=alt.value(10), text="label:N")
    gauge_chart = (points + gpt_rule + gpt_text).properties(
        height=240, title="Parameters to memorize (n) and to memorize smoothly (n·d), beside real models")
    rows = pd.concat([gauge, pd.DataFrame([{
        "data set": "", "what": law.GPT3.name, "parameters": law.GPT3.params, "kind": "model for scale",
        "source": law.GPT3.source}])], ignore_index=True)
    return chart_spec(gauge_chart), rows


@st.cache_resource(show_spinner=False, max_entries=32)
def distances_chart(d: int) -> tuple[dict, pd.DataFrame, float, float]:
    """Histogram (spec) of the distances between 200 random points in d dimensions, its numbers,
    the closest pair's distance and the Lipschitz floor of any interpolant of random labels."""
    n = GEOMETRY_POINTS
    x, y = random_gaussian_data(n, int(d), seed=0)
    dist = law.pairwise_distances(x)
    floor = law.interpolation_lipschitz_floor(x, y)
    frame = pd.DataFrame({"distance": dist})
    # Binned here (0.05 wide, from 0): the chart carries 60-odd bars, not 19,900 distances.
    edges = np.arange(0.0, max(3.0, float(dist.max())) + 0.05 + 1e-9, 0.05)
    counts, edges = np.histogram(dist, bins=edges)
    bins = pd.DataFrame({"distance": edges[:-1], "to": edges[1:], "pairs": counts})
    bins = bins[bins["pairs"] > 0]  # empty bins draw nothing
    hist = alt.Chart(bins).mark_bar(color=CURVE, opacity=0.9).encode(
        x=alt.X("distance:Q", axis=alt.Axis(values=[0, 0.5, 1, 1.5, 2, 2.5, 3]),
                scale=alt.Scale(domain=[0.0, float(edges[-1])], nice=False),
                title="distance ‖x_i − x_j‖ of a pair"),  # n and d are in the chart's title
        x2="to:Q",
        y=alt.Y("pairs:Q", title="pairs"), y2=alt.datum(0),
        tooltip=[alt.Tooltip("distance:Q", format=".2f", title="from"),
                 alt.Tooltip("to:Q", format=".2f"), "pairs:Q"])
    sqrt2 = alt.Chart(pd.DataFrame({"distance": [np.sqrt(2)], "label": ["√2"]}))
    chart = (hist + sqrt2.mark_rule(color=THRESHOLD_COLOR, strokeDash=[6, 3]).encode(x="distance:Q")
             + sqrt2.mark_text(dx=12, color=THRESHOLD_COLOR).encode(x="distance:Q", y=alt.value(12),
                                                                     text="label:N")
             ).properties(height=260, title=f"Distances between {n} random points x ~ N(0, I/d), d = {d}")
    return chart_spec(chart), frame, float(dist.min()), float(floor)


@st.cache_resource(show_spinner=False, max_entries=256)
def law_chart(n: int, d: int, p: int, deff: float) -> tuple[dict, pd.DataFrame]:
    """The law-of-robustness figure (spec) for the calculator's n, d, p, d_eff, and its numbers."""
    n, d, p, deff = float(n), float(d), float(p), float(deff)  # n·d can pass int64's 9.2e18
    p_grid = np.geomspace(min(n, p) / 10, max(n * d, p) * 10, 200)
    curves = pd.concat([
        pd.DataFrame({"p": p_grid, "bound": law.law_curve(n, d, p_grid), "dimension": f"d = {d:g}"}),
        pd.DataFrame({"p": p_grid, "bound": law.law_curve(n, deff, p_grid),
                      "dimension": f"d_eff = {deff:g}"}),
    ])
    models = pd.DataFrame([
        {"model": s.label, "p": s.param_count, "bound": law.law_lower_bound(n, dim, s.param_count),
         "dimension": f"{name} = {dim:g}", "color": s.color}
        for s in (SMALL, BIG) for name, dim in (("d", d), ("d_eff", deff))
    ])
    yours = pd.DataFrame([{"model": "your p", "p": p, "bound": law.law_lower_bound(n, d, p),
                           "dimension": f"d = {d:g}"}])
    xs = alt.X("p:Q", scale=alt.Scale(type="log"),
               axis=alt.Axis(values=log_ticks(p_grid[0], p_grid[-1]), labelExpr=POWER_OF_TEN),
               title="parameters p (log scale)")
    ys = alt.Y("bound:Q", scale=alt.Scale(type="log"), title="√(n d / p), log scale")
    lines = alt.Chart(curves).mark_line().encode(
        x=xs, y=ys, strokeDash=alt.StrokeDash("dimension:N", legend=alt.Legend(orient="top", title=None)),
        color=alt.value(NEUTRAL))
    model_colors = alt.Scale(domain=[SMALL.label, BIG.label], range=[SMALL.color, BIG.color])
    dots = alt.Chart(models).mark_point(size=160, filled=True).encode(
        x=xs, y=ys, color=alt.Color("model:N", scale=model_colors,
                                    legend=alt.Legend(orient="bottom", title=None, direction="vertical",
                                                      labelLimit=400)),
        shape=alt.Shape("model:N", legend=None),
        tooltip=["model:N", "dimension:N", alt.Tooltip("p:Q", format=",.0f"),
                 alt.Tooltip("bound:Q", format=".3g")])
    # The models' short names beside their dots ("f_n"): the legend below has the full labels.
    labels = alt.Chart(models[models["dimension"].str.startswith("d =")]).transform_calculate(
        name="split(datum.model, ':')[0]").mark_text(
        align="left", dx=10, dy=-10).encode(x=xs, y=ys, text="name:N",
                                            color=alt.Color("color:N", scale=None))
    ring = alt.Chart(yours).mark_point(size=420, shape="circle", filled=False, strokeWidth=2,
                                       color=THRESHOLD_COLOR).encode(
        x=xs, y=ys,
        tooltip=["model:N", alt.Tooltip("p:Q", format=",.0f"), alt.Tooltip("bound:Q", format=".3g")])
    marks_frame = pd.DataFrame({"p": [n, n * d], "label": ["p = n", "p = n·d"]})
    v_rules = alt.Chart(marks_frame).mark_rule(strokeDash=[6, 3], color=THRESHOLD_COLOR).encode(x="p:Q")
    v_text = alt.Chart(marks_frame).mark_text(align="left", dx=4, y=12, color=THRESHOLD_COLOR).encode(
        x="p:Q", text="label:N")
    chart = (lines + v_rules + v_text + dots + labels + ring).properties(
        height=340, title=f"Law of robustness: the lower bound √(nd/p) on Lip(f), n = {n:,.0f}")
    data = pd.concat([curves.assign(model=""), models.drop(columns="color"), yours])
    return chart_spec(chart), data


def fgsm_example(d: int, eps: float):
    """The talk's linear example in dimension d (a margin-1 point, a random unit w, seed 0) under
    FGSM at eps: the recap page, its slide and the warm-up all read this one."""
    return linear_fgsm.random_example(int(d), float(eps), margin=1.0, seed=0)


@st.cache_resource(show_spinner=False, max_entries=256)
def fgsm_charts(d: int, eps: float, flip_eps: float) -> tuple[dict, pd.DataFrame, dict, pd.DataFrame, object]:
    """The flipping-eps figure (with the reader's d marked at flip_eps), the 2-d picture for eps,
    their numbers, and the 2-d example (`linear_fgsm.random_example(2, eps)`)."""
    dims = np.unique(np.geomspace(1, 784, 40).astype(int))
    flip = pd.DataFrame({"d": dims, "flipping ε": linear_fgsm.flip_eps_by_dimension(dims, 1.0, 0)})
    flip["√(π/2d)"] = np.sqrt(np.pi / (2 * dims))
    measured, typical = "random unit w", "√(π/2d): typical"
    long = pd.concat([flip[["d", "flipping ε"]].assign(series=measured),
                      flip[["d", "√(π/2d)"]].rename(columns={"√(π/2d)": "flipping ε"}).assign(series=typical)])
    legend = alt.Legend(orient="bottom", title=None, labelLimit=400, symbolType="stroke", symbolStrokeWidth=2)
    series = alt.Color("series:N", scale=alt.Scale(domain=[measured, typical], range=[CURVE, NEUTRAL]),
                       legend=legend)
    x_d = alt.X("d:Q", scale=alt.Scale(type="log"), title="dimension d (log scale)")
    y_eps = alt.Y("flipping ε:Q", scale=alt.Scale(type="log"), title="ε that flips a margin-1 point")
    flip_chart = (
        alt.Chart(long).mark_line(point=True).encode(
            x=x_d, y=y_eps, color=series,
            strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=[measured, typical], range=[[1, 0], [4, 4]]),
                                      legend=legend),
            tooltip=["series:N", "d:Q", alt.Tooltip("flipping ε:Q", format=".4f")])
        + alt.Chart(pd.DataFrame({"d": [d], "flipping ε": [flip_eps]})).mark_point(
            size=200, color=THRESHOLD_COLOR, filled=True).encode(x="d:Q", y="flipping ε:Q")
    ).properties(height=280, title="ε that flips a linear score")
    ex2 = linear_fgsm.random_example(2, float(eps), margin=1.0, seed=0)
    w = ex2.w
    t = np.linspace(-2.5, 2.5, 2)
    boundary = pd.DataFrame({"x1": -w[1] * t, "x2": w[0] * t})  # w . x = 0
    pts = pd.DataFrame({"x1": [ex2.x[0], ex2.x_adv[0]], "x2": [ex2.x[1], ex2.x_adv[1]],
                        "point": ["x (clean)", "x_adv (FGSM)"]})
    box = pd.DataFrame({"x1": [ex2.x[0] - eps], "x2": [ex2.x[1] - eps],
                        "x1e": [ex2.x[0] + eps], "x2e": [ex2.x[1] + eps]})
    dom = alt.Scale(domain=[-1.6, 1.6])
    pic = (
        alt.Chart(box).mark_rect(opacity=0.35, color=THRESHOLD_COLOR, stroke=THRESHOLD_COLOR,
                                 strokeWidth=1.5).encode(
            x=alt.X("x1:Q", scale=dom, title="x₁"), y=alt.Y("x2:Q", scale=dom, title="x₂"),
            x2="x1e:Q", y2="x2e:Q")
        + alt.Chart(boundary).mark_line(color=NEUTRAL).encode(
            x=alt.X("x1:Q", scale=dom), y=alt.Y("x2:Q", scale=dom))
        + alt.Chart(pts).mark_line(color=THRESHOLD_COLOR).encode(x="x1:Q", y="x2:Q")
        + alt.Chart(pts).mark_point(size=45, filled=True).encode(
            x="x1:Q", y="x2:Q", color=alt.Color("point:N", scale=alt.Scale(
                domain=["x (clean)", "x_adv (FGSM)"], range=[POINT, THRESHOLD_COLOR]),
                legend=alt.Legend(orient="bottom", title=None)))
    ).properties(height=300, width=300, title=f"FGSM in d = 2, ε = {eps:g}")
    pic_data = pd.concat([pts, boundary.assign(point="decision boundary")])
    return chart_spec(flip_chart), flip, chart_spec(pic), pic_data, ex2


def warm() -> None:
    """Build the figures of the talk's settings (the view every student opens first)."""
    t = talk_defaults()
    double_descent_chart(t["dd_n"], t["dd_noise"], t["dd_seed"])
    gauge_chart()
    distances_chart(t["geo_d"])
    law_chart(t["law_n"], t["law_d"], t["law_p"], t["law_deff"])
    fgsm_charts(t["fgsm_d"], t["fgsm_eps"], fgsm_example(t["fgsm_d"], t["fgsm_eps"]).flip_eps)
