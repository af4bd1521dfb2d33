"""Robustness against size: accuracy of MNIST MLPs of every width, trained normally and adversarially."""

import altair as alt
import pandas  # noqa: F401  (see below)
import streamlit as st

from app.chart_export import chart_with_downloads
from app.charts.capacity import BIG, SMALL, TALK_EPS, pretrained_root, results, size_figure
from app.charts.recap import shipped_intrinsic_dim
from app.errors import show_error
from app.navigation import keep_talk_navigation
from app.theme import model_color
from app.url_settings import TalkSettings, what_to_notice
from core.errors import RobustnessError
from core.results import capacity as cr
from core.results import capacity_text as ct
from core.results.mnist import TALK_CLEAN, fgsm_pgd_lesson
from core.specs import MNIST_MODELS

keep_talk_navigation()
# pandas is imported above, fully, before any chart is built: altair looks pandas up in sys.modules
# without importing it, and on a fresh server the warm-up thread (app/warmup.py) may be halfway
# through importing it ("partially initialized module 'pandas' has no attribute 'Timestamp'").

TALK = TalkSettings("capacity", {"eps": TALK_EPS})


st.title("Robustness against size")
st.markdown(
    f"""
The talk compares two sizes and shows that size alone is not *sufficient*: FGSM breaks both
networks. Is size *necessary*? For noisily labelled data the law of robustness says a smooth fit of
n points in d dimensions needs about n·d parameters; MNIST's labels are not noise, so here that is a
heuristic to test, not a theorem. Madry et al. (2018) saw on MNIST that adversarial training, which
asks for a robust fit, works better with more capacity. Here are one-hidden-layer networks
784 → h → 10 of eight widths, from h = 16 to the talk's
<span class='talk-model-{SMALL.name}' style='color:{model_color(SMALL)}; font-weight:600'>f_n</span> (h = {SMALL.hidden}) and
<span class='talk-model-{BIG.name}' style='color:{model_color(BIG)}; font-weight:600'>f_nd</span> (h = {BIG.hidden:,}), each trained
on the 60,000 training images normally (until it fits them, or an epoch cap) and adversarially,
on FGSM examples with a random start (Wong, Rice and Kolter 2020; the recipe is under the figure).

Each is attacked with FGSM (one step of size eps along the sign of the gradient), with **PGD**,
projected gradient descent (Madry et al. 2018): many small signed-gradient steps from a random start,
each followed by a projection back to within eps of the image (and into [0, 1]), and, at eps = 0.1,
with **AutoAttack** (Croce and Hein 2020), a stronger independent check run through a maintained
library. PGD re-reads the gradient after every step, so it follows the loss where it bends: it is
usually stronger than FGSM, though not on every image.
""",
    unsafe_allow_html=True,
)
TALK.reset_button()


@st.fragment
def figure(root: str) -> None:
    """The closing figure: the slider picks eps, the chart, the sentences and the table follow."""
    try:
        doc = results(root)
    except RobustnessError as exc:
        show_error(exc)
        return
    grid = [round(e, 4) for e in cr.eps_grid(doc)]
    if TALK.defaults["eps"] not in grid:
        st.error(f"The shipped eps grid {grid} lacks the talk's eps {TALK_EPS}: regenerate it with "
                 f"`{cr.REGENERATE_CAPACITY}`", icon=":material/error:")
        return
    eps = st.select_slider("eps: largest change of any pixel (the talk's grid)", options=grid,
                           format_func=lambda e: f"{e:.3f}", **TALK.bind("eps"))
    d_eff, _ = shipped_intrinsic_dim()
    what_to_notice("\n" + "\n".join(f"- {line}" for line in ct.findings(doc, eps, d_eff and d_eff.estimate)))
    spec, rows = size_figure(root, eps)
    chart_with_downloads(spec, rows, "capacity-accuracy-vs-size", caption=ct.figure_caption(doc))
    with st.expander("Mean and range over seeds, width by width"):
        summary = cr.summary_rows(doc, eps)
        st.dataframe(summary, hide_index=True, key="capacity_summary",
                     column_config={c: st.column_config.NumberColumn(format="%.3f")
                                    for c in (summary[0] if summary else {})
                                    if c not in ("training", "hidden", "parameters", "seeds")})
    with st.expander("Every network: numbers, epochs, wall time and device"):
        if where := ct.sweep_sentence(doc):
            st.caption(where)
        st.dataframe(cr.network_rows(doc, eps), hide_index=True, key="capacity_table",
                     column_config={
                         "parameters": st.column_config.NumberColumn(format="localized"),
                         "train loss": st.column_config.NumberColumn(format="%.2e"),
                         "test loss": st.column_config.NumberColumn(format="%.4f"),
                         "eps": st.column_config.NumberColumn(format="%.3f"),
                     })


st.header("Accuracy against size", divider="gray")
figure(pretrained_root())


# --- what changed -----------------------------------------------------------------------------

try:
    doc = results(pretrained_root())
    if changed := ct.what_changed(doc):
        st.header("What changed, and why", divider="gray")
        st.markdown(changed.removeprefix("**What changed, and why.** "))
        if choice := ct.recipe_choice(doc):
            st.markdown(choice)
        with st.expander("The recipes compared, and the old recipe's numbers"):
            st.dataframe(cr.recipe_rows(doc), hide_index=True, key="capacity_recipes")
            st.dataframe(cr.cold_start_rows(doc, TALK_EPS), hide_index=True, key="capacity_cold_start")
except RobustnessError as exc:
    show_error(exc)


# --- training until the loss is zero ----------------------------------------------------------

st.header("Training until the loss is zero", divider="gray")


def length_chart(rows: list[dict], attack: str) -> alt.LayerChart:
    specs = list(MNIST_MODELS.values())
    mine = [r for r in rows if r["attack"] == attack]
    top = max((r["eps"] for r in mine), default=0.1)
    # An explicit eps domain: without it Vega warned "Infinite extent for field eps" on a layer.
    base = alt.Chart(alt.Data(values=mine)).encode(
        x=alt.X("eps:Q", title="eps (L-inf budget)", scale=alt.Scale(domain=[0, top])),
        y=alt.Y("accuracy:Q", title="test accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("model:N",
                        scale=alt.Scale(domain=[s.label for s in specs], range=[s.color for s in specs]),
                        # "f_n", "f_nd": the full labels did not fit half a page.
                        legend=alt.Legend(orient="bottom", title=None, labelExpr="split(datum.label, ':')[0]")),
        tooltip=["model:N", "training length:N", alt.Tooltip("eps:Q", format=".4f"),
                 alt.Tooltip("accuracy:Q", format=".4f")],
    )
    # The dash on the lines only: points have no dash, and a point layer's dash legend conflicted
    # with the lines' (Vega-Lite's "Conflicting legend property disable").
    lines = base.mark_line().encode(
        # The key of the solid and dashed lines, above the plot: beside the models' it left the chart.
        strokeDash=alt.StrokeDash("training length:N", legend=alt.Legend(orient="top", direction="vertical",
                                                                         labelLimit=360)))
    return (lines + base.mark_point(filled=True, size=25).encode(detail="training length:N")).properties(
        title=attack, height=300)


try:
    doc = results(pretrained_root())
    zero = cr.zero_loss_rows(doc)
    if not any(r["training length"] == cr.LONG_LABEL for r in zero):
        st.info("The shipped sweep has no runs trained towards zero loss.")
    else:
        talk = {name: loss for name, (_, loss) in TALK_CLEAN.items()}
        what_to_notice(
            "The talk trained until the loss was 0 and reports test losses of "
            f"{TALK_CLEAN['f_n'][1]:.3f} (f_n) and {TALK_CLEAN['f_nd'][1]:.3f} (f_nd); the shipped models "
            "stopped at a training loss of 1e-3. Rerun with the same seed and schedule past that rule: "
            + " ".join(ct.zero_loss_findings(doc, talk, TALK_EPS))
        )
        if lesson := fgsm_pgd_lesson(zero, cr.zero_loss_curves(doc)):
            st.markdown(lesson)
        st.dataframe(zero, hide_index=True, key="capacity_zero_loss_table",
                     column_config={"train loss": st.column_config.NumberColumn(format="%.2e"),
                                    "target loss": st.column_config.NumberColumn(format="%.0e"),
                                    "test loss": st.column_config.NumberColumn(format="%.4f"),
                                    "max gradient norm": st.column_config.NumberColumn(format="%.3f")})
        curves = cr.zero_loss_curves(doc)
        for col, attack in zip(st.columns(2), ("FGSM", "PGD")):
            with col:
                chart_with_downloads(length_chart(curves, attack), [r for r in curves if r["attack"] == attack],
                                     f"capacity-zero-loss-{attack.lower()}")
except RobustnessError as exc:
    show_error(exc)
