"""Random data: the law-of-robustness experiment of Bubeck, Li and Nagaraj, shipped and live."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import core.pretrained as pretrained
from core.errors import RobustnessError
from core.random_data_results import METADATA_FILE, ROWS_FILE, load_random_data_sweep
from core.specs import WIDTH_RULES
from core.sweep_reading import RuleReading, read_sweep, verdict
from pages.sharing import TalkSettings, chart_with_downloads, what_to_notice
from pages.navigation import keep_talk_navigation

keep_talk_navigation()

RULES = ("f_n", "f_nd")  # p ~ 10 n first: the one the law says must be steep
LIVE_DIMS = [10, 20, 40, 80, 160, 320, 640]

TALK = TalkSettings("random", {"live_n": 300, "live_dims": [20, 80, 320], "live_seeds": 1})


@st.cache_data(show_spinner="Reading the shipped sweep...", max_entries=8)
def shipped_sweep(root: str, stamp: tuple) -> tuple[list[dict], dict]:
    """The shipped rows and metadata; `stamp` (file sizes and times) refreshes the cache."""
    return load_random_data_sweep(Path(root))


def file_stamp(root: str) -> tuple:
    folder = Path(root) / pretrained.RANDOM_DATA_SUBDIR
    out = []
    for name in (ROWS_FILE, METADATA_FILE):
        try:
            st_ = (folder / name).stat()
            out.append((name, st_.st_size, st_.st_mtime_ns))
        except OSError:
            out.append((name, None, None))
    return tuple(out)


def rule_color_scale() -> alt.Scale:
    rules = [WIDTH_RULES[r] for r in RULES]
    return alt.Scale(domain=[r.label for r in rules], range=[r.color for r in rules])


def rows_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["width rule"] = frame["rule"].map(lambda r: WIDTH_RULES[r].label)
    frame["√d"] = np.sqrt(frame["d"].astype(float))
    frame["run"] = np.where(frame["memorized"], "memorized", "not memorized")
    return frame


def fit_frame(readings: dict[str, RuleReading], d_values: np.ndarray) -> pd.DataFrame:
    parts = []
    grid = np.linspace(float(np.min(d_values)), float(np.max(d_values)), 120)
    for rule, rd in readings.items():
        if rd.fitted:
            parts.append(pd.DataFrame({"d": grid, "√d": np.sqrt(grid), "fit": rd.line(grid),
                                       "width rule": rd.label}))
    if not parts:
        return pd.DataFrame(columns=["d", "√d", "fit", "width rule"])
    return pd.concat(parts, ignore_index=True)


def sweep_charts(frame: pd.DataFrame, fits: pd.DataFrame, stem: str, height: int = 320) -> None:
    """The maximum random gradient against sqrt(d) and against d, runs as points, fits as lines."""
    color = alt.Color("width rule:N", scale=rule_color_scale(),
                      legend=alt.Legend(orient="bottom", title=None, direction="vertical", labelLimit=320))
    shape = alt.Shape("run:N", scale=alt.Scale(
        domain=["memorized", "not memorized"], range=["circle", "cross"]),
        legend=alt.Legend(orient="bottom", title=None, direction="vertical", labelLimit=320))
    y = alt.Y("grad_max:Q", title="max random gradient")
    tooltip = ["d:Q", "width rule:N", "seed:Q", "k:Q", "p:Q", "steps:Q", "memorized:N",
               alt.Tooltip("train_mse:Q", format=".3f"), alt.Tooltip("grad_max:Q", format=".2f")]
    cols = st.columns(2)
    for col, xname, title in ((cols[0], "√d", "√d"), (cols[1], "d", "input dimension d")):
        x = alt.X(f"{xname}:Q", title=title)
        points = alt.Chart(frame).mark_point(size=70, filled=True, opacity=0.8).encode(
            x=x, y=y, color=color, shape=shape, tooltip=tooltip)
        lines = alt.Chart(fits).mark_line(size=2).encode(x=x, y="fit:Q", color=color)
        with col:
            suffix = "sqrt-d" if xname == "√d" else "d"
            chart_with_downloads((lines + points).properties(height=height),
                                 frame.drop(columns=["√d"]), f"{stem}-vs-{suffix}")


def reading_table(readings: dict[str, RuleReading]) -> pd.DataFrame:
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


def memorized_grid(frame: pd.DataFrame) -> pd.DataFrame:
    """d x rule: memorized runs / runs, and median steps."""
    g = frame.groupby(["d", "width rule"]).agg(memorized=("memorized", "sum"), runs=("memorized", "size"),
                                               steps=("steps", "median"), k=("k", "first"), p=("p", "first"))
    g["memorized"] = g["memorized"].astype(int).astype(str) + "/" + g["runs"].astype(str)
    return g.drop(columns="runs").reset_index()


# --- page ------------------------------------------------------------------------------------------

st.title("Random data: is a small network that memorizes necessarily steep?")
st.markdown(
    r"""
The experiment of Bubeck, Li and Nagaraj (2021, sec. 5), which the talk replicates. Draw $n$ points
$x_i \sim \mathcal N(0, I_d/d)$ (so $\|x_i\| \approx 1$) with labels $y_i = \pm 1$ at random,
independent of $x$: there is nothing to learn, only to memorize. Train a two-layer ReLU network
$f(x) = \sum_{j \le k} a_j\,\mathrm{relu}(w_j \cdot x + b_j) + c$ (batch normalization before the
ReLU, as in the paper) with full-batch Adam on the squared loss until it **memorizes**: every sign
right and training MSE at most $\varepsilon = 0.1$. Two width rules:

* **$k = \lceil 10n/d \rceil$**: $p \approx 10n$ parameters, just enough to memorize (orange);
* **$k = n$**: $p \approx nd$ parameters, enough to memorize smoothly (blue).

Smoothness is measured by the **maximum random gradient** $\max_{j \le T} \|\nabla f(z_j)\|_2$ over
$T$ fresh points $z_j \sim \mathcal N(0, I_d/d)$, a lower bound on $\mathrm{Lip}(f)$ where the data
live. The law of robustness predicts $\sqrt{nd/p}$: about $\sqrt{d/10}$ for the first rule, a
constant for the second. So the first should **grow like $\sqrt d$**, the second stay **flat**.
"""
)
TALK.reset_button()

st.header("The shipped sweep", divider="gray")
root = str(pretrained.PRETRAINED_DIR)
try:
    rows, meta = shipped_sweep(root, file_stamp(root))
except RobustnessError as exc:
    rows, meta = None, None
    st.error(f"{exc}\n\nThe live experiment below still works.", icon=":material/error:")

if rows:
    settings = meta.get("settings", {})
    st.markdown(
        f"**Grid**: n = {meta.get('n', '?'):,} points; "
        f"d ∈ {{{', '.join(map(str, meta.get('d_grid', [])))}}}; "
        f"seeds {meta.get('seeds', [])}; both width rules; {len(rows)} runs. "
        f"Adam, learning rate {settings.get('lr', '?')}, at most {settings.get('max_steps', '?'):,} steps; "
        f"probe of {settings.get('probe_points', '?'):,} random points. "
        f"Computed on {', '.join(meta.get('devices', [])) or 'an unrecorded device'} in "
        f"{meta.get('wall_time_s', float('nan')):,.0f} s ({meta.get('created', 'date not recorded')})."
    )
    st.caption(f"Regenerate with `{meta.get('command', pretrained.REGENERATE_RANDOM_DATA)}`.")
    what_to_notice(
        "Compare the slopes of the two lines on the left chart. The law of robustness says the "
        "orange runs (p ≈ 10n) cannot be smooth once d is large: their maximum gradient must climb "
        "like √d. The blue runs (p ≈ nd) are allowed to stay flat. Crosses mark runs that did not "
        "memorize within the step cap; they are left out of the fits."
    )
    frame = rows_frame(rows)
    readings = read_sweep(rows, RULES)
    sweep_charts(frame, fit_frame(readings, frame["d"].to_numpy()), "random-data-sweep")
    st.subheader("What the shipped runs show")
    show_reading(rows, key="random_reading_table")
    with st.expander("Which runs memorized, per dimension and width rule"):
        st.dataframe(memorized_grid(frame), hide_index=True, key="random_memorized_table",
                     column_config={"p": st.column_config.NumberColumn(format="localized")})

# --- the live mini-experiment ---------------------------------------------------------------------

st.header("Run it yourself", divider="gray")
st.markdown(
    "The same experiment, small enough for this computer: a few hundred points, a few dimensions, "
    "both width rules, trained here and now (a learning rate of 0.01 instead of the sweep's, "
    "so that it finishes quickly). It takes a few seconds; the largest settings take up to about "
    "half a minute on a slow laptop."
)
c1, c2, c3 = st.columns([1, 2, 1])
n = c1.slider("Points n", 100, 500, step=50, **TALK.bind("live_n"))
dims = c2.pills("Dimensions d", LIVE_DIMS, selection_mode="multi", **TALK.bind("live_dims", arg="default"))
n_seeds = c3.slider("Seeds per setting", 1, 3, **TALK.bind("live_seeds"))
run = st.button("Train the networks", type="primary", icon=":material/play_arrow:", key="random_run",
                disabled=not dims)
if not dims:
    st.warning("Pick at least one dimension.", icon=":material/warning:")

if run and dims:
    from core.random_data_live import MiniSweepConfig, run_mini_sweep  # imports torch: only now

    try:
        cfg = MiniSweepConfig(n=n, d_values=tuple(sorted(dims)), seeds=tuple(range(n_seeds)))
        bar = st.progress(0.0, text="Starting...")

        def progress(done: int, total: int, unit: tuple[int, str]) -> None:
            d, rule = unit
            text = ("Done." if done == total else
                    f"Training d = {d}, {WIDTH_RULES[rule].label} ({done + 1} of {total})")
            bar.progress(done / total, text=text)

        live_rows = run_mini_sweep(cfg, progress)
        st.session_state["random_live_rows"] = {"rows": live_rows, "n": n, "dims": sorted(dims),
                                                "seeds": n_seeds}
    except RobustnessError as exc:
        st.error(str(exc), icon=":material/error:")

live = st.session_state.get("random_live_rows")
if live:
    st.markdown(f"**Your run**: n = {live['n']}, d ∈ {{{', '.join(map(str, live['dims']))}}}, "
                f"{live['seeds']} seed(s) per setting.")
    what_to_notice(
        "Is the orange line steeper than the blue one? With a few hundred points the effect is "
        "smaller and noisier than in the shipped sweep; the reading below says what your runs show."
    )
    live_frame = rows_frame(live["rows"])
    live_readings = read_sweep(live["rows"], RULES)
    sweep_charts(live_frame, fit_frame(live_readings, live_frame["d"].to_numpy()), "random-data-live",
                 height=280)
    show_reading(live["rows"], key="random_live_table")
