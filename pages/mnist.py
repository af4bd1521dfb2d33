"""MNIST: the talk's two networks, their clean accuracy, and how they break under attack and noise."""

import streamlit as st

from app import shipped
from app.chart_export import chart_with_downloads, screen_spec
from app.charts import gallery as gallery_charts
from app.charts import mnist as mnist_charts
from app.errors import shown_errors
from app.navigation import keep_talk_navigation
from app.theme import model_name_html
from app.url_settings import TalkSettings, what_to_notice
from core.attacks import get_attack
from core.attacks.fgsm import FGSM
from core.attacks.noise import NOISE
from core.errors import RobustnessError
from core.experiments.robustness_law import MNIST_SCALE
from core.results import capacity as capacity_results
from core.results import mnist as mnist_results
from core.specs import MNIST_MODELS

keep_talk_navigation()

SMALL, BIG = MNIST_MODELS["f_n"], MNIST_MODELS["f_nd"]
GALLERY_SIZE = shipped.GALLERY_SIZE
EPS_MAX = shipped.GALLERY_EPS_MAX  # the slider goes past the talk's 0.1 so every digit can be seen to flip
STD_MAX = 0.5
ATTACKS = (FGSM.name, NOISE.name)  # the gallery's two, looked up in core.attacks.ATTACKS
N_TRAIN = MNIST_SCALE.n  # MNIST training images (n)
DIGIT_SETS = 999  # the gallery's "digit set" number: a seed for which test digits are shown

# The talk's settings; the URL holds the ones that differ (`?mnist_eps=0.1`).
SWEEP_POSITIONS = mnist_charts.SWEEP_POSITIONS  # the marker's positions on the accuracy curves
TALK = TalkSettings("mnist", {"attack": "FGSM", "eps": 0.05, "std": 0.1, "digits": 0, "training": "standard",
                             "sweep": SWEEP_POSITIONS - 1})

root = shipped.pretrained_root()

st.title("MNIST: 120k against 3M parameters")
st.markdown(
    f"""
Two one-hidden-layer ReLU networks, trained to fit the MNIST training images (how well: the
table below): {model_name_html(SMALL)} with {SMALL.hidden} hidden units and
{model_name_html(BIG)} with {BIG.hidden:,}, {BIG.param_count / SMALL.param_count:.0f} times
as many parameters. The law of robustness bounds the Lipschitz constant of any model with $p$
parameters that fits $n$ **noisily labelled** points in $d$ dimensions below the noise level:
""",
    unsafe_allow_html=True,
)
st.latex(r"\mathrm{Lip}(f) \;\gtrsim\; \sqrt{\frac{n\,d}{p}}")
st.markdown(
    f"""
MNIST's labels are nearly noise-free, so here the law is a heuristic, not a theorem: does the bigger
network resist attacks better?

The names come from the talk: f_n has about as many parameters as training points
(p = {SMALL.param_count:,} ≈ {SMALL.param_count / N_TRAIN:.0f}n, n = {N_TRAIN:,}), f_nd many more
(p = {BIG.param_count:,} ≈ {BIG.param_count / N_TRAIN:.0f}n). It is **not** p ≈ nd: for MNIST
n·d = {N_TRAIN * 784:,}, {N_TRAIN * 784 / BIG.param_count:.0f} times f_nd's size.
""",
    unsafe_allow_html=True,
)
TALK.reset_button()


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# --- clean accuracy ------------------------------------------------------------------------------

st.header("Clean accuracy", divider="gray")
try:  # the reruns towards zero loss: without them the notes below say what is not known
    reruns = shipped.capacity_results(root)
    zero_loss = capacity_results.zero_loss_rows(reruns)
    zero_loss_curves = capacity_results.zero_loss_curves(reruns)
except RobustnessError:
    zero_loss = zero_loss_curves = None
with shown_errors():
    meta = {name: shipped.metadata(root, name) for name in MNIST_MODELS}
    rows = mnist_results.clean_rows(meta)
    what_to_notice(mnist_results.clean_reading(rows))
    st.caption(mnist_results.training_length_note(meta, zero_loss))
    st.dataframe(
        rows,
        hide_index=True,
        key="mnist_clean_table",
        column_config={
            "parameters": st.column_config.NumberColumn(format="localized"),
            "train accuracy": st.column_config.NumberColumn(format="%.5f", help="at the end of training"),
            "train loss": st.column_config.NumberColumn(format="%.2e", help="mean cross-entropy at the end of training"),
            "test accuracy": st.column_config.NumberColumn(format="%.4f", help="shipped models"),
            "test loss": st.column_config.NumberColumn(format="%.4f", help="mean cross-entropy, shipped models"),
            "talk accuracy": st.column_config.NumberColumn(format="%.3f", help="the talk's slide"),
            "talk loss": st.column_config.NumberColumn(format="%.3f", help="the talk's slide"),
        },
    )


# --- robustness curves ---------------------------------------------------------------------------


st.header("Accuracy under attack and under noise", divider="gray")
curves_ready = False
with shown_errors():
    sw = shipped.sweeps(root)
    reading = mnist_results.curves_reading(sw, eps=0.1, std=STD_MAX)  # raises on a broken sweep: before any text
    st.markdown(mnist_results.pgd_description(sw))
    what_to_notice(reading)
    if lesson := mnist_results.fgsm_pgd_lesson(zero_loss, zero_loss_curves):
        st.markdown(lesson)
    curves_ready = True


@st.fragment
def accuracy_curves(root: str) -> None:
    """The three shipped accuracy curves with a marker that a slider moves, or the play button sweeps."""
    with shown_errors():
        curves = mnist_charts.curves(root)
        position, frames = mnist_charts.marker_controls(
            TALK, "mnist", "Position on the curves: eps for FGSM and PGD, noise std for noise",
            play_help="Sweep eps (and the noise std) from 0 up, the marker moving along every curve. "
                      "Any other control stops it.")
        line = st.empty()
        slots = [col.empty() for col in st.columns(3)]

        def draw(k: int, final: bool) -> None:
            """One position of the marker: the line of numbers and the three charts (with downloads once final)."""
            marked = mnist_charts.marked_curves(curves, k)
            line.markdown(mnist_charts.marker_line(marked), unsafe_allow_html=True)
            for slot, kind in zip(slots, mnist_charts.CURVE_KINDS):
                with slot.container():
                    if final:
                        chart_with_downloads(marked[kind][0], curves[kind][1], f"mnist-{kind}-accuracy")
                    else:
                        st.vega_lite_chart(spec=screen_spec(marked[kind][0]), width="stretch")

        mnist_charts.play(frames, position, draw)


if curves_ready:  # else the error above already says which file is broken and how to fix it
    accuracy_curves(root)


# --- the gallery ---------------------------------------------------------------------------------

st.header("See it on test digits", divider="gray")


def shuffle_digits() -> None:
    """The shuffle button's callback: another digit set, at random (never the one shown)."""
    import random

    key = TALK.key("digits")
    current = int(st.session_state.get(key, TALK.defaults["digits"]))
    st.session_state[key] = (current + random.randint(1, DIGIT_SETS)) % (DIGIT_SETS + 1)


@st.fragment
def gallery(root: str) -> None:
    """Test digits, their attacked versions and the perturbations, for both models, live."""
    with shown_errors():
        # f_n and f_nd as trained in the talk, or adversarially trained (training.capacity).
        small, big = shipped.training_choice(TALK)
        c_kind, c_budget, c_set, c_new = st.columns([1.8, 3.6, 1.1, 1.3], vertical_alignment="bottom")
        kind = c_kind.radio("Perturbation", ATTACKS, horizontal=True, **TALK.bind("attack", options=ATTACKS))
        attack = get_attack(kind)
        if attack.budget == "eps":
            budget = c_budget.slider(
                "eps: largest change of any pixel (pixel values lie in [0, 1])", 0.0, EPS_MAX, step=shipped.GALLERY_EPS_STEP,
                format="%.3f", **TALK.bind("eps", low=0.0, high=EPS_MAX),
            )
        else:
            budget = c_budget.slider(
                "noise standard deviation (pixel units)", 0.0, STD_MAX, step=0.01, format="%.2f",
                **TALK.bind("std", low=0.0, high=STD_MAX),
            )
        seed = c_set.number_input(
            "Digit set", 0, DIGIT_SETS, step=1, **TALK.bind("digits", low=0, high=DIGIT_SETS),
            help="Each number shows five other test digits (and, for noise, another noise draw): "
                 "a shared link with this number shows the same digits.",
        )
        c_new.button("Shuffle", icon=":material/shuffle:", key="mnist_shuffle", on_click=shuffle_digits,
                     help="Five other test digits: a new digit set at random.", width="stretch")

        # The same (models, perturbation, budget, digit set) gives the same gallery to every student
        # who asks (a shared link, the talk's eps): built once, then a lookup.
        notice, summary, grid = gallery_charts.gallery_view(root, small.name, big.name, kind, float(budget), int(seed))
        what_to_notice(notice)
        st.markdown(summary, unsafe_allow_html=True)
        st.html(grid)
        st.caption("Green: pixel made brighter, purple: darker, white: unchanged (a pixel already at 0 "
                   "or 1 cannot move further that way).")


gallery(root)


# --- smallest flipping eps -----------------------------------------------------------------------

st.header("How much eps does each digit need?", divider="gray")
with shown_errors():
    chart, ecdf = mnist_charts.flip_chart(root)
    what_to_notice(mnist_results.flip_reading(shipped.sweeps(root)))
    chart_with_downloads(chart, ecdf, "mnist-flip-eps")


# --- gradients and the Lipschitz constant --------------------------------------------------------

st.header("How steep are the networks?", divider="gray")
with shown_errors():
    sw = shipped.sweeps(root)
    grads = mnist_results.gradient_rows(sw)
    what_to_notice(mnist_results.gradient_reading(sw))
    st.dataframe(
        [{k: v for k, v in r.items() if k != "name"} for r in grads],
        hide_index=True,
        key="mnist_gradient_table",
        column_config={
            "max": st.column_config.NumberColumn("max ‖∇p‖", format="%.3f", help="largest ||grad_x p_c(x)||_2 over the test images"),
            "mean": st.column_config.NumberColumn("mean ‖∇p‖", format="%.2e"),
            "median": st.column_config.NumberColumn("median ‖∇p‖", format="%.2e",
                                                    help="tiny: on most test digits p_c is saturated near 1"),
            "spectral bound": st.column_config.NumberColumn(format="%.2f", help="||W1||_2 ||W2||_2: bounds every gradient norm"),
            "max / bound": st.column_config.NumberColumn(format="%.3f"),
        },
    )
