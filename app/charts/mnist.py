"""The MNIST page's cached charts: accuracy against eps (FGSM, PGD) and noise std with a marker that
a slider moves or Play sweeps, and the fraction of test digits each FGSM eps flips.

Not a page (the navigation lists only the files in streamlit_app.TALK). The curves are built once
from sweeps.json (`curve_chart`, `flip_chart`: Altair's build costs tens of ms, so never per run);
the marker is plain dict layers on the cached spec (`marked_curve`). The marker's controls and its
sweep (`marker_controls`, `marked_curves`, `play`) serve both the MNIST page and its presenter
slide (app/slides.py), which differ only in how a frame is drawn.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import altair as alt
import streamlit as st

from app.chart_export import chart_spec
from app.shipped import sweeps
from app.theme import model_name_html
from core.results import mnist as mnist_results
from core.specs import MNIST_MODELS

CURVE_KINDS = ("fgsm", "pgd", "noise")


@st.cache_resource(show_spinner=False, max_entries=16)
def curve_chart(root: str, kind: str) -> tuple[dict, list[dict]]:
    """Accuracy against eps (or noise std) of both models from sweeps.json: a Vega-Lite spec and
    its rows. Built once (Altair's build and validation cost tens of ms per chart), not per run.

    kind: one of `CURVE_KINDS` (a sweep of `core.results.mnist.curve_rows`).
    """
    sw = sweeps(root)
    steps = sw.get("settings", {}).get("pgd", {}).get("steps", "?")
    title, x_title = {"fgsm": ("FGSM (one gradient step)", "eps (L-inf budget)"),
                      "pgd": (f"PGD ({steps} steps)", "eps (L-inf budget)"),
                      "noise": ("Gaussian white noise", "noise std")}[kind]
    rows = mnist_results.curve_rows(sw, kind)
    # An explicit x domain: Streamlit sends the data after the view, and Vega warns
    # "Infinite extent for field eps" on the empty first pass otherwise.
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("eps:Q", title=x_title, scale=alt.Scale(domain=eps_domain(rows))),
        y=alt.Y("accuracy:Q", title="test accuracy", scale=alt.Scale(domain=[0, 1])),
        # The legend in short ("f_n", "f_nd"): three charts share a row. (No explicit height:
        # with one and a legend, Streamlit squeezed the plot to a sliver.)
        color=alt.Color("model:N", scale=color_scale(), legend=alt.Legend(
            orient="top", title=None, labelExpr="split(datum.label, ':')[0]")),
        tooltip=["model:N", alt.Tooltip("eps:Q", format=".4f", title=x_title),
                 alt.Tooltip("accuracy:Q", format=".3f"), "n:Q"],
    )
    # A shape per model on the points too: colour is never the only cue (a colour-blind student,
    # a greyscale print). Same field and legend as the colour: Vega-Lite draws one merged legend.
    shape = alt.Shape("model:N", scale=alt.Scale(domain=[s.label for s in MNIST_MODELS.values()],
                                                 range=["circle", "square"]),
                      legend=alt.Legend(orient="top", title=None, labelExpr="split(datum.label, ':')[0]"))
    base = base.encode(shape=shape)
    chart = (base.mark_line() + base.mark_point(filled=True, size=40)).properties(title=title)
    return chart_spec(chart), rows


# The accuracy curves' marker (pages/mnist.py, the presenter): its positions (the shipped sweeps'
# 20 values), and the play button's seconds between two positions.
SWEEP_POSITIONS = 20
PLAY_FRAME_S = 0.3
MARKER_COLOR = "#777777"  # the marker's rule: neutral (the model colours mean the models), and
# readable on a light and a dark background alike


def sweep_grid(rows: list[dict]) -> list[float]:
    """The x values (eps, or noise std) of a sweep's curve rows, in increasing order."""
    return sorted({r["eps"] for r in rows})


def marked_curve(spec: dict, rows: list[dict], position: int, positions: int,
                 font_size: int = 13) -> tuple[dict, dict[str, tuple[float, float]]]:
    """The cached curve spec with a marker at one position of the sweep, and what it marks.

    position in [0, positions): the marker sits at the grid value that far along the curve's own
    grid (the three curves have 20 values each; a grid of another length is scaled). The marker is
    a dashed rule at x, each model's point on its curve, and its accuracy as text (font_size px:
    larger on a projector). Plain dict layers on the cached spec: no Altair build per frame.

    Returns: (spec, {model name: (x, accuracy)}).
    """
    grid = sweep_grid(rows)
    if not 0 <= position < positions:
        raise ValueError(f"position must lie in [0, {positions}), got {position}")
    i = round(position * (len(grid) - 1) / max(positions - 1, 1))
    x = grid[i]
    at = {r["name"]: (x, r["accuracy"]) for r in rows if r["eps"] == x}
    points = [{"model": r["model"], "eps": x, "accuracy": r["accuracy"],
               "text": f"{r['name']} {100 * r['accuracy']:.0f}%"} for r in rows if r["eps"] == x]
    x_enc = {"field": "eps", "type": "quantitative"}
    y_enc = {"field": "accuracy", "type": "quantitative"}
    # The models' colour scale and legend are the curves' (a layer's own legend setting would
    # conflict with theirs: Vega-Lite warns "Conflicting legend property").
    color = {"field": "model", "type": "nominal"}
    marker = [
        {"data": {"values": [{"eps": x}]}, "mark": {"type": "rule", "strokeDash": [5, 3], "strokeWidth": 2,
                                                     "color": MARKER_COLOR}, "encoding": {"x": x_enc}},
        {"data": {"values": points}, "mark": {"type": "point", "filled": True, "size": 180, "opacity": 1},
         "encoding": {"x": x_enc, "y": y_enc, "color": color}},
    ]
    # The higher model's number above its point, the lower's below, so the two do not print over
    # each other where the curves meet; past the middle of the x range, on the left of the rule.
    lo, hi = grid[0], grid[-1]
    right = hi > lo and (x - lo) / (hi - lo) > 0.6
    # Near the x axis the lower number goes above its point too, under the higher one.
    ranked = sorted(points, key=lambda p: -p["accuracy"])
    low = bool(ranked) and ranked[-1]["accuracy"] < 0.12
    offsets = [-(2 * font_size + 2), -(font_size - 2)] if low else [-(font_size - 2), font_size + 2]
    for point, dy in zip(ranked, offsets):
        marker.append({"data": {"values": [point]},
                       "mark": {"type": "text", "align": "right" if right else "left", "dx": -14 if right else 14,
                                "dy": dy, "fontSize": font_size, "fontWeight": "bold"},
                       "encoding": {"x": x_enc, "y": y_enc, "text": {"field": "text"}, "color": color}})
    return {**spec, "layer": [*spec["layer"], *marker]}, at


@st.cache_resource(show_spinner=False, max_entries=16)
def flip_chart(root: str) -> tuple[dict, list[dict]]:
    """The fraction of test digits flipped by each FGSM eps, both models: Vega-Lite spec and rows."""
    rows = mnist_results.ecdf_rows(sweeps(root))
    chart = (
        alt.Chart(alt.Data(values=rows), title="Smallest FGSM eps that flips each test digit's prediction")
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("eps:Q", title="FGSM eps", scale=alt.Scale(domain=eps_domain(rows))),
            y=alt.Y("flipped:Q", title="fraction of test digits flipped", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("model:N", scale=color_scale(), legend=legend()),
            tooltip=["model:N", alt.Tooltip("eps:Q", format=".4f"), alt.Tooltip("flipped:Q", format=".3f")],
        )
    )
    return chart_spec(chart), rows


def eps_domain(rows: list[dict]) -> list[float]:
    """[0, largest eps] of sweep rows (0 to 1 when there are none)."""
    return [0.0, max((float(r["eps"]) for r in rows), default=1.0) or 1.0]



def color_scale() -> alt.Scale:
    """Each model's colour (spec.color), keyed on its label: the legend of every chart."""
    specs = list(MNIST_MODELS.values())
    return alt.Scale(domain=[s.label for s in specs], range=[s.color for s in specs])



def legend() -> alt.Legend:
    """The models' legend: above the plot, full labels, one per line (two do not fit a phone side by side)."""
    return alt.Legend(orient="top", title=None, labelLimit=400, direction="vertical")



# --- the marker's controls and sweep, shared by the page and the slide --------------------------


def curves(root: str) -> dict[str, tuple[dict, list[dict]]]:
    """The three cached accuracy curves: {kind: (Vega-Lite spec, rows)}, in `CURVE_KINDS` order."""
    return {kind: curve_chart(root, kind) for kind in CURVE_KINDS}


def marker_controls(talk, prefix: str, label: str, play_help: str | None = None) -> tuple[int, range]:
    """The Play button and the marker's position slider, in one row; the slider is the page's URL
    setting "sweep" (`?mnist_sweep=5`), in [0, SWEEP_POSITIONS).

    Play puts the slider at the last position and asks this run to sweep there from 0.
    Args: talk: the `TalkSettings` holding "sweep"; prefix: of the keys (f"{prefix}_play").
    Returns: (the slider's position, the positions to sweep first: all after Play, else none).
    """
    last = SWEEP_POSITIONS - 1
    playing = f"{prefix}_playing"

    def start_play() -> None:
        st.session_state[talk.key("sweep")] = last
        st.session_state[playing] = True

    c_play, c_pos = st.columns([1, 5], vertical_alignment="bottom")
    c_play.button("Play", icon=":material/play_arrow:", key=f"{prefix}_play", on_click=start_play,
                  help=play_help, width="stretch")
    position = c_pos.slider(label, 0, last, step=1, format=f"step %d of {last}",
                            **talk.bind("sweep", low=0, high=last))
    return position, range(SWEEP_POSITIONS) if st.session_state.pop(playing, False) else range(0)


def marked_curves(built: dict[str, tuple[dict, list[dict]]], position: int,
                  font_size: int = 13) -> dict[str, tuple[dict, dict[str, tuple[float, float]]]]:
    """Each of the `curves` with the marker at `position` (`marked_curve`): {kind: (spec, {model: (x, accuracy)})}.

    font_size: px of the marker's numbers (larger on a projector)."""
    return {kind: marked_curve(spec, rows, position, SWEEP_POSITIONS, font_size=font_size)
            for kind, (spec, rows) in built.items()}


def marker_line(marked: dict[str, tuple[dict, dict[str, tuple[float, float]]]]) -> str:
    """What the marker reads on each curve, in one line of markdown with the models' names in colour."""
    parts = []
    for kind, label in (("fgsm", "FGSM"), ("pgd", "PGD"), ("noise", "noise")):
        at = marked[kind][1]
        x = next(iter(at.values()))[0]
        name = "std" if kind == "noise" else "eps"
        parts.append(f"{label} at {name} = {x:.3f}: " + ", ".join(
            f"{model_name_html(s, label=s.name)} **{100 * at[s.name][1]:.1f}%**"
            for s in MNIST_MODELS.values() if s.name in at))
    return " &nbsp;·&nbsp; ".join(parts)


def play(frames: range, position: int, draw: Callable[[int, bool], None]) -> None:
    """Draw the sweep's frames `PLAY_FRAME_S` apart (bounded: at most SWEEP_POSITIONS), then the
    slider's position: draw(position, final) with final True only for that last one. Under
    prefers-reduced-motion, the last one only."""
    from app.accessible import reduced_motion

    for k in (() if reduced_motion() else frames):
        draw(k, False)
        time.sleep(PLAY_FRAME_S)
    draw(position, True)
