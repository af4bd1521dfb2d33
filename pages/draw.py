"""Draw and attack: draw a digit (or pick a test digit), see both networks classify it, attack it.

One projector screen (1280x720) holds the input on the left and, on the right, the attack's
controls with each network's verdict (clean answer -> attacked answer, confidence, smallest
flipping eps); the images, perturbation maps and probability bars follow below. A slider move
reruns only the attack panel (`st.fragment`); what does not depend on eps (gradients, flip eps) is
cached per image and model in `app.shipped`. The canvas and its state: app/canvas.py.
"""

import re
import time

import numpy as np
import streamlit as st

from app import shipped
from app.accessible import (
    announce,
    attacked_alt,
    budget_text,
    digit_alt,
    legend_alt,
    perturbation_alt,
    reduced_motion,
    verdicts_text,
)
from app.canvas import drawn_digit
from app.charts.probabilities import probability_bars
from app.errors import shown_errors
from app.images import digit_image, digit_url, figure_html, perturbation_legend, perturbation_url, png_url
from app.navigation import keep_talk_navigation
from app.theme import model_name_html
from app.url_settings import TalkSettings, what_to_notice
from core.attacks import ATTACKS, get_attack
from core.attacks.fgsm import FGSM, eps_at_l2
from core.attacks.flip import FLIP_GRID_MAX, FLIP_GRID_STEP
from core.attacks.pgd import PGD_STEPS

keep_talk_navigation()

PICKED_ZOOM = 8  # a picked test digit shown at 224 px, about the canvas's size
EPS_MAX = FLIP_GRID_MAX
EPS_STEP = FLIP_GRID_STEP
STD_MAX = 0.5
SOURCES = ("Draw", "Pick a test digit")
ATTACK_NAMES = tuple(ATTACKS)  # the registry's, in its order: FGSM, PGD, Targeted FGSM, Transfer, White noise
DIGITS = tuple(range(10))
NOISE_DRAWS = 999
MAGNIFY = 8  # the attacked image's change, exaggerated this many times when the toggle is on
SWEEP_FRAMES = 8  # a sweep shows at most this many eps values on its way ...
SWEEP_FRAME_S = 0.12  # ... each this long: about a second in all, whatever the distance

# The talk's settings; the URL holds the ones that differ (`?draw_eps=0.1`). The drawing itself is
# not in the URL: "Pick a test digit" is the shareable input, its index in the URL (`?draw_pick=7`).
TALK = TalkSettings("draw", {"source": "Draw", "pick": 0, "attack": "FGSM", "eps": 0.05, "std": 0.1,
                             "noise": 0, "training": "standard", "target": 3, "magnify": False})

# Per-session state, not a widget key: (from eps, to eps), a sweep the next run of the attack panel animates.
SWEEP = "draw__pending_sweep"

root = shipped.pretrained_root()

st.title("Draw a digit and attack it")
st.caption(
    "Draw a digit, or pick one from the test set; both networks classify it. Then push it with an "
    "attack and find the smallest push that changes each network's answer. How each attack works "
    "is explained below its results."
)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def short_name(spec) -> str:
    """"f_n" from "f_n: 120k parameters (p ≈ 2n)" or "f_n, adversarially trained (eps 0.1)"."""
    return re.split(r"[:,]", spec.label)[0]


# --- the input: the canvas (app/canvas.py), or a test digit -------------------------------------

# Links shared before the URL held the index carried the option's text ("#7: a 2").
OLD_PICK = re.compile(r"^#(\d+): a \d$")


def picked_digit() -> tuple[np.ndarray, int]:
    """A shipped test digit chosen by the user (its index is the URL's value), and its label."""
    images, labels = shipped.sample(root)
    options = range(len(labels))
    TALK.upgrade_url_value("pick", OLD_PICK)  # an old link's "#7: a 2" is test digit 7
    # No format_func: a bound selectbox puts its option's text in the URL, and that is the index.
    i = st.selectbox(f"Test digit (0 to {len(labels) - 1})", options, **TALK.bind("pick", options=options))
    st.image(png_url(digit_image(images[i], zoom=PICKED_ZOOM)), caption=f"test digit #{i}, labelled {labels[i]}",
             alt=digit_alt(int(labels[i]), f"Test digit number {i}"))
    return shipped.shipped_input(images, i), int(labels[i])


c_source, c_training = st.columns([1, 1.45], gap="medium")
source = c_source.radio("Input", SOURCES, horizontal=True, **TALK.bind("source", options=SOURCES))
# f_n and f_nd as trained in the talk, or their adversarially trained versions (training.capacity).
models = shipped.training_choice(TALK, c_training)
left, right = st.container(key="draw_main").columns([1, 1.45], gap="medium")
# On a phone the input goes above the attack: the talk's style keeps any row holding an image a row
# (app/assets/page.css), which this page's main row must not be.
st.html("""<style>@media (max-width: 640px) {
  .st-key-draw_main [data-testid="stHorizontalBlock"]:has(.st-key-draw_input) {flex-wrap: wrap;}
  .st-key-draw_main [data-testid="stHorizontalBlock"]:has(.st-key-draw_input) > [data-testid="stColumn"] {
    min-width: 100%; flex: 1 1 100%;}
  .st-key-draw_main [data-testid="stWidgetLabel"] [data-testid="stMarkdownContainer"] p {font-size: 0.875rem;}
  /* The slider and its button (or the noise draw) side by side: the verdicts stay within a screen
     of the drawing. */
  .st-key-draw_budget [data-testid="stHorizontalBlock"] {flex-wrap: nowrap; gap: 0.5rem;}
  .st-key-draw_budget [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] {min-width: 0;}
  .st-key-draw_budget [data-testid="stHorizontalBlock"] > [data-testid="stColumn"]:last-child {
    flex: 0 0 auto; width: auto;}
  .st-key-draw__sweep button {padding-left: 0.4rem; padding-right: 0.4rem;}
  .st-key-draw__sweep [data-testid="stIconMaterial"] {display: none;}
  .st-key-draw_main [data-testid="stHorizontalBlock"]:has(.st-key-draw_input) {row-gap: 0.5rem;}
  [class*="st-key-draw_verdict_"] {padding: 0.6rem 0.75rem;}
}</style>""")
x, label = None, None
with left.container(key="draw_input"):
    with shown_errors():
        if source == "Draw":
            x = drawn_digit()
        else:
            x, label = picked_digit()

models_ready = False
if x is not None:
    x = np.ascontiguousarray(x.reshape(1, 784), dtype=np.float32)
    with left, shown_errors():
        starts = {s.name: shipped.image_prepared(root, FGSM.name, s.name, x) for s in models}
        models_ready = True
else:
    right.info("The attack appears here once there is a digit on the left.", icon=":material/arrow_back:")


# --- the attack panel ------------------------------------------------------------------------------


def attacked(attack, spec, other, x: np.ndarray, budget: float, options: dict):
    """The `Outcome` of one attack on one network at one budget (a slider's cost).

    attack: a registered `core.attacks.base.Attack`; other: the network a transfer attack prepares
    on; options: the values of the attack's `options` (the target class, the noise draw)."""
    if attack.steps_per_budget:  # PGD: every eps costs gradient steps, so each is cached
        return shipped.image_outcome(root, attack.name, spec.name, x, budget)
    source = other if attack.on_other_model else spec
    prepared = shipped.image_prepared(root, attack.name, source.name, x, **options)
    return attack.outcome(shipped.classifier(root, spec.name), prepared, budget)


# The line under a verdict that compares an attack with FGSM at the same eps.
COMPARED_WITH = {"PGD": "FGSM", "Transfer": "its own FGSM"}


def verdict_lines(attack, spec, start, out, budget: float, target: int) -> tuple[str, str]:
    """The verdict (clean answer -> attacked answer, confidences) and a line that compares.

    start: the model's FGSM `Prepared` on the input (its clean answer, and FGSM for the comparison)."""
    clean = start.clean
    before, after = int(clean.label[0]), int(out.prediction.label[0])
    head = (f"clean **{before}** ({pct(clean.confidence[0])}) → now **{after}** "
            f"({pct(out.prediction.confidence[0])})")
    if "target" in attack.options:  # success is saying the target, not only changing the answer
        head += f": **says the target {target}**" if after == target else f": not yet a {target}"
        p_t = (clean.probs[0, target], out.prediction.probs[0, target])
        return head, f"probability of {target}: {pct(p_t[0])} → {pct(p_t[1])}"
    head += ": changed its answer" if after != before else ": kept its answer"
    if attack.name in COMPARED_WITH:
        own = FGSM.outcome(shipped.classifier(root, spec.name), start, budget)
        return head, f"{COMPARED_WITH[attack.name]} at this eps: **{int(own.prediction.label[0])}**"
    return head, ""


def flip_line(flip: float) -> str:
    return (f"Smallest FGSM eps that flips it: **{flip:.4f}**" if np.isfinite(flip)
            else f"No FGSM eps up to {EPS_MAX:.2f} flips it.")


def _sweep(models: tuple, x: np.ndarray) -> None:
    """The sweep button's callback: the eps slider goes up to the next eps at which a network
    first changes its answer under FGSM (the cached smallest flipping eps), from 0 after the last."""
    eps_key = TALK.key("eps")
    now = float(st.session_state.get(eps_key, TALK.defaults["eps"]))
    stops = sorted({shipped.image_flip_eps(root, s.name, x) for s in models} - {float("inf")})
    ahead = [e for e in stops if e > now + 1e-9]
    start, stop = (now, ahead[0]) if ahead else (0.0, stops[0] if stops else EPS_MAX)
    st.session_state[eps_key] = stop
    st.session_state[SWEEP] = (start, stop)


ATTACK_NOTES = {
    "FGSM": "**FGSM** (fast gradient sign method) moves every pixel by eps in the direction that raises "
            "the network's loss on its own answer, x + eps·sign(∇ₓ loss): one gradient per network, so "
            "each network gets its own perturbation.",
    "PGD": "**PGD** (projected gradient descent, Madry et al. 2018) takes "
           f"{PGD_STEPS} small signed-gradient steps of size 2.5·eps/{PGD_STEPS} "
           "from a random start inside the eps-box (seeded: the same start on every move), and after each "
           "step *projects* back: every pixel is clipped to within eps of the original and to [0, 1]. "
           "It reads the gradient again after each step, so it follows the loss where it bends, where "
           "FGSM trusts one linear guess: PGD is usually stronger, though not on every image, for ten "
           "times the computation.",
    "Targeted FGSM": "**Targeted FGSM** (\"make it a 3\") steps *down* the loss of the chosen class, "
                     "x − eps·sign(∇ₓ loss(x, target)). Success is the network saying the target, not "
                     "just changing its answer.",
    "Transfer": "**Transfer**: each network gets the *other* network's FGSM perturbation at this eps. "
                "If it still fools it, the attack transfers: an attacker need not see the model it attacks.",
    "White noise": "**White noise** pushes every pixel in a random direction (Gaussian, the same field for "
                   "both networks); FGSM picks the most harmful direction for each.",
}


# What to look for, before the prompt every eps attack shares.
NOTICES = {
    "PGD": "Does PGD flip a network at an eps where FGSM does not (the grey \"FGSM at this eps\" under "
           "each verdict)? ",
    "Targeted FGSM": "Which network is made to say the target at the smaller eps? ",
    "Transfer": "Does a network fall for the other's perturbation as easily as for its own? ",
}


@st.fragment
def attack_panel(x: np.ndarray, models: tuple) -> None:
    """The attack's controls, each network's verdict, then the images and bars: one slider drives it."""
    with shown_errors():
        kind = st.radio("Attack", ATTACK_NAMES, horizontal=True, **TALK.bind("attack", options=ATTACK_NAMES))
        attack = get_attack(kind)
        target, noise_seed = TALK.defaults["target"], 0
        if attack.budget == "eps":
            c_budget, c_extra = st.container(key="draw_budget").columns([2.4, 1.1], vertical_alignment="bottom")
            budget = c_budget.slider(
                "eps: largest change of any pixel (in [0, 1])", 0.0, EPS_MAX, step=EPS_STEP,
                format="%.4f", **TALK.bind("eps", low=0.0, high=EPS_MAX),
            )
            if "target" in attack.options:
                target = c_extra.selectbox("Make it a", DIGITS, **TALK.bind("target", options=DIGITS))
            elif attack is FGSM:  # the sweep stops at FGSM's smallest flipping eps
                c_extra.button("Sweep to flip", key="draw__sweep", icon=":material/fast_forward:",
                               on_click=_sweep, args=(models, x), width="stretch",
                               help="Raises eps from here and stops where the next network first changes "
                                    "its answer under FGSM; after the last, starts again from 0.")
        else:
            c_budget, c_extra = st.container(key="draw_budget").columns([3, 1], vertical_alignment="bottom")
            budget = c_budget.slider(
                "noise standard deviation (pixel units)", 0.0, STD_MAX, step=0.01, format="%.2f",
                **TALK.bind("std", low=0.0, high=STD_MAX),
            )
            noise_seed = c_extra.number_input("Noise draw", 0, NOISE_DRAWS, step=1, icon=":material/casino:",
                                              help="Each number is another random noise field.",
                                              **TALK.bind("noise", low=0, high=NOISE_DRAWS))

        sweep = st.session_state.pop(SWEEP, None) if attack is FGSM else None
        starts = {s.name: shipped.image_prepared(root, FGSM.name, s.name, x) for s in models}  # cached lookups
        options = {k: v for k, v in {"target": target, "seed": noise_seed}.items() if k in attack.options}
        outs, slots, heads = {}, {}, {}
        cols = st.columns(len(models), gap="small")
        for i, (col, spec) in enumerate(zip(cols, models)):
            other = models[1 - i] if len(models) == 2 else spec
            outs[spec.name] = attacked(attack, spec, other, x, budget, options)
            head, compare = verdict_lines(attack, spec, starts[spec.name], outs[spec.name], budget, target)
            heads[spec.name] = head
            # One paragraph below the name, its lines broken: compact enough for two cards side by side.
            flip = flip_line(shipped.image_flip_eps(root, spec.name, x))
            rest = ([f":gray[{compare}]"] if compare else []) + [flip]
            with col.container(key=f"draw_verdict_{spec.name}", border=True, gap="small"):
                # The label without its parenthesis: one line, so both cards fit under the slider.
                st.markdown(model_name_html(spec, label=spec.label.split(" (")[0]), unsafe_allow_html=True)
                slot = st.empty()
                slot.markdown("  \n".join([head, *rest]))
                slots[spec.name] = (slot, rest)
        if sweep is not None:
            _animate_sweep(sweep, x, models, slots, heads)

        magnify = st.toggle(f"Magnify the change ×{MAGNIFY} in the attacked images",
                            help=f"The attacked input drawn as x + {MAGNIFY}·(change), so a faint ±eps "
                                 "pattern shows (at eps above about 0.06 it saturates). The networks always "
                                 "see the real attacked input.",
                            **TALK.bind("magnify"))
        st.markdown(ATTACK_NOTES[kind])
        if attack.budget == "eps":
            what_to_notice(NOTICES.get(kind, "") +
                "Which network changes its answer first as eps grows? The smallest flipping eps is FGSM's, "
                f"searched on a grid of step {EPS_STEP} up to {EPS_MAX:.1f} (the sweep button jumps to it). "
                "Switch the networks between normally and adversarially trained and compare the "
                "perturbation maps: which one looks like pen strokes of another digit?"
            )
        else:
            what_to_notice(noise_against_fgsm(models, starts, outs))

        scale = budget if attack.budget == "eps" else 3 * budget
        to = f"-to{target}" if "target" in attack.options else ""
        what = (f"noise-std{budget:.2f}-draw{noise_seed}" if attack.budget != "eps" else
                f"{kind.lower().replace(' ', '-')}{to}-eps{budget:.4f}")
        for spec in models:
            out = outs[spec.name]
            # As the attack demos students know show it: the input, the change, the attacked input,
            # large and side by side.
            with st.container(key=f"draw_result_{spec.name}", border=True):
                st.markdown(model_name_html(spec), unsafe_allow_html=True)
                shown = np.clip(x + MAGNIFY * out.delta, 0, 1) if magnify else out.x
                said = budget_text(kind, budget, attack.budget == "eps")
                clean = starts[spec.name].clean
                alt = attacked_alt(spec.name, said, label, int(out.prediction.label[0]),
                                   float(out.prediction.confidence[0]))
                # 28x28 PNGs (cached, shared) that the browser stretches to a third of the card, pixels
                # visible; the three images and the colour bar of the change are ONE element (an
                # st.image is a message each: the server's cost under a class's load).
                st.html("<div class='talk-result'>" + "".join([
                    figure_html(digit_url(x), digit_alt(label, "The input" if label is not None else "Your drawing "
                                "as the networks' 28x28 input", [(spec.name, clean.label[0], clean.confidence[0])]),
                                "the input"),
                    figure_html(perturbation_url(out.delta, scale),
                                perturbation_alt(spec.name, said, float(np.abs(out.delta).max()),
                                                 float(np.linalg.norm(out.delta))), "the change"),
                    figure_html(digit_url(shown), alt + (f" Change drawn {MAGNIFY} times larger." if magnify else ""),
                                f"attacked input, change ×{MAGNIFY}" if magnify else "attacked input"),
                    # The colour bar of the change: its caption is wider than one image.
                    figure_html(png_url(perturbation_legend(scale)), legend_alt(scale),
                                f"darker −{scale:.4f} · +{scale:.4f} brighter", css_class="talk-legend"),
                ]) + "</div>")
        cols = st.columns(len(models), gap="small")
        for col, spec in zip(cols, models):
            with col:
                probability_bars({spec.name: outs[spec.name].prediction.probs},
                                 f"draw-{what}-{spec.name}-probabilities", key=f"draw_attacked_bars_{spec.name}",
                                 height=130, title=f"{short_name(spec)} on the attacked input")
        # A change of verdict, read out by a screen reader (silent while the answers stay).
        announce("draw_verdicts", verdicts_text([(short_name(s), int(starts[s.name].clean.label[0]),
                                                  int(outs[s.name].prediction.label[0])) for s in models]))


def noise_against_fgsm(models: tuple, starts: dict, outs: dict) -> str:
    """What white noise does beside FGSM at equal measured size: the L2 norm of the change each
    actually applies (after clipping to [0, 1]), not a std beside an eps, which do not compare."""
    size = float(np.linalg.norm(outs[models[0].name].delta))  # one noise field for both networks
    if size == 0:
        return "No noise yet: move the slider, then compare with FGSM at the same size of change."
    parts, fgsm_flips, noise_flips = [], [], []
    for spec in models:
        start, noisy = starts[spec.name], outs[spec.name].prediction
        eps = eps_at_l2(start, size)
        fgsm = FGSM.outcome(shipped.classifier(root, spec.name), start, eps).prediction
        clean = int(start.clean.label[0])
        noise_says, fgsm_says = int(noisy.label[0]), int(fgsm.label[0])
        parts.append(f"{short_name(spec)} says **{noise_says}** under the noise and **{fgsm_says}** under "
                     f"FGSM at eps {eps:.4f} (clean: {clean})")
        fgsm_flips += [short_name(spec)] if fgsm_says != clean else []
        noise_flips += [short_name(spec)] if noise_says != clean else []

    def who(names: list[str]) -> str:
        return " and ".join(names) if names else "no network"

    return (f"This noise changes the input by ‖δ‖₂ = {size:.2f} (after clipping to [0, 1]). FGSM's change of "
            f"the same L2 size: " + "; ".join(parts) + ". At equal size, FGSM changes the answer of "
            f"{who(fgsm_flips)}, the noise that of {who(noise_flips)}: for this drawing, "
            + ("the direction of the change matters more than its size." if len(fgsm_flips) > len(noise_flips)
               else "at this size the direction makes no difference to the answers; try a larger std."
               if fgsm_flips == noise_flips else "the noise does at least as much as FGSM here.")
            + " Noise std and eps are different measures: compare them only through the size of the change.")


def _animate_sweep(sweep: tuple[float, float], x: np.ndarray, models: tuple, slots: dict,
                   finals: dict) -> None:
    """Show FGSM's verdicts at a few eps values from the sweep's start to its stop, then the stop's.

    Bounded: at most SWEEP_FRAMES values, SWEEP_FRAME_S each; each is one forward pass per network.
    slots: model name -> (the verdict's `st.empty`, its lines after the first); finals: model name ->
    the verdict's first line at the stop.
    """
    start, stop = sweep
    steps = np.unique(np.round(np.linspace(start, stop, SWEEP_FRAMES + 1)[1:] / EPS_STEP) * EPS_STEP)
    for eps in (steps[:-1] if not reduced_motion() else ()):  # reduced motion: straight to the stop
        for spec in models:
            slot, _ = slots[spec.name]
            start = shipped.image_prepared(root, FGSM.name, spec.name, x)
            p = FGSM.outcome(shipped.classifier(root, spec.name), start, eps).prediction
            slot.markdown(f"sweeping… eps **{eps:.4f}**: says **{int(p.label[0])}** ({pct(p.confidence[0])})"
                          "  \n" + "  \n".join(slots[spec.name][1]))
        time.sleep(SWEEP_FRAME_S)
    for spec in models:
        slot, rest = slots[spec.name]
        slot.markdown("  \n".join([finals[spec.name], *rest]))
    flipped = [short_name(s) for s in models if abs(shipped.image_flip_eps(root, s.name, x) - stop) < 1e-9]
    st.success(f"Stopped at eps **{stop:.4f}**: " + (" and ".join(flipped) + " first changes its answer here."
                                                     if flipped else "no network flips up to here."),
               icon=":material/flag:")


if models_ready:  # else the error above already says which file is broken and how to fix it
    with right:
        attack_panel(x, models)
    # Below both columns, not under the canvas: on a phone the columns stack, and the verdicts
    # must follow the drawing within one screen.
    with st.container(key="draw_clean"):
        st.subheader("What the networks see", divider="gray")
        name = "drawing" if label is None else f"test-digit-{TALK.value('pick')}"
        probability_bars({s.name: starts[s.name].clean.probs for s in models}, f"draw-{name}-probabilities",
                         key="draw_clean_bars", height=150, title="Clean input: probability of each digit")
        what_to_notice(
            "A confident answer is one tall bar; an ambiguous digit spreads its probability over "
            "several classes. Compare each network's confidence with the smallest push that flips it."
        )
    if source == "Draw":  # a drawing (not a test digit) can go to the class board; below the
        from app.classroom.board_view import send_section  # verdicts, which on a phone follow the drawing

        send_section(x, root)

st.divider()
TALK.reset_button()
