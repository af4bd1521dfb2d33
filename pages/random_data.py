"""Random data: the law-of-robustness experiment of Bubeck, Li and Nagaraj, shipped and live."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

import core.results.pretrained as pretrained
from app.charts import random_data as charts
from app.charts.random_data import RULES
from app.errors import show_error
from app.navigation import keep_talk_navigation
from app.url_settings import TalkSettings, what_to_notice
from core.errors import RobustnessError
from core.experiments.live_training import TrainingQueue
from core.experiments.random_data_live import MAX_DIMS, MiniSweepConfig
from core.results.sweep_reading import read_split, read_sweep, split_text, verdict
from core.specs import WIDTH_RULES

keep_talk_navigation()

LIVE_DIMS = [10, 20, 40, 80, 160, 320, 640]
# The live run's network: the experiment, or the even control.
NETWORKS = {
    "relu": ("ReLU with batch norm (the experiment)", dict(activation="relu", hidden_bias=True, batchnorm=True)),
    "abs": ("|u|, no hidden biases, no batch norm (the control)",
            dict(activation="abs", hidden_bias=False, batchnorm=False)),
}

TALK = TalkSettings("random", {"live_n": 300, "live_dims": [20, 80, 320], "live_seeds": 1,
                               "live_net": "relu", "split_rule": "f_nd"})


def session_id() -> str | None:
    """This student's session: the training queue holds one unfinished run per session."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


@st.cache_resource
def training_queue() -> TrainingQueue:
    """The one live-training worker and its queue, shared by every session of this server."""
    return TrainingQueue()


def show_reading(v, table: pd.DataFrame, key: str) -> None:
    st.markdown(v.text)
    st.caption(f"Criterion: {v.criterion}. Fits: least squares over memorized runs only; means: "
               "over the memorized runs at that d.")
    st.dataframe(table, hide_index=True, key=key, column_config={
        c: st.column_config.NumberColumn(format="%.3f")
        for c in ("slope per √d", "intercept", "r²", "mean at smallest d", "mean at largest d")})


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

st.header("At the paper's scale: n = 10,000", divider="gray")
paper_view = charts.shipped("paper")
if paper_view:
    provenance(paper_view["meta"], paper_view["rows"])
    st.caption("Run with this project's own `training/random_data.py` on one NVIDIA H200 (see "
               "`shared/results/random_data_gpu/README.md`); the networks were not kept, so the "
               "per-run split below comes from the laptop-scale grid. ‖β‖ is recomputed from each "
               "run's data, which its seed determines.")
    what_to_notice(
        f"Orange: {paper_view['law_floor']} Do the blue runs (k = n, p ≈ nd) stay flat, as the paper "
        "reports? Compare both with the dashed grey line: the slope of the best straight line through "
        "the same random labels.")
    charts.draw(paper_view["figures"])
    st.subheader("What these runs show")
    show_reading(paper_view["verdict"], paper_view["table"], key="random_paper_table")
    st.markdown(paper_view["law_text"])

# --- a laptop's scale ---

st.header("On a laptop: n = 2000, three seeds", divider="gray")
laptop_view = charts.shipped("laptop")
if laptop_view:
    provenance(laptop_view["meta"], laptop_view["rows"])
    what_to_notice("The same experiment, five times smaller, with three seeds per point: the same picture?")
    charts.draw(laptop_view["figures"])
    show_reading(laptop_view["verdict"], laptop_view["table"], key="random_laptop_table")
    with st.expander("Which runs memorized, per dimension and width rule"):
        st.dataframe(laptop_view["memorized"], hide_index=True, key="random_memorized_table",
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
    "Width rule", list(RULES), format_func=lambda rule: WIDTH_RULES[rule].label,
    **TALK.bind("split_rule", arg="default"))
split_rule = split_rule or TALK.defaults["split_rule"]
control_view = charts.shipped("control")
left, right = st.columns(2)
with left:
    st.subheader("The split (laptop-scale grid)")
    root = str(pretrained.PRETRAINED_DIR)
    split = charts.split_of(root, "laptop", split_rule) if laptop_view else None
    if split is None:
        st.info("The laptop-scale grid has no per-run split to show.", icon=":material/info:")
    else:
        figure, text = split
        charts.draw_split(figure)
        st.markdown(text)
with right:
    st.subheader("The control: an even activation")
    st.markdown(
        r"Replace $\mathrm{relu}(u)$ by $|u|$ and drop the hidden biases and batch norm: then "
        r"$f(-x) = f(x)$, so $f$ has **no linear part**. This control isolates the mechanism; it is "
        r"not the paper's setup.")
    if control_view:
        charts.draw(control_view["figures"])
        v, meta_c = control_view["verdict"], control_view["meta"]
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
n = c1.slider("Points n", 100, 500, step=50, **TALK.bind("live_n", low=100, high=500))
dims = c2.pills(f"Dimensions d (up to {MAX_DIMS})", LIVE_DIMS, selection_mode="multi",
                help=f"A run trains at most {MAX_DIMS} of these {len(LIVE_DIMS)} dimensions.",
                **TALK.bind("live_dims", arg="default"))
c2.caption(f"Pick 1 to {MAX_DIMS} of the {len(LIVE_DIMS)} dimensions.")
too_many = len(dims) > MAX_DIMS
n_seeds = c3.slider("Seeds per setting", 1, 3, **TALK.bind("live_seeds", low=1, high=3))
net = c4.radio("Network", list(NETWORKS), captions=[label for label, _ in NETWORKS.values()],
               **TALK.bind("live_net", options=list(NETWORKS)))
run = st.button("Train the networks", type="primary", icon=":material/play_arrow:", key="random_run",
                disabled=not dims or too_many)
if not dims:
    st.warning("Pick at least one dimension.", icon=":material/warning:")
elif too_many:
    st.warning(f"{len(dims)} dimensions are picked and a run takes at most {MAX_DIMS}: unselect "
               f"{len(dims) - MAX_DIMS} of them.", icon=":material/warning:")

if run and dims and not too_many:
    try:
        cfg = MiniSweepConfig(n=n, d_values=tuple(sorted(dims)), seeds=tuple(range(n_seeds)),
                              **NETWORKS[net][1])
        st.session_state["random_live_job"] = training_queue().submit(cfg, owner=session_id())
        st.session_state["random_live_meta"] = {"n": n, "dims": sorted(dims), "seeds": n_seeds, "net": net}
    except RobustnessError as exc:
        show_error(exc)


# A status poll: cheap, and only while a run is queued or running; a student can pause it (WCAG 2.2.2).
@st.fragment(run_every=None if st.session_state.get("random_live_pause") else 1.0)
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
    st.toggle("Pause the progress updates", key="random_live_pause",
              help="The progress below refreshes every second while your run waits or trains.")
    live_status()
if error := st.session_state.pop("random_live_error", None):
    show_error(error)

live = st.session_state.get("random_live_rows")
if live:
    st.markdown(f"**Your run**: n = {live['n']}, d ∈ {{{', '.join(map(str, live['dims']))}}}, "
                f"{live['seeds']} seed(s) per setting; {NETWORKS[live.get('net', 'relu')][0]}.")
    what_to_notice(
        "Is the orange line steeper than the blue one? With a few hundred points the effect is smaller "
        "and noisier than in the shipped sweeps. Try the control: without a linear part, does the blue "
        "line flatten?")
    charts.draw(charts.sweep_figures(live["rows"], "random-data-live", height=280))
    live_readings = read_sweep(live["rows"], RULES)
    show_reading(verdict(live_readings), charts.reading_table(live_readings), key="random_live_table")
    for rule in RULES:
        live_split = read_split(live["rows"], rule)
        if live_split is not None:
            st.markdown(split_text(live_split))
