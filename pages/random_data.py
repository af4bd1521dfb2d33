"""Random data: the law-of-robustness experiment of Bubeck, Li and Nagaraj, shipped and live."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import core.pretrained as pretrained
from core.errors import RobustnessError
from core.linear_part import expected_ls_slope_norm
from core.live_training import TrainingQueue
from core.random_data_live import MiniSweepConfig
from core.random_data_results import METADATA_FILE, ROWS_FILE, SHIPPED_GRIDS, load_random_data_sweep
from core.robustness_law import law_lower_bound
from core.specs import WIDTH_RULES
from core.sweep_reading import read_split, read_sweep, split_text, verdict
from pages.navigation import keep_talk_navigation
from pages.sharing import TalkSettings, chart_with_downloads, what_to_notice

keep_talk_navigation()

RULES = ("f_n", "f_nd")  # p ~ 10 n first: the one the law says must be steep
LIVE_DIMS = [10, 20, 40, 80, 160, 320, 640]
# The live run's network: the experiment, or the even control.
NETWORKS = {
    "relu": ("ReLU with batch norm (the experiment)", dict(activation="relu", hidden_bias=True, batchnorm=True)),
    "abs": ("|u|, no hidden biases, no batch norm (the control)",
            dict(activation="abs", hidden_bias=False, batchnorm=False)),
}
# Generic curves get neutral colours: orange and blue mean the two models (width rules) only.
LS_LABEL = "‖β‖: least-squares slope of the data"
SPLIT_SERIES = {
    "grad_max": ("maximum gradient", "#000000"),
    "lin_norm": ("linear part ‖mean ∇f‖", "#CC79A7"),
    "nonlin_max": ("the rest: max ‖∇f − mean ∇f‖", "#009E73"),
    "grad_max_init": ("maximum gradient at initialization", "#999999"),
    "ls_slope_norm": (LS_LABEL, "#7F6000"),
}
EXPECTED_LABEL = "d / √(n − d − 2): expected ‖β‖ for random labels"

TALK = TalkSettings("random", {"live_n": 300, "live_dims": [20, 80, 320], "live_seeds": 1,
                               "live_net": "relu", "split_rule": "f_nd"})


@st.cache_data(show_spinner="Reading the shipped sweep...", max_entries=16)
def shipped_sweep(root: str, grid: str, stamp: tuple) -> tuple[list[dict], dict]:
    """One shipped sweep's rows and metadata; `stamp` (file sizes and times) refreshes the cache."""
    return load_random_data_sweep(Path(root), grid)


def file_stamp(root: str, grid: str) -> tuple:
    folder = SHIPPED_GRIDS[grid].path(Path(root))
    out = []
    for name in (ROWS_FILE, METADATA_FILE):
        try:
            st_ = (folder / name).stat()
            out.append((name, st_.st_size, st_.st_mtime_ns))
        except OSError:
            out.append((name, None, None))
    return tuple(out)


def load(grid: str) -> tuple[list[dict] | None, dict | None]:
    """A shipped sweep, or (None, None) after showing its error (the rest of the page still works)."""
    root = str(pretrained.PRETRAINED_DIR)
    try:
        return shipped_sweep(root, grid, file_stamp(root, grid))
    except RobustnessError as exc:
        st.error(str(exc), icon=":material/error:")
        return None, None


@st.cache_resource
def training_queue() -> TrainingQueue:
    """The one live-training worker and its queue, shared by every session of this server."""
    return TrainingQueue()


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
    grid = np.linspace(float(np.min(d_values)), float(np.max(d_values)), 120)
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


def sweep_charts(frame: pd.DataFrame, stem: str, height: int = 320, with_ls: bool = False,
                 axes: tuple[str, ...] = ("√d", "d")) -> None:
    """The maximum random gradient against sqrt(d) (and d), runs as points, fits as lines; with
    with_ls, the least-squares slope norm of the same data as a grey line."""
    readings = read_sweep(frame.to_dict("records"), RULES)
    fits = fit_frame(readings, frame["d"].to_numpy())
    extra = ((LS_LABEL, SPLIT_SERIES["ls_slope_norm"][1]),) if with_ls else ()
    color = alt.Color("series:N", scale=series_scale(extra), title=None,
                      legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=360))
    shape = alt.Shape("run:N", scale=alt.Scale(
        domain=["memorized", "not memorized"], range=["circle", "cross"]),
        legend=alt.Legend(orient="bottom", title=None, direction="vertical", labelLimit=320))
    tooltip = ["d:Q", "width rule:N", "seed:Q", "k:Q", "p:Q", "steps:Q", "memorized:N",
               alt.Tooltip("train_mse:Q", format=".3f"), alt.Tooltip("grad_max:Q", format=".2f"),
               alt.Tooltip("ls_slope_norm:Q", title="‖β‖ (least squares)", format=".2f"),
               alt.Tooltip("lin_norm:Q", title="linear part", format=".2f"),
               alt.Tooltip("nonlin_max:Q", title="rest", format=".2f")]
    points_frame = frame.assign(series=frame["width rule"])
    cols = st.columns(len(axes))
    for col, xname in zip(cols, axes):
        x = alt.X(f"{xname}:Q", title="√d" if xname == "√d" else "input dimension d")
        y = alt.Y("value:Q", title="max random gradient")
        points = alt.Chart(points_frame).mark_point(size=60, filled=True, opacity=0.8).encode(
            x=x, y=alt.Y("grad_max:Q", title="max random gradient"), color=color, shape=shape,
            tooltip=tooltip)
        layers = [alt.Chart(fits).mark_line(size=2).encode(x=x, y=y, color=color), points]
        if with_ls:
            layers.append(alt.Chart(ls_frame(frame)).mark_line(size=2, strokeDash=[6, 3]).encode(
                x=x, y=y, color=color, tooltip=["d:Q", alt.Tooltip("value:Q", title="‖β‖", format=".2f")]))
        with col:
            suffix = "sqrt-d" if xname == "√d" else "d"
            chart_with_downloads(alt.layer(*layers).properties(height=height),
                                 frame.drop(columns=["√d"]), f"{stem}-vs-{suffix}")


def reading_table(readings) -> pd.DataFrame:
    return pd.DataFrame([{
        "width rule": rd.label, "memorized runs": f"{rd.memorized}/{rd.runs}",
        "slope per √d": rd.slope, "intercept": rd.intercept, "r²": rd.r2,
        "fit at smallest d": rd.fitted_low, "fit at largest d": rd.fitted_high,
    } for rd in readings.values()])


def show_reading(rows: list[dict], key: str) -> None:
    readings = read_sweep(rows, RULES)
    v = verdict(readings)
    st.markdown(v.text)
    st.caption(f"Criterion: {v.criterion}. Fits: least squares over memorized runs only.")
    st.dataframe(reading_table(readings), hide_index=True, key=key, column_config={
        c: st.column_config.NumberColumn(format="%.3f")
        for c in ("slope per √d", "intercept", "r²", "fit at smallest d", "fit at largest d")})


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
    share = (f" The k = n networks' maximum is {np.mean(big) / ls:.0%} of that: they carry part of the "
             "line (the split below measures how much)." if big and ls > 0 else "")
    return (f"At d = {d_max}, the maximum random gradient is " + "; ".join(parts) + ". "
            f"The least-squares line through the same random labels has slope norm ‖β‖ = {ls:.1f}; "
            "a network that carried all of it would have a gradient at least that large everywhere."
            + share)


def provenance(meta: dict, rows: list[dict]) -> None:
    settings = meta.get("settings", {})
    net = "|u|, no hidden biases" if meta.get("activation") == "abs" else "ReLU"
    bn = "batch norm" if meta.get("batchnorm") else "no batch norm"
    st.markdown(
        f"**Grid**: n = {meta.get('n', '?'):,} points; d from {min(meta.get('d_grid', [0]))} to "
        f"{max(meta.get('d_grid', [0]))} ({len(meta.get('d_grid', []))} values); seeds "
        f"{meta.get('seeds', [])}; both width rules; {len(rows)} runs; {net}, {bn}. "
        f"Adam, learning rate {settings.get('lr', '?')}, memorized = every sign right and training "
        f"MSE ≤ {settings.get('eps', '?')}; probe of {settings.get('probe_points', '?'):,} random points."
    )
    versions = meta.get("versions", {})
    st.caption(
        f"Computed on {', '.join(meta.get('devices', [])) or 'an unrecorded device'} in "
        f"{meta.get('wall_time_s', float('nan')):,.0f} s of training time "
        f"(Python {versions.get('python', '?')}, torch {versions.get('torch', '?')}, numpy "
        f"{versions.get('numpy', '?')}); merged {meta.get('created', 'on an unrecorded date')}."
    )
    with st.expander("How to reproduce these numbers"):
        st.code(meta.get("command", ""), language="bash", wrap_lines=True)
        sources = meta.get("sources", [])
        if sources:
            st.caption("Merged from the progress file(s) " + ", ".join(
                f"`{s['file']}` (sha256 {s['sha256'][:12]}…)" for s in sources) + ".")


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


def split_chart(rows: list[dict], rule: str, stem: str, height: int = 330) -> None:
    frame = split_frame(rows, rule)
    domain = [lbl for lbl, _ in SPLIT_SERIES.values()] + [EXPECTED_LABEL]
    colors = [c for _, c in SPLIT_SERIES.values()] + ["#555555"]
    color = alt.Color("series:N", title=None, scale=alt.Scale(domain=domain, range=colors),
                      legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=360))
    x = alt.X("√d:Q", title="√d")
    y = alt.Y("value:Q", title="gradient norm")
    measured = frame[frame["stat"] != "expected"]
    lines = alt.Chart(measured).mark_line(point=True, size=2).encode(
        x=x, y=y, color=color, tooltip=["d:Q", "series:N", alt.Tooltip("value:Q", format=".2f")])
    curve = alt.Chart(frame[frame["stat"] == "expected"]).mark_line(size=1.5, strokeDash=[2, 3]).encode(
        x=x, y=y, color=color)
    chart = (lines + curve).properties(height=height, title=f"{WIDTH_RULES[rule].label}: the split")
    # An explicit height: with "content", Streamlit squeezed the plot to make room for the long legend.
    chart_with_downloads(chart, frame.drop(columns=["√d"]), stem, height=height + 200)


# --- page ------------------------------------------------------------------------------------------

st.title("Random data: does memorizing with more parameters make a network smooth?")
st.markdown(
    r"""
Draw $n$ points $x_i \sim \mathcal N(0, I_d/d)$ (so $\|x_i\| \approx 1$) with labels $y_i = \pm 1$ at
random, independent of $x$: there is nothing to learn, only to memorize. Train a two-layer network
$f(x) = \sum_{j \le k} a_j\,\mathrm{relu}(w_j \cdot x + b_j) + c$ until it **memorizes** (every sign
right, training MSE at most $\varepsilon = 0.1$), with two width rules:
$k = \lceil 10n/d \rceil$, so $p \approx 10n$ parameters (orange), and $k = n$, so $p \approx nd$ (blue).
Smoothness is measured by the **maximum random gradient** $\max_{j \le 1000} \|\nabla f(z_j)\|_2$ over
fresh points $z_j \sim \mathcal N(0, I_d/d)$. Since $\mathrm{Lip}(f) = \sup_x \|\nabla f(x)\|_2$, it is a
lower bound on the Lipschitz constant where the data live.

**What the law says.** The law of robustness is a *lower bound*: a network with $p$ parameters (of
polynomially bounded size) that fits noisy labels below the noise level has $\mathrm{Lip}(f) \gtrsim
\sqrt{nd/p}$. Random labels are pure noise, so it applies here. For $k = \lceil 10n/d\rceil$ it
*forces* about $\sqrt{d/10}$: that network must get steeper as $d$ grows. For $k = n$ it only *allows*
a constant: more parameters make a smooth fit possible, and the law says nothing about whether
training finds one.

**What the paper reports, and what we find.** Bubeck, Li and Nagaraj (COLT 2021) conjecture in their
abstract that *"any two-layers neural network with k neurons that perfectly fit the data must have
its Lipschitz constant larger (up to a constant) than $\sqrt{n/k}$"*, and *"complement these
findings with experimental evidence supporting the conjecture"*. In the experiment the talk
replicates, the paper's figure shows the $k = n$ curve staying roughly flat as $d$ grows (the talk's
reading of it). Our runs, at the paper's scale too, do not show a flat curve. The sections below
show by how much, and why.
"""
)
st.caption(
    "Setup details, all **our choices** (the talk's description of the experiment; we could not re-check "
    "the paper's own wording of its experimental section here): batch normalization between the first "
    "layer and the ReLU, folded into the weights for the probe; PyTorch's default initialization; "
    "full-batch Adam, learning rate 0.001; the stopping rule above; 1000 probe points; n = 10,000 and d "
    "from 10 to 4960 for the paper-scale grid."
)
TALK.reset_button()

# --- the paper's scale ---

paper = SHIPPED_GRIDS["paper"]
st.header("At the paper's scale: n = 10,000", divider="gray")
rows, meta = load("paper")
if rows:
    provenance(meta, rows)
    st.caption("Run with this project's own `training/random_data.py` on one NVIDIA H200 (see "
               "`shared/results/random_data_gpu/README.md`); the networks were not kept, so the "
               "per-run split below comes from the laptop-scale grid. ‖β‖ is recomputed from each "
               "run's data, which its seed determines.")
    what_to_notice(
        "The law predicts that the orange runs (p ≈ 10n) climb like √d. Do the blue runs (p ≈ nd) stay "
        "flat, as the paper reports? Compare both with the dashed grey line: the slope of the best "
        "straight line through the same random labels.")
    frame = rows_frame(rows)
    sweep_charts(frame, "random-data-paper-scale", with_ls=True)
    st.subheader("What these runs show")
    show_reading(rows, key="random_paper_table")
    st.markdown(law_and_line_text(rows))

# --- a laptop's scale ---

st.header("On a laptop: n = 2000, three seeds", divider="gray")
rows_l, meta_l = load("laptop")
if rows_l:
    provenance(meta_l, rows_l)
    what_to_notice("The same experiment, five times smaller, with three seeds per point: the same picture?")
    frame_l = rows_frame(rows_l)
    sweep_charts(frame_l, "random-data-laptop-scale", with_ls=True)
    show_reading(rows_l, key="random_laptop_table")
    with st.expander("Which runs memorized, per dimension and width rule"):
        grid = frame_l.groupby(["d", "width rule"]).agg(
            memorized=("memorized", "sum"), runs=("memorized", "size"), steps=("steps", "median"),
            k=("k", "first"), p=("p", "first")).reset_index()
        grid["memorized"] = grid["memorized"].astype(int).astype(str) + "/" + grid["runs"].astype(str)
        st.dataframe(grid.drop(columns="runs"), hide_index=True, key="random_memorized_table",
                     column_config={"p": st.column_config.NumberColumn(format="localized")})

# --- why: the linear part ---

st.header("Why the big network is not flat: its linear part", divider="gray")
st.markdown(
    r"""
A ReLU network has a **linear part**: $\mathrm{relu}(u) = \tfrac{u}{2} + \tfrac{|u|}{2}$, so
$f(x) = \beta_f \cdot x + (\text{an even function of } x) + \text{const}$ for a network without hidden
biases, and close to it with them. Gradient training on the squared loss fits the best *linear*
function of the data early, and with random labels that line is pure noise: the least-squares slope
$\beta$ of $y \sim X\beta + c$ has $\mathbb E\|\beta\|^2 = d^2/(n-d-2)$, so
$\|\beta\| \approx d/\sqrt{n-d}$, which grows with $d$ however many parameters the network has.
A slope that every point shares shows up in $\nabla f(z_j)$ at every probe point, so it sets a floor
under the maximum. To see it, split each gradient into the mean over the probe points (the linear
part, $\|\tfrac1T\sum_j \nabla f(z_j)\|$) and what is left ($\max_j \|\nabla f(z_j) - \text{mean}\|$).
"""
)
split_rule = st.segmented_control(
    "Width rule (f_n: k = ⌈10n/d⌉, p ≈ 10n; f_nd: k = n, p ≈ nd)", list(RULES),
    **TALK.bind("split_rule", arg="default"))
split_rule = split_rule or TALK.defaults["split_rule"]
rows_c, meta_c = load("control")
left, right = st.columns(2)
with left:
    st.subheader("The split (laptop-scale grid)")
    split = read_split(rows_l, split_rule) if rows_l else None
    if split is None:
        st.info("The laptop-scale grid has no per-run split to show.", icon=":material/info:")
    else:
        split_chart(rows_l, split_rule, f"random-data-split-{split_rule}")
        st.markdown(split_text(split))
with right:
    st.subheader("The control: an even activation")
    st.markdown(
        r"Replace $\mathrm{relu}(u)$ by $|u|$ and drop the hidden biases and batch norm: then "
        r"$f(-x) = f(x)$, so $f$ has **no linear part**. This control isolates the mechanism; it is "
        r"not the paper's setup.")
    if rows_c:
        frame_c = rows_frame(rows_c)
        sweep_charts(frame_c, "random-data-control", axes=("√d",), height=300)
        v = verdict(read_sweep(rows_c, RULES))
        st.markdown(f"**The control's reading.** {v.text}")
        st.caption(f"Criterion: {v.criterion}. {meta_c.get('wall_time_s', float('nan')):,.0f} s on "
                   f"{', '.join(meta_c.get('devices', []))}.")

# --- the live mini-experiment ---

st.header("Run it yourself", divider="gray")
st.markdown(
    "The same experiment, small enough for this server: a few hundred points, a few dimensions, both "
    "width rules (a learning rate of 0.01 instead of the sweeps' 0.001, so that it finishes quickly). "
    "Runs wait in one queue and train one at a time in a separate worker, so a class can press the "
    "button together; identical settings share one run."
)
c1, c2, c3, c4 = st.columns([1, 2, 1, 2])
n = c1.slider("Points n", 100, 500, step=50, **TALK.bind("live_n"))
dims = c2.pills("Dimensions d", LIVE_DIMS, selection_mode="multi", **TALK.bind("live_dims", arg="default"))
n_seeds = c3.slider("Seeds per setting", 1, 3, **TALK.bind("live_seeds"))
net = c4.radio("Network", list(NETWORKS), captions=[label for label, _ in NETWORKS.values()],
               **TALK.bind("live_net", options=list(NETWORKS)))
run = st.button("Train the networks", type="primary", icon=":material/play_arrow:", key="random_run",
                disabled=not dims)
if not dims:
    st.warning("Pick at least one dimension.", icon=":material/warning:")

if run and dims:
    try:
        cfg = MiniSweepConfig(n=n, d_values=tuple(sorted(dims)), seeds=tuple(range(n_seeds)),
                              **NETWORKS[net][1])
        st.session_state["random_live_job"] = training_queue().submit(cfg)
        st.session_state["random_live_meta"] = {"n": n, "dims": sorted(dims), "seeds": n_seeds, "net": net}
    except RobustnessError as exc:
        st.error(str(exc), icon=":material/error:")


@st.fragment(run_every=1.0)  # a status poll: cheap, and only while a run is queued or running
def live_status() -> None:
    """Where the student's run is; when it is done, its rows go to the page (a full rerun)."""
    job_id = st.session_state.get("random_live_job")
    if job_id is None:
        return
    job = training_queue().status(job_id)
    if job.state == "queued":
        st.progress(0.0, text=f"Waiting: number {job.position} in the queue (one run at a time).")
    elif job.state == "running":
        st.progress(job.fraction, text=job.text)
    else:
        del st.session_state["random_live_job"]
        if job.state == "done":
            st.session_state["random_live_rows"] = {"rows": job.rows,
                                                    **st.session_state.get("random_live_meta", {})}
        else:
            st.session_state["random_live_error"] = job.error
        st.rerun()


if "random_live_job" in st.session_state:
    live_status()
if error := st.session_state.pop("random_live_error", None):
    st.error(error, icon=":material/error:")

live = st.session_state.get("random_live_rows")
if live:
    st.markdown(f"**Your run**: n = {live['n']}, d ∈ {{{', '.join(map(str, live['dims']))}}}, "
                f"{live['seeds']} seed(s) per setting; {NETWORKS[live.get('net', 'relu')][0]}.")
    what_to_notice(
        "Is the orange line steeper than the blue one? With a few hundred points the effect is smaller "
        "and noisier than in the shipped sweeps. Try the control: without a linear part, does the blue "
        "line flatten?")
    live_frame = rows_frame(live["rows"])
    sweep_charts(live_frame, "random-data-live", height=280)
    show_reading(live["rows"], key="random_live_table")
    for rule in RULES:
        live_split = read_split(live["rows"], rule)
        if live_split is not None:
            st.markdown(split_text(live_split))
