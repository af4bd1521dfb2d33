"""Shared pieces of the MNIST pages: cached loaders, the model colour scale, images, error display.

A module, not a page (`streamlit_app.py` lists its pages explicitly). Loaders are cached at module
level and keyed on (pretrained folder, model name), so a session, a test that points
`PRETRAINED_DIR` elsewhere and a fresh file all get the right entry.
"""

from __future__ import annotations

from contextlib import contextmanager

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import core.results.pretrained as pretrained
from core.results import capacity as capacity_results
from core.attacks import live as live_attack
from core.results import mnist as mnist_results
from core.runtimes.classifier import accuracy
from core.errors import RobustnessError
from core.specs import MNIST_MODELS, TALK_MODELS, MLPSpec, talk_models
from app.sharing import chart_spec

# Pixels per MNIST pixel when a 28x28 digit is shown (nearest neighbour: no blur, pixels visible).
ZOOM = 4
# ONNX Runtime threads per session. One: the app's calls are small (one image, or a few hundred),
# several sessions may run at once, and a spinning thread pool on a busy 2-core machine made one
# eps change 7x slower (benchmarks/app_speed.py).
ONNX_THREADS = 1
# The MNIST page's gallery: digits shown, and its eps slider's grid (the summary line over all
# shipped digits is cached per grid value, and warmed at start-up: app/warmup.py).
GALLERY_SIZE = 5
GALLERY_EPS_STEP = 0.005
GALLERY_EPS_MAX = 0.3
GALLERY_EPS_GRID = tuple(round(GALLERY_EPS_STEP * i, 6) for i in range(int(round(GALLERY_EPS_MAX / GALLERY_EPS_STEP)) + 1))


def pretrained_root() -> str:
    """The folder the app reads, as a hashable cache key (read at call time: tests may repoint it)."""
    return str(pretrained.PRETRAINED_DIR)


@contextmanager
def shown_errors():
    """Show an artifact or input error as `st.error` (its message names the fix) and carry on.

    The rest of the block is skipped; the rest of the page still runs.
    """
    try:
        yield
    except RobustnessError as exc:
        st.error(str(exc), icon=":material/error:")


# --- cached loaders ----------------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the model...")
def classifier(root: str, name: str):
    """The ONNX Runtime classifier of one model, its files checked against their sha256 once.

    f_n and f_nd come from pretrained/mnist, their adversarially trained versions (f_n_adv,
    f_nd_adv) from pretrained/capacity (`python -m training.capacity`)."""
    return capacity_results.load_classifier(name, root=root, threads=ONNX_THREADS)


@st.cache_data(show_spinner=False)
def metadata(root: str, name: str) -> dict:
    return pretrained.model_metadata(name, root=root)


@st.cache_data(show_spinner=False)
def sweeps(root: str) -> dict:
    return pretrained.load_mnist_sweeps(root=root)


@st.cache_data(show_spinner=False)
def sample(root: str) -> tuple[np.ndarray, np.ndarray]:
    """The shipped test digits: images float32 [N, 784] in [0, 1], labels int64 [N]."""
    return pretrained.load_sample(root=root)


@st.cache_data(show_spinner=False, max_entries=256)
def sample_fgsm_start(root: str, name: str, indices: tuple[int, ...]) -> live_attack.FgsmStart:
    """Gradients of the true-label loss of some shipped test digits (one backward pass, cached)."""
    images, labels = sample(root)
    idx = list(indices)
    return live_attack.prepare_fgsm(classifier(root, name), images[idx], labels[idx])


@st.cache_data(show_spinner=False, max_entries=512)
def sample_fgsm_accuracy(root: str, name: str, eps: float) -> float:
    """Accuracy of one model on all shipped test digits under FGSM at eps (true-label attack).

    Depends only on (model, eps): computed once for the whole class, not on every slider move
    (`warm_up` fills it for the gallery's grid at start-up).
    """
    images, labels = sample(root)
    start = sample_fgsm_start(root, name, tuple(range(len(labels))))
    out = live_attack.fgsm_outcome(classifier(root, name), start, eps)
    return accuracy(out.prediction.probs, labels)


@st.cache_data(show_spinner=False, max_entries=512)
def sample_noise_accuracy(root: str, name: str, std: float, seed: int) -> float:
    """Accuracy of one model on all shipped test digits under white noise (std, seed)."""
    images, labels = sample(root)
    out = live_attack.noise_outcome(classifier(root, name), images, std, seed=seed)
    return accuracy(out.prediction.probs, labels)


@st.cache_data(show_spinner=False, max_entries=256)
def image_fgsm_start(root: str, name: str, x: np.ndarray) -> live_attack.FgsmStart:
    """Gradient of the loss of a model's own prediction on one unlabelled image [1, 784]."""
    return live_attack.prepare_fgsm(classifier(root, name), x)


@st.cache_data(show_spinner=False, max_entries=256)
def image_flip_eps(root: str, name: str, x: np.ndarray) -> float:
    """Smallest eps on `live_attack.FLIP_GRID` at which FGSM flips the model on image x [1, 784]."""
    return float(live_attack.smallest_flip_eps(classifier(root, name), x)[0])


@st.cache_data(show_spinner=False, max_entries=256)
def image_targeted_start(root: str, name: str, x: np.ndarray, target: int) -> live_attack.FgsmStart:
    """Gradient of the loss of class `target` on one image [1, 784], for targeted FGSM (cached)."""
    return live_attack.prepare_targeted_fgsm(classifier(root, name), x, target)


@st.cache_data(show_spinner=False, max_entries=1024)
def image_pgd_outcome(root: str, name: str, x: np.ndarray, eps: float) -> live_attack.Outcome:
    """PGD against the model's own prediction on one image [1, 784] at eps (10 gradient steps;
    cached per eps: the slider's grid holds 121 values, so a revisited eps costs nothing)."""
    start = image_fgsm_start(root, name, x)
    return live_attack.pgd_outcome(classifier(root, name), x, start.target, eps)


CURVE_KINDS = ("fgsm", "pgd", "noise")


@st.cache_data(show_spinner=False, max_entries=16)
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
    chart = (base.mark_line() + base.mark_point(filled=True, size=30)).properties(title=title)
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


@st.cache_data(show_spinner=False, max_entries=16)
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


# --- drawing -----------------------------------------------------------------------------------


def color_scale() -> alt.Scale:
    """Each model's colour (spec.color), keyed on its label: the legend of every chart."""
    specs = list(MNIST_MODELS.values())
    return alt.Scale(domain=[s.label for s in specs], range=[s.color for s in specs])


def model_name_html(spec: MLPSpec, label: str | None = None) -> str:
    """The model's label (or a shorter `label`) in its colour, for
    st.markdown(..., unsafe_allow_html=True)."""
    from app.sharing import model_color

    # The class lets the page's style switch to the dark variant even on a session's first run,
    # before Streamlit knows the theme (app/presenter.py, PAGE_STYLE).
    return (f"<span class='talk-model-{spec.name}' style='color:{model_color(spec)}; font-weight:600'>"
            f"&#9632; {spec.label if label is None else label}</span>")


def digit_image(x: np.ndarray, zoom: int = ZOOM) -> np.ndarray:
    """A 784-pixel image in [0, 1] as uint8 [28 zoom, 28 zoom], each pixel a zoom x zoom block."""
    img = np.rint(np.clip(np.asarray(x, dtype=np.float32).reshape(28, 28), 0, 1) * 255).astype(np.uint8)
    return _zoom(img, zoom)


def png_url(img: np.ndarray) -> str:
    """A uint8 image [H, W] or [H, W, 3] as a `data:` URL of a PNG, for `st.image`.

    `st.image` of an array encodes it, opens the PNG twice more to check its format and size, and
    registers it with Streamlit's media file manager under one lock shared by every session; each
    browser then fetches it over HTTP. For the app's small images (a 112x112 digit is about 1 kB)
    that bookkeeping cost more than the attack: under a 30-student load, `st.image` was a third of
    the server's CPU, most of it threads queueing on that lock (py-spy, benchmarks/class_load.py).
    A data URL goes out inside the element itself: one PNG encoding (fast zlib level), nothing
    stored, nothing fetched.
    """
    import base64
    import io

    from PIL import Image

    arr = np.asarray(img)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"png_url takes a uint8 [H, W] or [H, W, 3|4] image, got {arr.dtype} {arr.shape}")
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _zoom(img: np.ndarray, zoom: int) -> np.ndarray:
    """Each pixel of a [H, W] or [H, W, C] image as a zoom x zoom block (np.repeat: a tenth of
    np.kron's time, and this runs for every image of every slider move)."""
    return np.repeat(np.repeat(img, zoom, axis=0), zoom, axis=1)


# Diverging colours for a perturbation: purple where a pixel got darker, green where it got brighter
# (ColorBrewer PRGn ends, readable with red-green colour blindness); white where untouched.
_DARKER = np.array([118, 42, 131], dtype=np.float32)
_BRIGHTER = np.array([27, 120, 55], dtype=np.float32)
_WHITE = np.array([255, 255, 255], dtype=np.float32)


def _diverging(values: np.ndarray, scale: float) -> np.ndarray:
    """RGB uint8 [..., 3] of values: white at 0, full green at +scale, full purple at -scale."""
    v = np.asarray(values, dtype=np.float32)
    t = np.clip(np.abs(v) / scale, 0, 1)[..., None] if scale > 0 else np.zeros(v.shape + (1,), np.float32)
    end = np.where((v > 0)[..., None], _BRIGHTER, _DARKER)
    return np.rint(_WHITE + t * (end - _WHITE)).astype(np.uint8)


def perturbation_image(delta: np.ndarray, scale: float, zoom: int = ZOOM) -> np.ndarray:
    """A perturbation [784] as an RGB uint8 heatmap image: green brighter, purple darker, white 0.

    scale: the |delta| drawn at full colour (the attack's eps, or 3 std for noise).
    """
    rgb = _diverging(np.asarray(delta).reshape(28, 28), scale)
    return _zoom(rgb, zoom)


def perturbation_legend(scale: float, width: int = 28 * ZOOM, height: int = 10) -> np.ndarray:
    """The colour bar of `perturbation_image`, RGB uint8 [height, width, 3]: -scale left, +scale right."""
    return np.repeat(_diverging(np.linspace(-scale, scale, width), scale)[None], height, axis=0)


def legend() -> alt.Legend:
    """The models' legend: above the plot, full labels."""
    return alt.Legend(orient="top", title=None, labelLimit=400)


def probability_spec(probs_by_model: dict[str, np.ndarray],
                     title: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Data and Vega-Lite spec of class-probability bars, grouped by model when there are several.

    A plain spec for `st.vega_lite_chart`, not Altair: it answers every slider move, and building
    and validating an Altair chart costs tens of milliseconds where this costs a fraction of one.
    Args: {model name: probabilities [10]}; the chart's title (None: none). The bars are in each
    model's colour (spec.color). The plot's height goes in the spec ({**spec, "height": h}), drawn with
    `st.vega_lite_chart(..., height="content")`: title and legend then add to it, not squeeze it.
    """
    data = pd.DataFrame(probability_rows(probs_by_model))
    several = len(probs_by_model) > 1
    specs = [TALK_MODELS[name] for name in probs_by_model]
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
    # fit-x: the plot keeps its height, and title and legend come on top of it (app.sharing.screen_spec)
    spec = {"mark": {"type": "bar"}, "encoding": encoding,
            "autosize": {"type": "fit-x", "contains": "padding"}}
    if title:
        spec["title"] = {"text": title, "anchor": "start", "fontSize": 13}
    return data, spec


def probability_rows(probs_by_model: dict[str, np.ndarray]) -> list[dict]:
    """Rows {model, digit, probability} from {model name: probabilities [10]}."""
    return [
        {"model": TALK_MODELS[name].label, "digit": d, "probability": float(p)}
        for name, probs in probs_by_model.items()
        for d, p in enumerate(np.asarray(probs).ravel())
    ]


# --- normally or adversarially trained ----------------------------------------------------------

TRAININGS = ("standard", "adversarial")  # also the URL's values (`?draw_training=adversarial`)


def training_choice(talk, container=None) -> tuple[MLPSpec, ...]:
    """A URL-bound choice between the talk's models as trained normally and their adversarially
    trained versions (training.capacity); returns the chosen (f_n, f_nd) specs.

    talk: the page's `TalkSettings`, with a "training" setting ("standard" in the talk).
    """
    where = container if container is not None else st
    # No format_func: a bound radio keeps its option's text in the URL, kept short this way.
    training = where.radio(
        "Training of f_n and f_nd", TRAININGS, horizontal=True,
        help="standard: trained on the clean images, as in the talk. adversarial: trained on FGSM "
             "examples with a random start at eps = 0.1 (the Robustness against size page).",
        **talk.bind("training", options=TRAININGS),
    )
    return talk_models(training)
