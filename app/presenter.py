"""Presenter mode: the talk as slides, one idea per screen, and the talk-order links of every page.

A module, not a page (the navigation lists only the files in streamlit_app.TALK). One mechanism
for the whole talk: `SLIDES` is a registry, in the talk's order, of `Slide(page, claim, render)`;
each render function reuses the pages' cached chart builders (app/charts/recap.py,
app/charts/random_data.py, app/ui.py) and only restyles their cached Vega-Lite specs for a
projector (`projector_spec`: a dict merge, no Altair on the slider path).

    ?present=1            presenter mode, from the first slide of the page opened
    ?present=1&slide=7    the talk at slide 7 (1-based), whatever the page

Keys: ArrowRight / PageDown next, ArrowLeft / PageUp previous (what a clicker sends); the arrows
are left to a focused slider. `KEYS_SCRIPT` maps them to the Next / Previous buttons.
`streamlit_app.py` calls `presenting()` before the navigation (which it hides in presenter mode),
then either `show()` or the page followed by `page_links()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import streamlit as st

import core.results.pretrained as pretrained
from core.errors import RobustnessError
from app.sharing import model_color

PRESENT_PARAM, SLIDE_PARAM = "present", "slide"
NEXT_KEY, PREVIOUS_KEY = "present_next", "present_previous"
# Projector sizes (CSS px at 1280x720): axis labels >= 16 px, digit images >= 200 px.
AXIS_LABEL_PX, AXIS_TITLE_PX, LEGEND_PX, TITLE_PX, TEXT_PX = 18, 20, 18, 24, 18
CHART_HEIGHT = 380
DIGIT_ZOOM = 8  # 28 x 8 = 224 px


@dataclass(frozen=True)
class Slide:
    """One screen of the talk: the page it belongs to, its one-line claim, and what it draws."""

    page: str  # the page file, as in streamlit_app.TALK ("pages/recap.py")
    claim: str
    render: Callable[[], None]


# --- projector styling ---------------------------------------------------------------------------


PROJECTOR_CONFIG = {
    "axis": {"labelFontSize": AXIS_LABEL_PX, "titleFontSize": AXIS_TITLE_PX, "labelOverlap": True,
             "titleFontWeight": "normal"},
    "legend": {"labelFontSize": LEGEND_PX, "titleFontSize": LEGEND_PX, "symbolSize": 220,
               "labelLimit": 520},
    "title": {"fontSize": TITLE_PX, "subtitleFontSize": AXIS_LABEL_PX},
    "text": {"fontSize": TEXT_PX},
    "header": {"labelFontSize": AXIS_LABEL_PX, "titleFontSize": AXIS_TITLE_PX},
}


PROJECTOR_MARK_FONT = 18  # px of the text a chart's own marks print (the curves' marker)


def projector_spec(spec: dict, height: int = CHART_HEIGHT) -> dict:
    """A cached chart's Vega-Lite spec with fonts large enough for the back of a hall.

    A shallow merge (the data stay shared with the cached spec): cheap enough for a slider path.
    Fixed-size text marks (`mark_text(fontSize=...)`) keep their size; the rest follow `config`.
    """
    from app.sharing import _merged_config

    config = _merged_config(spec, PROJECTOR_CONFIG)
    config["view"] = {**config.get("view", {}), "continuousHeight": height}
    out = {**spec, "config": config}
    if "height" in spec:
        out["height"] = height
    out.pop("width", None)
    return out


def chart(spec: dict, key: str, height: int = CHART_HEIGHT) -> None:
    from app.sharing import screen_spec

    st.vega_lite_chart(spec=screen_spec(projector_spec(spec, height)), width="stretch", key=f"present_{key}")


# --- the slides ----------------------------------------------------------------------------------
# Imports inside the render functions: a slide pays only for its own page's modules.


def _recap_talk():
    from app.charts import recap as recap_charts
    from app.sharing import TalkSettings

    return recap_charts, TalkSettings("recap", recap_charts.talk_defaults())


def _title() -> None:
    from core.specs import MNIST_MODELS

    cols = st.columns(len(MNIST_MODELS))
    for col, spec in zip(cols, MNIST_MODELS.values()):
        col.markdown(f"<div class='present-big talk-model-{spec.name}' style='color:{model_color(spec)}'>■ {spec.name}</div>"
                     f"<div class='present-big'>{spec.param_count:,} parameters</div>",
                     unsafe_allow_html=True)
    st.markdown("<div class='present-big'>Two networks, one question: does the bigger one resist "
                "attacks better?</div>", unsafe_allow_html=True)


def _law_statement() -> None:
    st.latex(r"\mathrm{Lip}(f) \;\gtrsim\; \frac{\varepsilon}{\sigma}\sqrt{\frac{n\,d}{p}}")
    st.markdown("<div class='present-big'><i>n</i> noisily labelled points in dimension <i>d</i>, "
                "fitted below the noise level by a model with <i>p</i> parameters "
                "(Bubeck &amp; Sellke 2021).</div>", unsafe_allow_html=True)


def _double_descent() -> None:
    charts, talk = _recap_talk()
    n = st.slider("Training points n", 50, 400, step=50, **talk.bind("dd_n", low=50, high=400))
    noise, seed = talk.value("dd_noise"), talk.value("dd_seed")
    spec, _ = charts.double_descent_chart(int(n), float(noise), int(seed))
    chart(spec, "double_descent", height=360)


def _memorization() -> None:
    charts, _ = _recap_talk()
    spec, _ = charts.gauge_chart()
    chart(spec, "gauge", height=320)


def _distances() -> None:
    charts, talk = _recap_talk()
    d = st.select_slider("Dimension d", options=[2, 5, 10, 20, 50, 100, 200, 500, 784, 2000],
                         **talk.bind("geo_d"))
    spec, _, closest, floor = charts.distances_chart(int(d))
    left, right = st.columns([3, 1])
    with left:
        chart(spec, "distances", height=340)
    right.metric("Closest pair", f"{closest:.2f}")
    right.metric("Lipschitz floor", f"{floor:.2f}")


def _law() -> None:
    charts, talk = _recap_talk()
    spec, _ = charts.law_chart(talk.defaults["law_n"], talk.defaults["law_d"], talk.defaults["law_p"],
                               talk.defaults["law_deff"])
    chart(spec, "law", height=400)


def _fgsm() -> None:
    from core.attacks import linear_fgsm

    charts, talk = _recap_talk()
    c1, c2 = st.columns(2)
    d = c1.select_slider("Dimension d", options=[1, 2, 4, 10, 25, 50, 100, 200, 400, 784],
                         **talk.bind("fgsm_d"))
    eps = c2.slider("ε (per coordinate)", 0.0, 0.5, step=0.005, format="%.3f",
                    **talk.bind("fgsm_eps", low=0.0, high=0.5))
    ex = linear_fgsm.random_example(int(d), float(eps), margin=1.0, seed=0)
    flip_spec, _, pic_spec, _, _ = charts.fgsm_charts(int(d), float(eps), ex.flip_eps)
    left, right = st.columns([3, 2])
    with left:
        chart(flip_spec, "fgsm_flip", height=330)
    with right:
        chart(pic_spec, "fgsm_2d", height=330)


def _random_data() -> None:
    from app.charts import random_data as random_data_charts

    view = random_data_charts.shipped("paper") or random_data_charts.shipped("laptop")
    if view:
        spec, _, _ = view["figures"][0]
        chart(spec, "random_data", height=330)


def _random_split() -> None:
    from app.charts import random_data as rdc

    root = str(pretrained.PRETRAINED_DIR)
    try:
        split = rdc.shipped_split(root, "laptop", rdc.file_stamp(root, "laptop"), "f_nd")
        control = rdc.shipped_view(root, "control", rdc.file_stamp(root, "control"))
    except RobustnessError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    left, right = st.columns(2)
    if split is not None:
        with left:
            chart(split[0][0], "random_split", height=330)
    with right:
        chart(control["figures"][0][0], "random_control", height=330)


def _capacity() -> None:
    from app.charts import capacity as capacity_charts

    try:
        spec, _ = capacity_charts.size_figure(capacity_charts.pretrained_root(), capacity_charts.TALK_EPS)
    except RobustnessError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    chart(spec, "capacity", height=380)


def _mnist_root():
    from app import ui

    return ui, ui.pretrained_root()


def _mnist_clean() -> None:
    from core.results import mnist as mnist_results
    from core.specs import MNIST_MODELS

    ui, root = _mnist_root()
    with ui.shown_errors():
        rows = mnist_results.clean_rows({name: ui.metadata(root, name) for name in MNIST_MODELS})
        for col, spec, row in zip(st.columns(len(rows)), MNIST_MODELS.values(), rows):
            col.markdown(f"<div class='present-big talk-model-{spec.name}' style='color:{model_color(spec)}'>■ {spec.name}: "
                         f"{spec.param_count:,} parameters</div>", unsafe_allow_html=True)
            col.metric("training accuracy", f"{100 * row['train accuracy']:.2f}%")
            col.metric("test accuracy", f"{100 * row['test accuracy']:.2f}%")


def _mnist_curves() -> None:
    """The three accuracy curves with the MNIST page's marker: its slider (the same URL setting,
    `mnist_sweep`) and its Play button, which sweeps eps from 0 up."""
    import time

    from app.sharing import TalkSettings

    ui, root = _mnist_root()
    last = ui.SWEEP_POSITIONS - 1
    talk = TalkSettings("mnist", {"sweep": last})

    def play() -> None:
        st.session_state[talk.key("sweep")] = last
        st.session_state["present_playing"] = True

    with ui.shown_errors():
        curves = {kind: ui.curve_chart(root, kind) for kind in ui.CURVE_KINDS}
        c_play, c_pos = st.columns([1, 5], vertical_alignment="bottom")
        c_play.button("Play", icon=":material/play_arrow:", key="present_play", on_click=play, width="stretch")
        position = c_pos.slider("Position on the curves (eps, or the noise std)", 0, last, step=1,
                                format=f"step %d of {last}", **talk.bind("sweep", low=0, high=last))
        slots = [col.empty() for col in st.columns(3)]

        def draw(k: int, final: bool) -> None:
            from app.sharing import screen_spec

            for slot, kind in zip(slots, ui.CURVE_KINDS):
                marked = ui.marked_curve(*curves[kind], k, ui.SWEEP_POSITIONS, font_size=PROJECTOR_MARK_FONT)[0]
                spec = projector_spec(marked, 260)  # the play row above: the slide still fits 720 px
                with slot.container():  # keyed once per run; the sweep's frames are keyless
                    st.vega_lite_chart(spec=screen_spec(spec), width="stretch",
                                       key=f"present_curve_{kind}" if final else None)

        if st.session_state.pop("present_playing", False):
            for k in range(ui.SWEEP_POSITIONS):  # one sweep, bounded
                draw(k, final=False)
                time.sleep(ui.PLAY_FRAME_S)
        draw(position, final=True)


def _mnist_digit() -> None:
    from core.attacks import live as live_attack
    from core.results import mnist as mnist_results
    from core.specs import MNIST_MODELS
    from app.sharing import TalkSettings

    ui, root = _mnist_root()
    talk = TalkSettings("mnist", {"eps": 0.05, "digits": 0})
    with ui.shown_errors():
        images, labels = ui.sample(root)
        c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
        eps = c1.slider("FGSM eps: largest change of any pixel", 0.0, ui.GALLERY_EPS_MAX,
                        step=ui.GALLERY_EPS_STEP, format="%.3f",
                        **talk.bind("eps", low=0.0, high=ui.GALLERY_EPS_MAX))
        seed = c2.number_input("Digit set", 0, 999, step=1, **talk.bind("digits", low=0, high=999))
        i = mnist_results.gallery_indices(labels, ui.GALLERY_SIZE, int(seed))[0]
        cols = st.columns(3)
        cols[0].image(ui.png_url(ui.digit_image(images[i], zoom=DIGIT_ZOOM)), width=28 * DIGIT_ZOOM)
        cols[0].markdown(f"<div class='present-big'>test digit: {labels[i]}</div>", unsafe_allow_html=True)
        for col, spec in zip(cols[1:], MNIST_MODELS.values()):
            start = ui.sample_fgsm_start(root, spec.name, (i,))
            out = live_attack.fgsm_outcome(ui.classifier(root, spec.name), start, float(eps))
            pred, conf = int(out.prediction.label[0]), float(out.prediction.confidence[0])
            col.image(ui.png_url(ui.digit_image(out.x[0], zoom=DIGIT_ZOOM)), width=28 * DIGIT_ZOOM)
            mark = "✓" if pred == labels[i] else "✗"
            col.markdown(f"<div class='present-big talk-model-{spec.name}' style='color:{model_color(spec)}'>{spec.name} sees "
                         f"{pred} {mark} ({100 * conf:.0f}%)</div>", unsafe_allow_html=True)


def _mnist_flip() -> None:
    ui, root = _mnist_root()
    with ui.shown_errors():
        spec, _ = ui.flip_chart(root)
        chart(spec, "flip", height=380)


def _draw() -> None:
    st.page_link("pages/draw.py", label="Open the draw page (leaves presenter mode)")


def _references() -> None:
    from core.references import TALK_REFERENCES

    st.markdown("\n".join(f"{i}. {r.authors} ({r.year}). *{r.title}*."
                          for i, r in enumerate(TALK_REFERENCES, start=1)))


SLIDES: tuple[Slide, ...] = (
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
    Slide("pages/mnist.py", "Attacks choose their direction: FGSM and PGD break both networks; random "
                            "noise of a larger norm barely hurts.", _mnist_curves),
    Slide("pages/mnist.py", "A change too small to see flips the digit: move eps and watch both "
                            "networks.", _mnist_digit),
    Slide("pages/mnist.py", "Per digit, the smallest eps that flips it: which network needs more?",
          _mnist_flip),
    Slide("pages/capacity.py", "Size is necessary, not sufficient: adversarial training needs width to "
                               "work, and width alone does not make a network robust.", _capacity),
    Slide("pages/draw.py", "Your turn: draw a digit and attack it.", _draw),
    Slide("pages/references.py", "References", _references),
)


# --- the mode ------------------------------------------------------------------------------------


def claim(slide: Slide) -> str:
    """The slide's claim, with the numbers it quotes filled in from the model registry."""
    from core.specs import MNIST_MODELS

    ratio = MNIST_MODELS["f_nd"].param_count / MNIST_MODELS["f_n"].param_count
    return slide.claim.replace("{ratio}", f"{ratio:.0f}")


def presenting() -> bool:
    """Whether the URL asks for presenter mode (`?present=1`)."""
    return st.query_params.get(PRESENT_PARAM, "") in ("1", "true", "yes")


def first_slide_of(page: str) -> int:
    """0-based index of the first slide of a page file (0 if the page has none)."""
    return next((i for i, s in enumerate(SLIDES) if s.page == page), 0)


def slide_index(page: str, slides: Sequence[Slide] = SLIDES) -> int:
    """The 0-based slide the URL names (`?slide=7` is index 6), else the page's first slide.

    A value that is not a whole number in 1..len(slides) is ignored (the page's first slide)."""
    raw = st.query_params.get(SLIDE_PARAM, "")
    try:
        number = int(raw)
    except ValueError:
        return first_slide_of(page)
    return number - 1 if 1 <= number <= len(slides) else first_slide_of(page)


def _go(index: int, page: str) -> None:
    target = SLIDES[index]
    if target.page != page:  # another page of the talk: its URL path follows the slides
        st.switch_page(target.page, query_params={PRESENT_PARAM: "1", SLIDE_PARAM: str(index + 1)})
    st.query_params[SLIDE_PARAM] = str(index + 1)
    st.rerun()


def _leave() -> None:
    for name in (PRESENT_PARAM, SLIDE_PARAM):
        st.query_params.pop(name, None)


def show(page: str) -> None:
    """Presenter mode on `page` (its file, "pages/recap.py"): the URL's slide, the step buttons."""
    index = slide_index(page)
    slide = SLIDES[index]
    if slide.page != page:  # a link to slide 7 on another page: its page's URL path, once
        st.switch_page(slide.page, query_params={PRESENT_PARAM: "1", SLIDE_PARAM: str(index + 1)})
    if st.query_params.get(SLIDE_PARAM) != str(index + 1):
        st.query_params[SLIDE_PARAM] = str(index + 1)  # the current screen is always in the URL
    st.html(PRESENTER_STYLE)
    bar = st.container(horizontal=True, vertical_alignment="center", key="present_bar")
    previous = bar.button("Previous", key=PREVIOUS_KEY, disabled=index == 0, help="← or Page Up")
    nxt = bar.button("Next", key=NEXT_KEY, disabled=index == len(SLIDES) - 1, type="primary",
                     help="→ or Page Down")
    bar.markdown(f"**{index + 1} / {len(SLIDES)}**")
    bar.button("Leave presenter mode", key="present_leave", on_click=_leave, type="tertiary")
    st.markdown(f"<h2 class='present-claim'>{claim(slide)}</h2>", unsafe_allow_html=True)
    slide.render()
    if previous:
        _go(index - 1, page)
    if nxt:
        _go(index + 1, page)


def _enter() -> None:
    st.query_params[PRESENT_PARAM] = "1"


def presenter_toggle() -> None:
    """The sidebar switch into presenter mode (same as `?present=1`)."""
    st.sidebar.toggle("Presenter mode", value=False, key="present_toggle", on_change=_enter,
                      help="One idea per screen, large charts; → / ← or Page Down / Up step. "
                           "Or open any page with ?present=1.")


def page_links(page: str, talk: Sequence[tuple[str, str]]) -> None:
    """Previous / Next links in the talk's order at the end of a page.

    talk: (page file, title) in the talk's order (streamlit_app.TALK)."""
    files = [path for path, _ in talk]
    if page not in files:
        return
    i = files.index(page)
    row = st.container(horizontal=True, horizontal_alignment="distribute", key="talk_links")
    if i > 0:
        row.page_link(talk[i - 1][0], label=f"← Previous: {talk[i - 1][1]}")
    if i + 1 < len(talk):
        row.page_link(talk[i + 1][0], label=f"Next: {talk[i + 1][1]} →")


# --- browser side --------------------------------------------------------------------------------

PRESENTER_STYLE = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"] {display: none;}
[data-testid="stMainBlockContainer"] {padding-top: 0.75rem; padding-bottom: 1rem; max-width: 100%;}
h2.present-claim {font-size: 2.1rem; line-height: 1.2; padding: 0.2rem 0 0.4rem 0;}
.present-big {font-size: 1.6rem; line-height: 1.35;}
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p, [data-testid="stMain"] li {font-size: 1.35rem;}
[data-testid="stMain"] .katex-display {font-size: 1.9rem;}
[data-testid="stMain"] [data-testid="stWidgetLabel"] p {font-size: 1.2rem;}
[data-testid="stMetricValue"] {font-size: 2.6rem;}
[data-testid="stMetricLabel"] p {font-size: 1.2rem;}
</style>"""

# Every page: tighter space above the title; a wide formula scrolls inside its own box instead of
# overflowing the page; on a phone, a row of images (the MNIST gallery: headings, digits,
# perturbations) stays a row, so each column heading stays above its images.
def _dark_model_rules() -> str:
    from core.specs import MNIST_MODELS

    return "\n".join(f'html[data-talk-theme="dark"] .talk-model-{m.name} {{color: {m.color_on_dark} !important;}}'
                     for m in MNIST_MODELS.values() if m.dark_color)


PAGE_STYLE = """<style>
[data-testid="stMainBlockContainer"] {padding-top: 2.5rem;}
""" + _dark_model_rules() + """
.katex-display {overflow-x: auto; overflow-y: hidden; padding: 0.2rem 0;}
@media (max-width: 640px) {
  [data-testid="stHorizontalBlock"]:has([data-testid="stImage"]) {flex-wrap: nowrap; gap: 0.35rem;}
  [data-testid="stHorizontalBlock"]:has([data-testid="stImage"]) > [data-testid="stColumn"] {
    min-width: 0; width: auto; flex: 1 1 0;}
  [data-testid="stHorizontalBlock"]:has([data-testid="stImage"]) [data-testid="stCaptionContainer"],
  [data-testid="stHorizontalBlock"]:has([data-testid="stImage"]) [data-testid="stMarkdownContainer"] p {
    font-size: 0.7rem; overflow-wrap: anywhere;}
  [data-testid="stHorizontalBlock"]:has([data-testid="stImage"]) [data-testid="stImageContainer"] {
    max-width: 100%;}
  [data-testid="stHorizontalBlock"]:has([data-testid="stImage"]) [data-testid="stImageContainer"] img,
  [data-testid="stHorizontalBlock"]:has([data-testid="stImage"]) [data-testid="stImageCaption"] {
    width: 100% !important; height: auto;}
}
</style>"""

# Every page, once per browser tab: the theme as an attribute of <html> (data-talk-theme: dark
# where the app's background is dark; Streamlit tells the script only from a session's second
# run on), and the presenter keys. (Material-icon ligatures, "help" or
# "school", are not part of link names: Streamlit 1.67 marks the icons aria-hidden itself;
# tests/browser/test_presenter.py checks the names.)
KEYS_SCRIPT = r"""<script>
(() => {
  if (window.__talkKeys) return;
  window.__talkKeys = true;
  const markTheme = () => {
    const app = document.querySelector(".stApp");
    if (!app) return;
    const rgb = (getComputedStyle(app).backgroundColor.match(/[\d.]+/g) || [255, 255, 255]).map(Number);
    const dark = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] < 128;
    document.documentElement.dataset.talkTheme = dark ? "dark" : "light";
  };
  markTheme();
  setInterval(markTheme, 1000);  // the reader may switch the theme in the settings menu
  const NEXT = new Set(["ArrowRight", "PageDown"]), PREVIOUS = new Set(["ArrowLeft", "PageUp"]);
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (!NEXT.has(event.key) && !PREVIOUS.has(event.key)) return;
    const target = event.target;
    const tag = (target.tagName || "").toLowerCase();
    if (tag === "textarea" || target.isContentEditable || (tag === "input" && target.type !== "range")) return;
    const onSlider = (tag === "input" && target.type === "range") ||
      (target.getAttribute && target.getAttribute("role") === "slider");
    if (onSlider && event.key.startsWith("Arrow")) return;  // a focused slider keeps its arrow keys
    const which = NEXT.has(event.key) ? "present_next" : "present_previous";
    const button = document.querySelector(`.st-key-${which} button`);
    if (!button || button.disabled) return;
    event.preventDefault();
    event.stopPropagation();
    if (onSlider) target.blur();
    button.click();
  }, true);
})();
</script>"""


def browser_side() -> None:
    """The page style and the keys script (cheap: two small elements; the script registers once)."""
    st.html(PAGE_STYLE)
    st.html(KEYS_SCRIPT, unsafe_allow_javascript=True)
