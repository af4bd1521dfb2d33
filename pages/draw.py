"""Draw and attack: draw a digit (or pick a test digit), see both networks classify it, attack it."""

import numpy as np
import streamlit as st

from core import live_attack
from core.digits import EmptyDrawingError, InvertedDrawingError, TooSmallDrawingError, decode_canvas_png, to_mnist
from pages import ui
from pages.navigation import keep_talk_navigation
from pages.sharing import TalkSettings, chart_png, chart_svg, table_csv, vl_convert_available, what_to_notice

keep_talk_navigation()

CANVAS_SIZE = 280  # ten canvas pixels per MNIST pixel
STROKE = 20  # about two MNIST pixels once the digit is scaled into its 20x20 box
EPS_MAX = live_attack.FLIP_GRID_MAX
STD_MAX = 0.5
SOURCES = ("Draw", "Pick a test digit")
ATTACKS = ("FGSM", "White noise")
NOISE_DRAWS = 999
EXPORT_WIDTH = 360  # pixels of an exported bar chart (on the page the chart fills its column)

# The talk's settings; the URL holds the ones that differ (`?draw_eps=0.1`). The drawing itself is
# not in the URL: "Pick a test digit" is the shareable input.
TALK = TalkSettings("draw", {"source": "Draw", "pick": 0, "attack": "FGSM", "eps": 0.05, "std": 0.1,
                             "noise": 0, "training": "standard"})

root = ui.pretrained_root()

st.title("Draw a digit and attack it")
st.markdown(
    "Draw a digit, or pick one from the test set. Both networks classify it; then push it with FGSM "
    "(each network's own gradient) or with random noise, and find the smallest push that changes "
    "each network's answer."
)
TALK.reset_button()


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def probability_bars(probs_by_model: dict[str, np.ndarray], stem: str, key: str, height: int) -> None:
    """Class-probability bars with PNG, SVG and CSV downloads of them.

    `st.vega_lite_chart` of a plain spec, not `chart_with_downloads` (Altair): these bars answer every
    slider move, and an Altair chart costs tens of milliseconds more. The downloads are deferred:
    the images are drawn (by vl-convert) only when a button is clicked, so a rerun pays nothing.
    """
    data, spec = ui.probability_spec(probs_by_model)
    st.vega_lite_chart(data, spec, width="stretch", height=height)

    def chart():
        import altair as alt

        return alt.Chart.from_dict({**spec, "data": {"values": data.to_dict("records")},
                                    "width": EXPORT_WIDTH, "height": height})

    has_vl = vl_convert_available()
    missing = "Install vl-convert-python (see requirements.txt) to export images."
    row = st.container(horizontal=True, gap="small", key=f"{key}__downloads")
    row.download_button("PNG", data=lambda: chart_png(chart()), file_name=f"{stem}.png", mime="image/png",
                        key=f"{key}__png", on_click="ignore", icon=":material/image:", disabled=not has_vl,
                        help="The chart as a PNG image" if has_vl else missing, type="tertiary")
    row.download_button("SVG", data=lambda: chart_svg(chart()), file_name=f"{stem}.svg", mime="image/svg+xml",
                        key=f"{key}__svg", on_click="ignore", icon=":material/draw:", disabled=not has_vl,
                        help="The chart as an SVG image" if has_vl else missing, type="tertiary")
    row.download_button("CSV", data=lambda: table_csv(data), file_name=f"{stem}.csv", mime="text/csv",
                        key=f"{key}__csv", on_click="ignore", icon=":material/table:",
                        help="The probabilities behind the chart", type="tertiary")


def drawn_digit() -> np.ndarray | None:
    """The canvas, as a 28x28 MNIST-style digit in [0, 1]; None (with a hint) while it is empty."""
    from streamlit_drawable_canvas import st_canvas  # a custom component: import inside page code

    st.caption("Draw one digit, large, in the middle. The toolbar above it undoes or clears the drawing.")
    result = st_canvas(
        stroke_width=STROKE, stroke_color="#FFFFFF", background_color="#000000",
        height=CANVAS_SIZE, width=CANVAS_SIZE, drawing_mode="freedraw",
        return_image_data=True, update_streamlit=True, key="draw_canvas",
    )
    raw = result.image_bytes  # the PNG as sent: its size is checked before it is decoded
    if raw is None:
        st.info("Draw a digit on the black square to see what the networks make of it.", icon=":material/draw:")
        return None
    try:
        return to_mnist(decode_canvas_png(raw, CANVAS_SIZE))
    except TooSmallDrawingError as exc:
        st.info(f"Not yet a digit: {exc}.", icon=":material/draw:")
    except EmptyDrawingError:
        st.info("The canvas is empty: draw a digit on the black square.", icon=":material/draw:")
    except InvertedDrawingError as exc:
        st.warning(f"Inverted drawing: {exc}.", icon=":material/invert_colors:")
    return None


def picked_digit() -> tuple[np.ndarray, int]:
    """A shipped test digit chosen by the user, and its label."""
    images, labels = ui.sample(root)
    options = range(len(labels))
    i = st.selectbox(
        "Test digit", options, format_func=lambda k: f"#{k}: a {labels[k]}",
        **TALK.bind("pick", options=options),
    )
    return images[i].reshape(28, 28), int(labels[i])


c_source, c_training = st.columns(2)
source = c_source.radio("Input", SOURCES, horizontal=True, **TALK.bind("source", options=SOURCES))
# f_n and f_nd as trained in the talk, or their adversarially trained versions (training.capacity).
models = ui.training_choice(TALK, c_training)
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
        what_to_notice(
            "A confident answer is one tall bar; an ambiguous digit spreads its probability over "
            "several classes. Compare each network's confidence here with the smallest push that "
            "flips it, below."
        )
        c_img, c_txt = st.columns([1, 2], vertical_alignment="center")
        c_img.image(ui.digit_image(x, zoom=5), caption="28x28 input" + (f" (label {label})" if label is not None else ""))
        starts = {s.name: ui.image_fgsm_start(root, s.name, x) for s in models}
        with c_txt:
            for s in models:
                p = starts[s.name].clean
                st.markdown(
                    f"{ui.model_name_html(s)} says **{p.label[0]}** ({pct(p.confidence[0])})",
                    unsafe_allow_html=True,
                )
        name = "drawing" if label is None else f"test-digit-{TALK.value('pick')}"
        probability_bars({s.name: starts[s.name].clean.probs for s in models}, f"draw-{name}-probabilities",
                         key="draw_clean_bars", height=220)
        models_ready = True


@st.fragment
def attack_panel(x: np.ndarray, models: tuple) -> None:
    """FGSM or noise on the input, for both networks side by side, driven by one slider."""
    with ui.shown_errors():
        c_kind, c_budget = st.columns([1, 2], vertical_alignment="bottom")
        kind = c_kind.radio("Perturbation", ATTACKS, horizontal=True, **TALK.bind("attack", options=ATTACKS))
        if kind == "FGSM":
            budget = c_budget.slider(
                "eps: largest change of any pixel (pixel values lie in [0, 1])", 0.0, EPS_MAX, step=0.0025,
                format="%.4f", **TALK.bind("eps", low=0.0, high=EPS_MAX),
            )
            noise_seed = 0
            what_to_notice(
                "FGSM moves every pixel by up to eps, in the direction that raises the network's loss, so "
                "each network gets its own perturbation. Which network changes its answer first as eps "
                f"grows? The smallest flipping eps is searched on a grid of step {live_attack.FLIP_GRID_STEP} "
                f"up to {EPS_MAX:.1f}. Switch the networks between normally and adversarially trained and "
                "compare the perturbation maps: which one looks like pen strokes of another digit?"
            )
        else:
            c_std, c_draw = c_budget.columns([3, 1], vertical_alignment="bottom")
            budget = c_std.slider(
                "noise standard deviation (pixel units)", 0.0, STD_MAX, step=0.01, format="%.2f",
                **TALK.bind("std", low=0.0, high=STD_MAX),
            )
            noise_seed = c_draw.number_input("Noise draw", 0, NOISE_DRAWS, step=1, icon=":material/casino:",
                                             help="Each number is another random noise field.",
                                             **TALK.bind("noise", low=0, high=NOISE_DRAWS))
            what_to_notice(
                "Noise pushes every pixel in a random direction, the same field for both networks; FGSM "
                f"picks the most harmful direction for each. Compare with FGSM at eps {budget:.2f}."
            )
        cols = st.columns(len(models), gap="large")
        for col, spec in zip(cols, models):
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
                what = f"fgsm-eps{budget:.4f}" if kind == "FGSM" else f"noise-std{budget:.2f}-draw{noise_seed}"
                probability_bars({spec.name: out.prediction.probs}, f"draw-{what}-{spec.name}-probabilities",
                                 key=f"draw_attacked_bars_{spec.name}", height=190)
                st.markdown(
                    f"Smallest FGSM eps that changes its answer: **{flip:.4f}**" if np.isfinite(flip)
                    else f"No FGSM eps up to {EPS_MAX:.2f} changes its answer."
                )


if models_ready:  # else the error above already says which file is broken and how to fix it
    st.header("Attack it", divider="gray")
    attack_panel(x, models)
