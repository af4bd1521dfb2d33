"""MNIST: the talk's two networks, their clean accuracy, and how they break under attack and noise."""

import time

import numpy as np
import streamlit as st

from core.attacks import live as live_attack
from core.results import mnist as mnist_results
from core.experiments.robustness_law import MNIST_SCALE
from core.specs import MNIST_MODELS
from app import ui
from app.navigation import keep_talk_navigation
from app.sharing import TalkSettings, chart_with_downloads, screen_spec, what_to_notice

keep_talk_navigation()

SMALL, BIG = MNIST_MODELS["f_n"], MNIST_MODELS["f_nd"]
GALLERY_SIZE = ui.GALLERY_SIZE
EPS_MAX = ui.GALLERY_EPS_MAX  # the slider goes past the talk's 0.1 so every digit can be seen to flip
STD_MAX = 0.5
ATTACKS = ("FGSM", "White noise")
N_TRAIN = MNIST_SCALE.n  # MNIST training images (n)
DIGIT_SETS = 999  # the gallery's "digit set" number: a seed for which test digits are shown

# The talk's settings; the URL holds the ones that differ (`?mnist_eps=0.1`).
SWEEP_POSITIONS = ui.SWEEP_POSITIONS  # the marker's positions on the accuracy curves
TALK = TalkSettings("mnist", {"attack": "FGSM", "eps": 0.05, "std": 0.1, "digits": 0, "training": "standard",
                             "sweep": SWEEP_POSITIONS - 1})

root = ui.pretrained_root()

st.title("MNIST: 120k against 3M parameters")
st.markdown(
    f"""
Two one-hidden-layer ReLU networks, trained to fit the MNIST training images (how well: the
table below): {ui.model_name_html(SMALL)} with {SMALL.hidden} hidden units and
{ui.model_name_html(BIG)} with {BIG.hidden:,}, {BIG.param_count / SMALL.param_count:.0f} times
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
with ui.shown_errors():
    meta = {name: ui.metadata(root, name) for name in MNIST_MODELS}
    rows = mnist_results.clean_rows(meta)
    by = {r["model"]: r for r in rows}
    small, big = by[SMALL.label], by[BIG.label]
    gap = big["test accuracy"] - small["test accuracy"]
    verdict = (
        "clean accuracy barely separates them" if abs(gap) < 0.01
        else f"{BIG.name if gap > 0 else SMALL.name} is the more accurate by {abs(gap) * 100:.1f} points"
    )
    what_to_notice(
        f"On {small['test images']:,} test images {SMALL.name} scores "
        f"{pct(small['test accuracy'])} and {BIG.name} {pct(big['test accuracy'])}: {verdict}. "
        f"Test losses: {small['test loss']:.3f} and {big['test loss']:.3f} (the talk's: "
        f"{small['talk loss']:.3f} and {big['talk loss']:.3f}, the bigger model worse)."
    )
    epochs = {name: (m.get("training") or {}).get("epochs", "?") for name, m in meta.items()}
    st.caption(
        f"**Why our test losses are lower than the talk's.** Training length. Ours stop as soon as "
        f"they fit the training set (every image right and training loss ≤ 0.001: {epochs[SMALL.name]} "
        f"epochs for {SMALL.name}, {epochs[BIG.name]} for {BIG.name}, with a decaying learning rate). "
        "Training on past that point keeps the accuracy but makes the few test mistakes ever more "
        "confident, and cross-entropy punishes a confident mistake without limit: the test loss "
        "grows, fastest for the bigger network, which fits first. That is the likely reason for the "
        "talk's 0.211 and 0.587; its training settings are not known to us."
    )
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
    if any(m.get("smoke") for m in meta.values()):
        st.warning(
            "These artifacts come from a smoke run (a tiny training set, two epochs): the numbers "
            "show that the pipeline works, not the talk's results. Ship the full run with "
            "`python -m training.mnist`.",
            icon=":material/science:",
        )


# --- robustness curves ---------------------------------------------------------------------------


st.header("Accuracy under attack and under noise", divider="gray")
curves_ready = False
with ui.shown_errors():
    sw = ui.sweeps(root)
    eps_f, fgsm_small = mnist_results.accuracy_at(sw, SMALL.name, "fgsm", 0.1)
    _, fgsm_big = mnist_results.accuracy_at(sw, BIG.name, "fgsm", 0.1)
    eps_p, pgd_small = mnist_results.accuracy_at(sw, SMALL.name, "pgd", 0.1)
    _, pgd_big = mnist_results.accuracy_at(sw, BIG.name, "pgd", 0.1)
    std_n, noise_small = mnist_results.accuracy_at(sw, SMALL.name, "noise", STD_MAX)
    _, noise_big = mnist_results.accuracy_at(sw, BIG.name, "noise", STD_MAX)
    settings = sw.get("settings", {})
    n_test = f"{sw['test_set']['n']:,}" if "test_set" in sw else "the"
    n_pgd = f"{settings['pgd']['subset_size']:,}" if "subset_size" in settings.get("pgd", {}) else "some"
    n_draws = len(settings.get("noise", {}).get("seeds", []))
    pgd = settings.get("pgd", {})
    st.markdown(
        f"**PGD** (projected gradient descent, Madry et al. 2018) is FGSM repeated: from a random "
        f"point of the ε-ball around x ({'random start' if pgd.get('random_start') else 'no random start'}), "
        f"{pgd.get('steps', '?')} steps of x ← x + α·sign(∇ₓ loss) with step size α = "
        f"{pgd.get('step_size', '?')}, each followed by a **projection** back onto the ε-ball "
        "(every pixel within ε of the original) and onto [0, 1]. FGSM takes one step of the full size "
        "ε along the gradient at x; PGD re-reads the gradient after every small step, so it follows "
        "the loss where it bends and finds perturbations that FGSM misses: its accuracy is lower, the "
        "attack stronger. It is the standard strong first-order attack."
    )
    l2_fgsm, l2_noise = eps_f * 28, std_n * 28  # sqrt(784) = 28
    what_to_notice(
        f"At eps = {eps_f:.2f} (each pixel moved by at most {eps_f * 255:.0f} of 255 grey "
        f"levels) FGSM leaves {SMALL.name} {pct(fgsm_small)} and {BIG.name} {pct(fgsm_big)} accuracy; "
        f"PGD at eps = {eps_p:.2f} leaves {pct(pgd_small)} and {pct(pgd_big)}. Random noise of std "
        f"{std_n:.2f}, on every pixel, leaves {pct(noise_small)} and {pct(noise_big)}: "
        + (f"an attack works by choosing its direction, not by its size. Compare sizes as norms of "
           f"the whole perturbation, not eps against std: FGSM at eps = {eps_f:.2f} has "
           f"‖δ‖₂ ≤ {eps_f:.2f}·√784 = {l2_fgsm:.1f} and ‖δ‖∞ = {eps_f:.2f}; noise of std {std_n:.2f} "
           f"has ‖δ‖₂ ≈ {std_n:.2f}·√784 = {l2_noise:.0f} before clipping to [0, 1] and ‖δ‖∞ near "
           f"{min(1.0, 4 * std_n):.1f}: noise larger in both norms hurts less."
           if min(noise_small, noise_big) > max(fgsm_small, fgsm_big)
           else "here noise hurts at least as much as the attacks.")
        + f" FGSM and noise on {n_test} test images (noise averaged over {n_draws} draws), PGD on "
        f"{n_pgd} of them."
    )
    curves_ready = True


@st.fragment
def accuracy_curves(root: str) -> None:
    """The three shipped accuracy curves with a marker that a slider moves, or the play button sweeps."""
    with ui.shown_errors():
        curves = {kind: ui.curve_chart(root, kind) for kind in ui.CURVE_KINDS}
        c_play, c_pos = st.columns([1, 5], vertical_alignment="bottom")
        c_play.button("Play", icon=":material/play_arrow:", key="mnist_play", on_click=start_play,
                      help="Sweep eps (and the noise std) from 0 up, the marker moving along every curve. "
                           "Any other control stops it.", width="stretch")
        position = c_pos.slider(
            "Position on the curves: eps for FGSM and PGD, noise std for noise", 0, SWEEP_POSITIONS - 1,
            step=1, format=f"step %d of {SWEEP_POSITIONS - 1}", **TALK.bind("sweep", low=0, high=SWEEP_POSITIONS - 1),
        )
        line = st.empty()
        slots = [col.empty() for col in st.columns(3)]
        frames = range(SWEEP_POSITIONS) if st.session_state.pop("mnist_playing", False) else ()
        for k in frames:  # the sweep: each frame a chart, bounded to SWEEP_POSITIONS frames
            draw_curve_frame(curves, k, line, slots, downloads=False)
            time.sleep(ui.PLAY_FRAME_S)
        draw_curve_frame(curves, position, line, slots, downloads=True)


def start_play() -> None:
    """The play button's callback: the sweep ends at the curves' last position, where the slider goes."""
    st.session_state[TALK.key("sweep")] = SWEEP_POSITIONS - 1
    st.session_state["mnist_playing"] = True


def draw_curve_frame(curves: dict, k: int, line, slots, downloads: bool) -> None:
    """One position of the marker: the line of numbers and the three charts."""
    marked = {kind: ui.marked_curve(spec, rows, k, SWEEP_POSITIONS) for kind, (spec, rows) in curves.items()}
    parts = []
    for kind, label in (("fgsm", "FGSM"), ("pgd", "PGD"), ("noise", "noise")):
        at = marked[kind][1]
        x = next(iter(at.values()))[0]
        name = "std" if kind == "noise" else "eps"
        parts.append(f"{label} at {name} = {x:.3f}: " + ", ".join(
            f"{ui.model_name_html(s, label=s.name)} **{pct(at[s.name][1])}**" for s in (SMALL, BIG) if s.name in at))
    line.markdown(" &nbsp;·&nbsp; ".join(parts), unsafe_allow_html=True)
    for slot, kind in zip(slots, ui.CURVE_KINDS):
        spec = marked[kind][0]
        with slot.container():
            if downloads:
                chart_with_downloads(spec, curves[kind][1], f"mnist-{kind}-accuracy")
            else:
                st.vega_lite_chart(spec=screen_spec(spec), width="stretch")


if curves_ready:  # else the error above already says which file is broken and how to fix it
    accuracy_curves(root)


# --- the gallery ---------------------------------------------------------------------------------

st.header("See it on test digits", divider="gray")


def fgsm_reading(outcomes: dict, clean_x) -> str:
    """What the shown FGSM perturbations do, in numbers: pixels moved, background moved, agreement.

    outcomes: {model name: Outcome on the shown digits}; clean_x [k, 784] the digits before the attack.
    """
    moved = {name: np.abs(o.delta) > 1e-6 for name, o in outcomes.items()}
    background = np.asarray(clean_x) == 0
    parts = [f"{pct(m.mean())} of the pixels for {name}"
             + (f" ({pct(m[background].mean())} of the black background)" if background.any() else "")
             for name, m in moved.items()]
    text = f"On these {len(clean_x)} digits FGSM moves {' and '.join(parts)}."
    first, second = list(outcomes)[:2]
    both = moved[first] & moved[second]
    if both.any():
        same = np.sign(outcomes[first].delta[both]) == np.sign(outcomes[second].delta[both])
        text += (f" Each follows its own model's gradient: of the pixels both move, {pct(same.mean())} "
                 f"are pushed the same way by the two models and {pct(1 - same.mean())} opposite ways.")
    return text


def shuffle_digits() -> None:
    """The shuffle button's callback: another digit set, at random (never the one shown)."""
    import random

    key = TALK.key("digits")
    current = int(st.session_state.get(key, TALK.defaults["digits"]))
    st.session_state[key] = (current + random.randint(1, DIGIT_SETS)) % (DIGIT_SETS + 1)


@st.fragment
def gallery(root: str) -> None:
    """Test digits, their attacked versions and the perturbations, for both models, live."""
    with ui.shown_errors():
        images, labels = ui.sample(root)
        # f_n and f_nd as trained in the talk, or adversarially trained (training.capacity).
        small, big = ui.training_choice(TALK)
        c_kind, c_budget, c_set, c_new = st.columns([1.8, 3.6, 1.1, 1.3], vertical_alignment="bottom")
        kind = c_kind.radio("Perturbation", ATTACKS, horizontal=True, **TALK.bind("attack", options=ATTACKS))
        if kind == "FGSM":
            budget = c_budget.slider(
                "eps: largest change of any pixel (pixel values lie in [0, 1])", 0.0, EPS_MAX, step=ui.GALLERY_EPS_STEP,
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

        idx = mnist_results.gallery_indices(labels, GALLERY_SIZE, seed)
        outcomes, right = {}, {}
        for spec in (small, big):
            clf = ui.classifier(root, spec.name)
            # The five shown digits live; the summary over all shipped digits from a cache keyed
            # on (model, eps) or (model, std, seed), shared by every student.
            if kind == "FGSM":
                outcomes[spec.name] = live_attack.fgsm_outcome(clf, ui.sample_fgsm_start(root, spec.name, idx), budget)
                right[spec.name] = ui.sample_fgsm_accuracy(root, spec.name, round(budget, 6))
            else:
                outcomes[spec.name] = live_attack.noise_outcome(clf, images[list(idx)], budget, seed=seed)
                right[spec.name] = ui.sample_noise_accuracy(root, spec.name, round(budget, 6), seed)
        clean = {s.name: ui.sample_fgsm_start(root, s.name, idx).clean for s in (small, big)}

        what = f"eps = {budget:.3f}" if kind == "FGSM" else f"noise std {budget:.2f}"
        if kind == "FGSM":
            what_to_notice(
                "Count the crosses for each model, and compare the two perturbation maps of a digit. "
                + fgsm_reading(outcomes, images[list(idx)])
            )
        else:
            l2 = float(np.mean([np.linalg.norm(o.delta, axis=1).mean() for o in outcomes.values()]))
            what_to_notice(
                f"Both models see the same noise field, of L2 size ‖δ‖₂ = {l2:.2f} on average (each "
                "digit's ‖δ‖₂ and ‖δ‖∞ are under its perturbation). Count the crosses, then switch to "
                "FGSM and raise eps until its ‖δ‖₂ is as large (a noise std and an eps are not "
                "comparable: FGSM moves almost every pixel by the full eps): the attack flips digits "
                "at the same or a smaller norm, because it chooses its direction."
            )
        st.markdown(
            f"On all {len(labels)} shipped test digits at {what}: "
            f"{ui.model_name_html(small)} **{pct(right[small.name])}** correct, "
            f"{ui.model_name_html(big)} **{pct(right[big.name])}** correct.",
            unsafe_allow_html=True,
        )

        widths = [1.2, 1, 1, 1, 1]
        # The colour bar spans the largest change actually shown (noise is clipped to [0, 1]).
        scale = max(float(np.abs(o.delta).max()) for o in outcomes.values())
        head = st.columns(widths, vertical_alignment="bottom")
        head[0].markdown("**test digit**")
        for j, spec in enumerate((small, big)):
            head[1 + 2 * j].markdown(f"{ui.model_name_html(spec)}<br>input it sees", unsafe_allow_html=True)
            head[2 + 2 * j].image(ui.png_url(ui.perturbation_legend(scale)), width=28 * ui.ZOOM,
                                  caption=f"perturbation: −{scale:.3f} to +{scale:.3f}")
        for row, i in enumerate(idx):
            cols = st.columns(widths)
            cols[0].image(ui.png_url(ui.digit_image(images[i])))
            cols[0].caption(
                f"label {labels[i]} · clean: {small.name} → {clean[small.name].label[row]} "
                f"({pct(clean[small.name].confidence[row])}), {big.name} → {clean[big.name].label[row]} "
                f"({pct(clean[big.name].confidence[row])})"
            )
            for j, spec in enumerate((small, big)):
                out = outcomes[spec.name]
                pred, conf = int(out.prediction.label[row]), float(out.prediction.confidence[row])
                mark = "✓" if pred == labels[i] else "✗"
                cols[1 + 2 * j].image(ui.png_url(ui.digit_image(out.x[row])))
                cols[1 + 2 * j].caption(f"{spec.name}: {mark} {pred} ({pct(conf)})")
                cols[2 + 2 * j].image(ui.png_url(ui.perturbation_image(out.delta[row], scale)))
                cols[2 + 2 * j].caption(f"‖δ‖∞ {out.max_change[row]:.3f} · ‖δ‖₂ "
                                        f"{float(np.linalg.norm(out.delta[row])):.2f}")
        st.caption("Green: pixel made brighter, purple: darker, white: unchanged (a pixel already at 0 "
                   "or 1 cannot move further that way).")


gallery(root)


# --- smallest flipping eps -----------------------------------------------------------------------

st.header("How much eps does each digit need?", divider="gray")
with ui.shown_errors():
    sw = ui.sweeps(root)
    dists = {s.name: mnist_results.flip_distribution(sw, s.name) for s in (SMALL, BIG)}
    chart, ecdf = ui.flip_chart(root)
    med = {name: d.quantile(0.5) for name, d in dists.items()}
    fmt = {name: (f"{v:.4f}" if v != float("inf") else f"more than {dists[name].grid[-1]:.2f}") for name, v in med.items()}
    bigger = BIG.name if med[BIG.name] > med[SMALL.name] else SMALL.name
    smaller = SMALL.name if bigger == BIG.name else BIG.name
    verdict = (
        f"{bigger} needs a larger median eps to flip: {fmt[bigger]} against {fmt[smaller]}"
        if med[BIG.name] != med[SMALL.name] else f"Both models flip at the same median eps, {fmt[BIG.name]}"
    )
    d0 = dists[SMALL.name]
    what_to_notice(
        f"For each of {d0.n:,} test digits, the smallest eps (grid step "
        f"{d0.grid[1] - d0.grid[0]:.4f}) at which FGSM changes the model's own prediction; the curve "
        f"is the fraction flipped by that eps. {verdict}. Not flipped by any eps up to {d0.grid[-1]:.2f}: "
        f"{dists[SMALL.name].never} of {d0.n:,} digits for {SMALL.name}, {dists[BIG.name].never} of "
        f"{dists[BIG.name].n:,} for {BIG.name}."
    )
    chart_with_downloads(chart, ecdf, "mnist-flip-eps")


# --- gradients and the Lipschitz constant --------------------------------------------------------

st.header("How steep are the networks?", divider="gray")
with ui.shown_errors():
    sw = ui.sweeps(root)
    grads = mnist_results.gradient_rows(sw)
    g = {r["name"]: r for r in grads}
    steeper = SMALL.name if g[SMALL.name]["max"] > g[BIG.name]["max"] else BIG.name
    flatter = BIG.name if steeper == SMALL.name else SMALL.name
    law = (
        "That is the direction the law of robustness points, and no more: the law is about fitting "
        "noisy labels below the noise level (it says a model with too few parameters cannot do that "
        "smoothly), MNIST's labels are nearly noise-free, and neither network comes near n·d "
        "parameters. These measurements agree with the law's direction; they do not test it."
        if steeper == SMALL.name else
        f"The law of robustness (for noisy labels; a heuristic on MNIST) only says that {SMALL.name} "
        f"(p ~ n) cannot fit the data and be smooth; "
        f"it does not force {BIG.name} to be smooth, and here it is not the smoother one."
    )
    what_to_notice(
        f"‖∇p‖ is the gradient of the probability of the predicted class; its largest "
        f"value over {g[SMALL.name]['images']:,} test images is a lower bound on the network's Lipschitz "
        f"constant, and ‖W1‖₂‖W2‖₂ an upper bound, so the true constant lies between them. "
        f"By its largest gradient, {steeper} is the steeper network: max {g[steeper]['max']:.3f} against {g[flatter]['max']:.3f} "
        f"({g[steeper]['max'] / g[flatter]['max']:.1f} times), mean {g[steeper]['mean']:.3g} against "
        f"{g[flatter]['mean']:.3g}. The measured maxima are "
        f"{pct(g[SMALL.name]['max / bound'])} ({SMALL.name}) and {pct(g[BIG.name]['max / bound'])} "
        f"({BIG.name}) of the spectral bounds. {law}"
    )
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
