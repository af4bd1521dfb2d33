"""Draw and attack: draw a digit (or pick a test digit), see both networks classify it, attack it."""

import numpy as np
import streamlit as st

from core import live_attack
from core.digits import EmptyDrawingError, to_mnist
from core.specs import MNIST_MODELS
from pages import ui

MODELS = tuple(MNIST_MODELS.values())
CANVAS_SIZE = 280  # ten canvas pixels per MNIST pixel
STROKE = 20  # about two MNIST pixels once the digit is scaled into its 20x20 box
EPS_MAX = live_attack.FLIP_GRID_MAX
STD_MAX = 0.5

root = ui.pretrained_root()

st.title("Draw a digit and attack it")
st.markdown(
    "Draw a digit, or pick one from the test set. Both networks classify it; then push it with FGSM "
    "(each network's own gradient) or with random noise, and find the smallest push that changes "
    "each network's answer."
)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def drawn_digit() -> np.ndarray | None:
    """The canvas, as a 28x28 MNIST-style digit in [0, 1]; None (with a hint) while it is empty."""
    from streamlit_drawable_canvas import st_canvas  # a custom component: import inside page code

    st.caption("Draw one digit, large, in the middle. The toolbar above it undoes or clears the drawing.")
    result = st_canvas(
        stroke_width=STROKE, stroke_color="#FFFFFF", background_color="#000000",
        height=CANVAS_SIZE, width=CANVAS_SIZE, drawing_mode="freedraw",
        return_image_data=True, update_streamlit=True, key="draw_canvas",
    )
    image = result.image_data
    if image is None:
        st.info("Draw a digit on the black square to see what the networks make of it.", icon=":material/draw:")
        return None
    try:
        return to_mnist(image)
    except EmptyDrawingError:
        st.info("The canvas is empty: draw a digit on the black square.", icon=":material/draw:")
        return None


def picked_digit() -> tuple[np.ndarray, int]:
    """A shipped test digit chosen by the user, and its label."""
    images, labels = ui.sample(root)
    i = st.selectbox(
        "Test digit", range(len(labels)), format_func=lambda k: f"#{k}: a {labels[k]}", key="draw_pick",
    )
    return images[i].reshape(28, 28), int(labels[i])


source = st.radio("Input", ["Draw", "Pick a test digit"], horizontal=True, key="draw_source")
left, right = st.columns([1, 1.3], gap="large")
x, label = None, None
with left:
    with ui.shown_errors():
        if source == "Draw":
            x = drawn_digit()
        else:
            x, label = picked_digit()

models_ready = False
if x is not None:
    x = np.ascontiguousarray(x.reshape(1, 784), dtype=np.float32)
    with right, ui.shown_errors():
        st.subheader("What the networks see")
        c_img, c_txt = st.columns([1, 2], vertical_alignment="center")
        c_img.image(ui.digit_image(x, zoom=5), caption="28x28 input" + (f" (label {label})" if label is not None else ""))
        starts = {s.name: ui.image_fgsm_start(root, s.name, x) for s in MODELS}
        with c_txt:
            for s in MODELS:
                p = starts[s.name].clean
                st.markdown(
                    f"{ui.model_name_html(s)} says **{p.label[0]}** ({pct(p.confidence[0])})",
                    unsafe_allow_html=True,
                )
        bars, bar_spec = ui.probability_spec({s.name: starts[s.name].clean.probs for s in MODELS})
        st.vega_lite_chart(bars, bar_spec, width="stretch", height=220)
        st.caption(
            "What to notice: a confident answer is one tall bar; an ambiguous digit spreads its "
            "probability over several classes. Compare each network's confidence here with the "
            "smallest push that flips it, below."
        )
        models_ready = True


@st.fragment
def attack_panel(x: np.ndarray) -> None:
    """FGSM or noise on the input, for both networks side by side, driven by one slider."""
    with ui.shown_errors():
        c_kind, c_budget = st.columns([1, 2], vertical_alignment="bottom")
        kind = c_kind.radio("Perturbation", ["FGSM", "White noise"], horizontal=True, key="draw_attack")
        if kind == "FGSM":
            budget = c_budget.slider(
                "eps: largest change of any pixel (pixel values lie in [0, 1])", 0.0, EPS_MAX, 0.05, 0.0025,
                format="%.4f", key="draw_eps",
            )
        else:
            budget = c_budget.slider(
                "noise standard deviation (pixel units)", 0.0, STD_MAX, 0.1, 0.01, format="%.2f", key="draw_std",
            )
        noise_seed = st.session_state.get("draw_noise_seed", 0)
        cols = st.columns(len(MODELS), gap="large")
        for col, spec in zip(cols, MODELS):
            clf = ui.classifier(root, spec.name)
            start = ui.image_fgsm_start(root, spec.name, x)
            if kind == "FGSM":
                out = live_attack.fgsm_outcome(clf, start, budget)
            else:
                out = live_attack.noise_outcome(clf, x, budget, seed=noise_seed)
            flip = ui.image_flip_eps(root, spec.name, x)
            before, after = int(start.clean.label[0]), int(out.prediction.label[0])
            with col.container(key=f"draw_result_{spec.name}", border=True):
                st.markdown(ui.model_name_html(spec), unsafe_allow_html=True)
                changed = "changed its answer" if after != before else "kept its answer"
                st.markdown(f"clean **{before}** → now **{after}** ({pct(out.prediction.confidence[0])} confident): {changed}")
                scale = budget if kind == "FGSM" else 3 * budget
                c_img, c_map = st.columns(2)
                c_img.image(ui.digit_image(out.x), caption="attacked input")
                c_map.image(ui.perturbation_image(out.delta, scale), caption="perturbation")
                c_map.image(ui.perturbation_legend(scale), width=28 * ui.ZOOM,
                            caption=f"darker −{scale:.4f} · +{scale:.4f} brighter")
                bars, bar_spec = ui.probability_spec({spec.name: out.prediction.probs})
                st.vega_lite_chart(bars, bar_spec, width="stretch", height=190)
                st.markdown(
                    f"Smallest FGSM eps that changes its answer: **{flip:.4f}**" if np.isfinite(flip)
                    else f"No FGSM eps up to {EPS_MAX:.2f} changes its answer."
                )
        if kind == "White noise":
            if st.button("Draw new noise", key="draw_new_noise", icon=":material/casino:"):
                st.session_state["draw_noise_seed"] = noise_seed + 1
                st.rerun(scope="fragment")
        if kind == "FGSM":
            st.caption(
                "What to notice: FGSM moves every pixel by up to eps, in the direction that raises the network's "
                "loss, so each network gets its own perturbation. The smallest flipping eps is searched on "
                f"a grid of step {live_attack.FLIP_GRID_STEP} up to {EPS_MAX:.1f}."
            )
        else:
            st.caption(
                "What to notice: noise pushes every pixel in a random direction, the same field for both "
                "networks; FGSM picks the most harmful direction for each. Switch between the two to compare."
            )


if models_ready:  # else the error above already says which file is broken and how to fix it
    st.header("Attack it", divider="gray")
    attack_panel(x)
