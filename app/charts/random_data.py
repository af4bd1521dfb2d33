"""The random-data page's figures and readings, built once per shipped sweep and cached.

Building the Altair charts of a sweep (and Vega-Lite's schema validation) costs most of a page
run; the shipped sweeps change only when their files do. So each shipped grid's figures, its
reading and its split are built once per file stamp (`st.cache_resource`: one object shared by every session, never changed)
and the page sends the cached Vega-Lite specs (`chart_with_downloads` takes a spec dict).
`warm()` builds them at server start-up (app/warmup.py). A student's live run is drawn with the
same builders, uncached.

A module, not a page (the navigation lists only the files in streamlit_app.TALK).
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import core.results.pretrained as pretrained
from app.chart_export import chart_spec, chart_with_downloads
from app.errors import show_error
from core.errors import RobustnessError
from core.experiments.linear_part import expected_ls_slope_norm
from core.experiments.robustness_law import law_lower_bound
from core.results.random_data import METADATA_FILE, ROWS_FILE, SHIPPED_GRIDS, load_random_data_sweep
from core.results.sweep_reading import law_floor_text, read_split, read_sweep, split_text, verdict
from core.specs import WIDTH_RULES

RULES = ("f_n", "f_nd")  # p ~ 10 n first: the one the law says must be steep
# Generic curves get neutral colours: orange and blue mean the two models (width rules) only.
LS_LABEL = "‖β‖: least-squares slope of the data"
SPLIT_SERIES = {
    "grad_max": ("maximum gradient", "#000000"),
    "lin_norm": ("linear part ‖mean ∇f‖", "#CC79A7"),
    "nonlin_max": ("the rest: max ‖∇f − mean ∇f‖", "#009E73"),
    "grad_max_init": ("maximum gradient at initialization", "#999999"),
    "ls_slope_norm": (LS_LABEL, "#7F6000"),
}
EXPECTED_LABEL = "expected ‖β‖: d / √(n − d − 2)"  # for random labels (the page says so)
EXPECTED_COLOR = "#555555"
SPLIT_HEIGHT = 330

POINT_COLUMNS = ("d", "√d", "grad_max", "series", "run", "seed", "k", "p", "steps", "train_mse",
                 "ls_slope_norm", "lin_norm", "nonlin_max")
ROUNDING = 4  # decimals kept in a chart's inline data

# (Vega-Lite spec, the numbers behind it, file stem of its downloads)
Figure = tuple[dict, pd.DataFrame, str]


# --- builders (pure: rows in, specs out) ---------------------------------------------------------


def series_scale(extra: tuple[tuple[str, str], ...] = ()) -> alt.Scale:
    rules = [WIDTH_RULES[r] for r in RULES]
    return alt.Scale(domain=[r.label for r in rules] + [e[0] for e in extra],
                     range=[r.color for r in rules] + [e[1] for e in extra])


def rows_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["width rule"] = frame["rule"].map(lambda r: WIDTH_RULES[r].label)
    frame["√d"] = np.sqrt(frame["d"].astype(float))
    frame["run"] = np.where(frame["memorized"], "memorized", "not memorized")
    return frame


def fit_frame(readings, d_values: np.ndarray) -> pd.DataFrame:
    parts = []
    grid = np.linspace(float(np.min(d_values)), float(np.max(d_values)), 40)
    for rd in readings.values():
        if rd.fitted:
            parts.append(pd.DataFrame({"d": grid, "√d": np.sqrt(grid), "value": rd.line(grid),
                                       "series": rd.label}))
    if not parts:
        return pd.DataFrame(columns=["d", "√d", "value", "series"])
    return pd.concat(parts, ignore_index=True)


def ls_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The least-squares slope norm per d (a property of the data: the same for both rules)."""
    ls = frame.groupby("d", as_index=False)["ls_slope_norm"].mean()
    ls["√d"] = np.sqrt(ls["d"].astype(float))
    ls["series"] = LS_LABEL
    return ls.rename(columns={"ls_slope_norm": "value"}).dropna()


def sweep_figures(rows: list[dict], stem: str, height: int = 320, with_ls: bool = False,
                  axes: tuple[str, ...] = ("√d", "d")) -> list[Figure]:
    """The maximum random gradient against sqrt(d) (and d), runs as points, fits as lines; with
    with_ls, the least-squares slope norm of the same data as a dashed line."""
    frame = rows_frame(rows)
    fits = fit_frame(read_sweep(rows, RULES), frame["d"].to_numpy())
    extra = ((LS_LABEL, SPLIT_SERIES["ls_slope_norm"][1]),) if with_ls else ()
    color = alt.Color("series:N", scale=series_scale(extra), title=None,
                      legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=360))
    shape = alt.Shape("run:N", scale=alt.Scale(
        domain=["memorized", "not memorized"], range=["circle", "cross"]),
        # Above the plot: beside the colour legend it left a narrow chart ("not memori…").
        legend=alt.Legend(orient="top", title=None, direction="horizontal", labelLimit=320))
    tooltip = ["d:Q", alt.Tooltip("series:N", title="width rule"), "seed:Q", "k:Q", "p:Q", "steps:Q", "run:N",
               alt.Tooltip("train_mse:Q", format=".3f"), alt.Tooltip("grad_max:Q", format=".2f"),
               alt.Tooltip("ls_slope_norm:Q", title="‖β‖ (least squares)", format=".2f"),
               alt.Tooltip("lin_norm:Q", title="linear part", format=".2f"),
               alt.Tooltip("nonlin_max:Q", title="rest", format=".2f")]
    # Only what the marks and tooltips use, rounded: the spec goes to every student on every page
    # open (the CSV download keeps every column at full precision).
    points_frame = frame.assign(series=frame["width rule"])[
        list(POINT_COLUMNS)].round(ROUNDING)
    fits = fits.round(ROUNDING)
    figures = []
    for xname in axes:
        x = alt.X(f"{xname}:Q", title="√d" if xname == "√d" else "input dimension d")
        y = alt.Y("value:Q", title="max random gradient")
        points = alt.Chart(points_frame).mark_point(size=60, filled=True, opacity=0.8).encode(
            x=x, y=alt.Y("grad_max:Q", title="max random gradient"), color=color, shape=shape,
            tooltip=tooltip)
        layers = [alt.Chart(fits).mark_line(size=2).encode(x=x, y=y, color=color), points]
        if with_ls:
            layers.append(alt.Chart(ls_frame(frame).round(ROUNDING)).mark_line(size=2, strokeDash=[6, 3]).encode(
                x=x, y=y, color=color, tooltip=["d:Q", alt.Tooltip("value:Q", title="‖β‖", format=".2f")]))
        suffix = "sqrt-d" if xname == "√d" else "d"
        title = f"Max random gradient against {'√d' if xname == '√d' else 'd'}, n = {frame['n'].iloc[0]:,}"
        figures.append((chart_spec(alt.layer(*layers).properties(height=height, title=title)),
                        frame.drop(columns=["√d"]), f"{stem}-vs-{suffix}"))
    return figures


def reading_table(readings) -> pd.DataFrame:
    return pd.DataFrame([{
        "width rule": rd.label, "memorized runs": f"{rd.memorized}/{rd.runs}",
        "slope per √d": rd.slope, "intercept": rd.intercept, "r²": rd.r2,
        "mean at smallest d": rd.measured_low, "mean at largest d": rd.measured_high,
    } for rd in readings.values()])


def law_and_line_text(rows: list[dict]) -> str:
    """At the largest d: each rule's maximum gradient beside the law's floor and the data's ‖β‖."""
    d_max = max(r["d"] for r in rows)
    top = [r for r in rows if r["d"] == d_max and r["memorized"]]
    if not top:
        return ""
    parts = []
    for rule in RULES:
        mine = [r for r in top if r["rule"] == rule]
        if mine:
            g = float(np.mean([r["grad_max"] for r in mine]))
            floor = law_lower_bound(mine[0]["n"], d_max, mine[0]["p"])
            parts.append(f"{WIDTH_RULES[rule].label}: {g:.1f} (the law's √(nd/p) = {floor:.1f})")
    ls = float(np.nanmean([r["ls_slope_norm"] for r in top]))
    big = [r["grad_max"] for r in top if r["rule"] == "f_nd"]
    share = ""
    if big and ls > 0:
        share = f" The {WIDTH_RULES['f_nd'].short} networks' maximum is {np.mean(big) / ls:.0%} of that."
        share += (" The split below measures how much of the line they carry." if read_split(rows, "f_nd")
                  else " How much of the line they carry was not recorded at this scale (the networks "
                       "were not kept): the split below is measured on the laptop-scale grid.")
    return (f"At d = {d_max}, the maximum random gradient is " + "; ".join(parts) + ". "
            f"The least-squares line through the same random labels has slope norm ‖β‖ = {ls:.1f}; "
            "a network that carried all of it would have a gradient at least that large everywhere."
            + share)


def memorized_grid(rows: list[dict]) -> pd.DataFrame:
    """d x rule: memorized runs / runs, median steps, k and p."""
    frame = rows_frame(rows)
    grid = frame.groupby(["d", "width rule"]).agg(
        memorized=("memorized", "sum"), runs=("memorized", "size"), steps=("steps", "median"),
        k=("k", "first"), p=("p", "first")).reset_index()
    grid["memorized"] = grid["memorized"].astype(int).astype(str) + "/" + grid["runs"].astype(str)
    return grid.drop(columns="runs")


def split_frame(rows: list[dict], rule: str) -> pd.DataFrame:
    """Long format, mean over seeds per d: the split of one rule's maximum gradient."""
    frame = pd.DataFrame([r for r in rows if r["rule"] == rule and r["memorized"]])
    stats = [s for s in SPLIT_SERIES if s in frame and frame[s].notna().all()]
    mean = frame.groupby("d", as_index=False)[stats].mean()
    long = mean.melt(id_vars="d", var_name="stat", value_name="value")
    long["series"] = long["stat"].map(lambda s: SPLIT_SERIES[s][0])
    n = int(frame["n"].iloc[0])
    grid = np.linspace(mean["d"].min(), mean["d"].max(), 100)
    expected = pd.DataFrame({"d": grid, "stat": "expected", "value": expected_ls_slope_norm(n, grid),
                             "series": EXPECTED_LABEL})
    out = pd.concat([long, expected], ignore_index=True)
    out["√d"] = np.sqrt(out["d"].astype(float))
    return out


def split_figure(rows: list[dict], rule: str, stem: str, height: int = SPLIT_HEIGHT) -> Figure:
    frame = split_frame(rows, rule)
    domain = [lbl for lbl, _ in SPLIT_SERIES.values()] + [EXPECTED_LABEL]
    colors = [c for _, c in SPLIT_SERIES.values()] + [EXPECTED_COLOR]
    color = alt.Color("series:N", title=None, scale=alt.Scale(domain=domain, range=colors),
                      legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=360))
    x = alt.X("√d:Q", title="√d")
    y = alt.Y("value:Q", title="gradient norm")
    frame = frame.round(ROUNDING)
    measured = frame[frame["stat"] != "expected"]
    lines = alt.Chart(measured).mark_line(point=True, size=2).encode(
        x=x, y=y, color=color, tooltip=["d:Q", "series:N", alt.Tooltip("value:Q", format=".2f")])
    curve = alt.Chart(frame[frame["stat"] == "expected"]).mark_line(size=1.5, strokeDash=[2, 3]).encode(
        x=x, y=y, color=color)
    chart = (lines + curve).properties(height=height, title=f"{WIDTH_RULES[rule].label}: the split")
    return chart_spec(chart), frame.drop(columns=["√d"]), stem


# --- drawing ----------------------------------------------------------------------------------


def draw(figures: list[Figure], height: int | str = "content") -> None:
    """Figures side by side, each with its PNG / SVG / CSV downloads."""
    for col, (spec, data, stem) in zip(st.columns(len(figures)), figures):
        with col:
            chart_with_downloads(spec, data, stem, height=height)


def draw_split(figure: Figure) -> None:
    # Its own height ("content"): the spec's plot height, its title, axes and legend added
    # (app.chart_export.screen_spec); a fixed element height left the legend over the next paragraph.
    spec, data, stem = figure
    chart_with_downloads(spec, data, stem)


# --- the shipped sweeps, cached ----------------------------------------------------------------


def file_stamp(root: str, grid: str) -> tuple:
    folder = SHIPPED_GRIDS[grid].path(Path(root))
    out = []
    for name in (ROWS_FILE, METADATA_FILE, pretrained.MANIFEST_FILE):
        try:
            st_ = (folder / name).stat()
            out.append((name, st_.st_size, st_.st_mtime_ns))
        except OSError:
            out.append((name, None, None))
    return tuple(out)


# Per shipped grid: (stem of its figures, draw the least-squares line, axes).
VIEWS = {"paper": ("random-data-paper-scale", True, ("√d", "d")),
         "laptop": ("random-data-laptop-scale", True, ("√d", "d")),
         "control": ("random-data-control", False, ("√d",))}


@st.cache_resource(show_spinner="Reading the shipped sweep...", max_entries=16)
def shipped_view(root: str, grid: str, stamp: tuple) -> dict:
    """A shipped sweep with its figures and reading; `stamp` (file sizes and times) refreshes it.

    Keys: rows, meta, figures, verdict (core.results.sweep_reading.Verdict), table, law_text,
    law_floor (what the law forces on the k = 10n/d networks, beside what was measured), memorized.
    """
    rows, meta = load_random_data_sweep(Path(root), grid)
    stem, with_ls, axes = VIEWS[grid]
    readings = read_sweep(rows, RULES)
    return {"rows": rows, "meta": meta,
            "figures": sweep_figures(rows, stem, height=300 if grid == "control" else 320,
                                     with_ls=with_ls, axes=axes),
            "verdict": verdict(readings), "table": reading_table(readings),
            "law_text": law_and_line_text(rows), "law_floor": law_floor_text(rows, "f_n"),
            "memorized": memorized_grid(rows)}


@st.cache_resource(show_spinner=False, max_entries=16)
def shipped_split(root: str, grid: str, stamp: tuple, rule: str) -> tuple[Figure, str] | None:
    """The split figure and its sentences for one rule of a shipped sweep (None: not recorded)."""
    rows = shipped_view(root, grid, stamp)["rows"]
    split = read_split(rows, rule)
    if split is None:
        return None
    return split_figure(rows, rule, f"random-data-split-{rule}"), split_text(split)


def split_of(root: str, grid: str, rule: str) -> tuple[Figure, str] | None:
    """`shipped_split` of one rule of a grid's files as they are now (the page and its slide)."""
    return shipped_split(root, grid, file_stamp(root, grid), rule)


def shipped(grid: str) -> dict | None:
    """`shipped_view` of the folder the app reads now, or None after showing its error."""
    root = str(pretrained.PRETRAINED_DIR)
    try:
        return shipped_view(root, grid, file_stamp(root, grid))
    except RobustnessError as exc:
        show_error(exc)
        return None


def warm() -> None:
    """Build every shipped grid's figures and the split of both rules (server start-up)."""
    root = str(pretrained.PRETRAINED_DIR)
    for grid in SHIPPED_GRIDS:
        try:
            stamp = file_stamp(root, grid)
            shipped_view(root, grid, stamp)
            for rule in RULES:
                shipped_split(root, grid, stamp, rule)
        except RobustnessError:
            continue  # the page shows the error with its fix
