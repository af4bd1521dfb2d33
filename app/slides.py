"""The talk as slides: `SLIDES`, a registry in the talk's order of `Slide(page, claim, render)`,
with a slide for each class poll (app/polls.py) before the slide that answers it.

Not a page (the navigation lists only the files in streamlit_app.TALK); presenter mode
(app/presenter.py) shows one slide at a time. Each render function draws with the pages' own
builders (app/charts/: recap, random_data, capacity, mnist; app/shipped.py, app/images.py) and only
restyles their cached Vega-Lite specs for a projector (`projector_spec`: a dict merge, no Altair on
the slider path). Imports sit inside the render functions: a slide pays only for its own page's
modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

import core.results.pretrained as pretrained
from app import accessible
from app.chart_export import screen_spec
from app.errors import show_error, shown_errors
from app.projector import (  # noqa: F401  (projector_spec re-exported: slides.projector_spec)
    CHART_HEIGHT,
    DIGIT_ZOOM,
    PROJECTOR_MARK_FONT,
    big,
    chart,
    projector_spec,
)
from app.theme import model_html
from core.errors import RobustnessError


@dataclass(frozen=True)
class Slide:
    """One screen of the talk: the page it belongs to, its one-line claim, and what it draws."""

    page: str  # the page file, as in streamlit_app.TALK ("pages/recap.py")
    claim: str
    render: Callable[[], None]


# --- the slides ----------------------------------------------------------------------------------


def _recap_talk():
    from app.charts import recap as recap_charts
    from app.url_settings import TalkSettings

    return recap_charts, TalkSettings("recap", recap_charts.talk_defaults())


def _title() -> None:
    from app.classroom.join import show_join
    from core.specs import MNIST_MODELS

    cols = st.columns(len(MNIST_MODELS))
    for col, spec in zip(cols, MNIST_MODELS.values()):
        col.markdown(model_html(spec, f"■ {spec.name}") + f"<div class='present-big'>{spec.param_count:,} parameters</div>",
                     unsafe_allow_html=True)
    big("Two networks, one question: does the bigger one resist attacks better?")
    show_join()  # students join the class while the talk starts


def _law_statement() -> None:
    from core.experiments.robustness_law import LAW_LATEX

    st.latex(LAW_LATEX)
    big("<i>n</i> noisily labelled points in dimension <i>d</i>, fitted ε below the noise level by a "
        "smoothly parametrized model with <i>p</i> parameters of polynomial size: a lower bound "
        "(Bubeck &amp; Sellke 2021, Theorem 3).")


def _double_descent() -> None:
    charts, talk = _recap_talk()
    n = st.slider("Training points n", 50, 400, step=50, **talk.bind("dd_n", low=50, high=400))
    noise, seed = talk.value("dd_noise"), talk.value("dd_seed")
    spec, _ = charts.double_descent_chart(int(n), float(noise), int(seed))
    chart(spec, "double_descent", height=300, legend="right")


def _memorization() -> None:
    charts, _ = _recap_talk()
    spec, _ = charts.gauge_chart()
    chart(spec, "gauge", height=320, legend="right")


def _distances() -> None:
    charts, talk = _recap_talk()
    d = st.select_slider("Dimension d", options=[2, 5, 10, 20, 50, 100, 200, 500, 784, 2000],
                         **talk.bind("geo_d"))
    spec, _, closest, floor = charts.distances_chart(int(d))
    left, right = st.columns([3, 1])
    with left:
        chart(spec, "distances", height=300, legend="right")
    right.metric("Closest pair", f"{closest:.2f}")
    right.metric("Lipschitz floor", f"{floor:.2f}")


def _law() -> None:
    charts, talk = _recap_talk()
    _, error = charts.shipped_intrinsic_dim()
    if error:  # as the recap page: the fix, never d_eff = 784 passed off as the estimate
        st.error(error, icon=":material/error:")
        return
    spec, _ = charts.law_chart(talk.defaults["law_n"], talk.defaults["law_d"], talk.defaults["law_p"],
                               talk.defaults["law_deff"])
    chart(spec, "law", height=360, legend="right")


def _fgsm() -> None:
    charts, talk = _recap_talk()
    c1, c2 = st.columns(2)
    d = c1.select_slider("Dimension d", options=[1, 2, 4, 10, 25, 50, 100, 200, 400, 784],
                         **talk.bind("fgsm_d"))
    eps = c2.slider("ε (per coordinate)", 0.0, 0.5, step=0.005, format="%.3f",
                    **talk.bind("fgsm_eps", low=0.0, high=0.5))
    ex = charts.fgsm_example(int(d), float(eps))
    flip_spec, _, pic_spec, _, _ = charts.fgsm_charts(int(d), float(eps), ex.flip_eps)
    left, right = st.columns([3, 2])
    with left:
        chart(flip_spec, "fgsm_flip", height=236)
    with right:
        chart(pic_spec, "fgsm_2d", height=236)


def _random_data() -> None:
    from app.charts import random_data as random_data_charts

    view = random_data_charts.shipped("paper") or random_data_charts.shipped("laptop")
    if view:
        spec, _, _ = view["figures"][0]
        chart(spec, "random_data", height=360, legend="right")


def _random_split() -> None:
    from app.charts import random_data as rdc

    root = str(pretrained.PRETRAINED_DIR)
    try:
        split = rdc.split_of(root, "laptop", "f_nd")
        control = rdc.shipped_view(root, "control", rdc.file_stamp(root, "control"))
    except RobustnessError as exc:
        show_error(exc)
        return
    left, right = st.columns([0.95, 1.05], gap="small")  # room for the control's two legends
    if split is not None:
        with left:
            chart(split[0][0], "random_split", height=165)
    with right:
        chart(control["figures"][0][0], "random_control", height=165)


def _capacity() -> None:
    from app.charts import capacity as capacity_charts
    from core.results.capacity_text import slide_caption

    try:
        spec, _ = capacity_charts.size_figure(capacity_charts.pretrained_root(), capacity_charts.TALK_EPS)
    except RobustnessError as exc:
        show_error(exc)
        return
    # 270 px: the claim above it takes up to three lines at 1280x720 and the caption below two, and
    # the slide must not scroll.
    chart(spec, "capacity", height=270, legend="right")
    big(f"<small>{slide_caption(capacity_charts.results(capacity_charts.pretrained_root()))}</small>")


def _mnist_clean() -> None:
    from app import shipped
    from core.results import mnist as mnist_results
    from core.specs import MNIST_MODELS

    root = shipped.pretrained_root()
    with shown_errors():
        rows = mnist_results.clean_rows({name: shipped.metadata(root, name) for name in MNIST_MODELS})
        for col, spec, row in zip(st.columns(len(rows)), MNIST_MODELS.values(), rows):
            col.markdown(model_html(spec, f"■ {spec.name}: {spec.param_count:,} parameters"), unsafe_allow_html=True)
            col.metric("training accuracy", f"{100 * row['train accuracy']:.2f}%")
            col.metric("test accuracy", f"{100 * row['test accuracy']:.2f}%")


def _mnist_curves() -> None:
    """The three accuracy curves with the MNIST page's marker: its slider (the same URL setting,
    `mnist_sweep`) and its Play button, which sweeps eps from 0 up."""
    from app import shipped
    from app.charts import mnist as mnist_charts
    from app.url_settings import TalkSettings

    talk = TalkSettings("mnist", {"sweep": mnist_charts.SWEEP_POSITIONS - 1})
    with shown_errors():
        curves = mnist_charts.curves(shipped.pretrained_root())
        position, frames = mnist_charts.marker_controls(talk, "present",
                                                        "Position on the curves (eps, or the noise std)")
        slots = [col.empty() for col in st.columns(3)]

        def draw(k: int, final: bool) -> None:
            marked = mnist_charts.marked_curves(curves, k, font_size=PROJECTOR_MARK_FONT)
            for slot, kind in zip(slots, mnist_charts.CURVE_KINDS):
                spec = projector_spec(marked[kind][0], 236)  # the play row above: the slide still fits 720 px
                with slot.container():  # keyed once per run; the sweep's frames are keyless
                    st.vega_lite_chart(spec=screen_spec(spec), width="stretch",
                                       key=f"present_curve_{kind}" if final else None)

        mnist_charts.play(frames, position, draw)


def _mnist_digit() -> None:
    from app import shipped
    from app.images import digit_image, png_url
    from app.url_settings import TalkSettings
    from core.attacks.fgsm import FGSM
    from core.results import mnist as mnist_results
    from core.specs import MNIST_MODELS

    root = shipped.pretrained_root()
    talk = TalkSettings("mnist", {"eps": 0.05, "digits": 0})
    with shown_errors():
        digits, labels = shipped.sample(root)
        c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
        eps = c1.slider("FGSM eps: largest change of any pixel", 0.0, shipped.GALLERY_EPS_MAX,
                        step=shipped.GALLERY_EPS_STEP, format="%.3f",
                        **talk.bind("eps", low=0.0, high=shipped.GALLERY_EPS_MAX))
        seed = c2.number_input("Digit set", 0, 999, step=1, **talk.bind("digits", low=0, high=999))
        i = mnist_results.gallery_indices(labels, shipped.GALLERY_SIZE, int(seed))[0]
        cols = st.columns(3)
        cols[0].image(png_url(digit_image(digits[i], zoom=DIGIT_ZOOM)), width=28 * DIGIT_ZOOM,
                      alt=accessible.digit_alt(int(labels[i])))
        cols[0].markdown(f"<div class='present-big'>test digit: {labels[i]}</div>", unsafe_allow_html=True)
        for col, spec in zip(cols[1:], MNIST_MODELS.values()):
            out = shipped.sample_outcome(root, FGSM.name, spec.name, (i,), float(eps))  # the gallery's FGSM
            pred, conf = int(out.prediction.label[0]), float(out.prediction.confidence[0])
            col.image(png_url(digit_image(out.x[0], zoom=DIGIT_ZOOM)), width=28 * DIGIT_ZOOM,
                      alt=accessible.attacked_alt(spec.name, accessible.budget_text(FGSM.name, float(eps)),
                                                  int(labels[i]), pred, conf))
            mark = "✓" if pred == labels[i] else "✗"
            col.markdown(model_html(spec, f"{spec.name} sees {pred} {mark} ({100 * conf:.0f}%)"),
                         unsafe_allow_html=True)


def _mnist_flip() -> None:
    from app import shipped
    from app.charts import mnist as mnist_charts

    with shown_errors():
        spec, _ = mnist_charts.flip_chart(shipped.pretrained_root())
        chart(spec, "flip", height=340, legend="right")


def _draw() -> None:
    from app.classroom.join import show_join

    st.page_link("pages/draw.py", label="Open the draw page (leaves presenter mode)")
    show_join(module_px=8)  # for latecomers: the class page, where a phone draws too


def _board() -> None:
    from app.classroom.board_view import board_section, lecturer_controls

    board_section("present_board", projector=True, root=str(pretrained.PRETRAINED_DIR))
    lecturer_controls("present_board")


def _poll(poll_id: str) -> None:
    from app.classroom.poll_view import poll_slide

    poll_slide(poll_id, str(pretrained.PRETRAINED_DIR))


def _poll_render(poll_id: str) -> Callable[[], None]:
    """A poll slide's render function, named for its poll (`_poll_fgsm_size`)."""
    def render() -> None:
        _poll(poll_id)

    render.__name__ = render.__qualname__ = f"_poll_{poll_id}"
    return render


def _references() -> None:
    from core.references import TALK_REFERENCES

    st.markdown("\n".join(f"{i}. {r.authors} ({r.year}). *{r.title}*."
                          for i, r in enumerate(TALK_REFERENCES, start=1)))


# The talk's slides; `SLIDES` (below) adds a slide for each class poll (app/polls.py) before the
# slide that shows its answer.
TALK_SLIDES: tuple[Slide, ...] = (
    Slide("pages/home.py", "Does overparameterization make neural networks robust to adversarial attacks?",
          _title),
    Slide("pages/home.py", "The law of robustness: fitting n noisy points smoothly in d dimensions takes "
                           "about n·d parameters, not n.", _law_statement),
    Slide("pages/recap.py", "Double descent: past the interpolation threshold p = n, more parameters give "
                            "a better model, not a worse one.", _double_descent),
    Slide("pages/recap.py", "About n parameters suffice to memorize; memorizing smoothly takes about n·d.",
          _memorization),
    Slide("pages/recap.py", "In high dimension random points are all about √2 apart: nothing in the data "
                            "forces a steep fit.", _distances),
    Slide("pages/recap.py", "The bound falls like 1/√p: only at p ≈ n·d does it reach a constant.", _law),
    Slide("pages/recap.py", "FGSM moves each coordinate by ε, but in d dimensions the score moves by "
                            "ε‖w‖₁ ≈ ε√d.", _fgsm),
    Slide("pages/random_data.py", "Memorizing random labels: the network with p ≈ 10n gets steeper as d "
                                  "grows; the one with p ≈ nd is allowed to stay smooth.", _random_data),
    Slide("pages/random_data.py", "Why the k = n curve is not flat here: its gradient carries the "
                                  "least-squares line of the random labels; without a linear part "
                                  "(an even activation) it falls.", _random_split),
    Slide("pages/mnist.py", "Two networks fit MNIST: f_nd has {ratio} times the parameters of f_n.",
          _mnist_clean),
    Slide("pages/mnist.py", "Attacks choose their direction: FGSM, and PGD (many small FGSM steps, "
                            "re-aimed after each), break both networks; random noise is the baseline "
                            "without a direction.", _mnist_curves),
    Slide("pages/mnist.py", "A change too small to see flips the digit: move eps and watch both "
                            "networks.", _mnist_digit),
    Slide("pages/mnist.py", "Per digit, the smallest eps that flips it: which network needs more?",
          _mnist_flip),
    Slide("pages/capacity.py", "{capacity}", _capacity),
    Slide("pages/draw.py", "Your turn: draw a digit and attack it.", _draw),
    Slide("pages/class.py", "The class's drawings: which network needs the biggest push?", _board),
    Slide("pages/references.py", "References", _references),
)


def slide_before(page: str, claim_part: str = "", slides: tuple[Slide, ...] = TALK_SLIDES) -> int:
    """0-based index in `slides` of the first slide of `page` ("pages/mnist.py") whose claim, as
    written above (before `claim` fills in its numbers), contains `claim_part` ("": the page's first
    slide). Raises LookupError when none does: a poll placed at a slide that is gone."""
    for i, slide in enumerate(slides):
        if slide.page == page and claim_part in slide.claim:
            return i
    raise LookupError(f"no slide of {page} has a claim containing {claim_part!r}: place the poll "
                      "at a slide of app/slides.py TALK_SLIDES")


def with_polls(slides: tuple[Slide, ...], polls) -> tuple[Slide, ...]:
    """The slides with one slide per poll (its question as the claim) just before the slide that
    shows its answer, on that slide's page; polls before the same slide keep their registry order."""
    at = {}
    for poll in polls:
        at.setdefault(slide_before(*poll.before, slides=slides), []).append(poll)
    out: list[Slide] = []
    for i, slide in enumerate(slides):
        out += [Slide(slide.page, poll.question, _poll_render(poll.id)) for poll in at.get(i, [])]
        out.append(slide)
    return tuple(out)


def _deck() -> tuple[Slide, ...]:
    from app.polls import POLLS  # app.polls does not import this module

    return with_polls(TALK_SLIDES, POLLS)


SLIDES: tuple[Slide, ...] = _deck()


def claim(slide: Slide) -> str:
    """The slide's claim, with the numbers it quotes filled in from the model registry."""
    from core.specs import MNIST_MODELS

    ratio = MNIST_MODELS["f_nd"].param_count / MNIST_MODELS["f_n"].param_count
    text = slide.claim.replace("{ratio}", f"{ratio:.0f}")
    if "{capacity}" in text:  # the closing figure's claim is read off the shipped sweep
        from app.charts import capacity as capacity_charts
        from core.results.capacity_text import slide_claim

        try:
            said = slide_claim(capacity_charts.results(capacity_charts.pretrained_root()))
        except RobustnessError:
            said = "Robustness against size: the shipped sweep could not be read (see the page)."
        text = text.replace("{capacity}", said)
    return text
