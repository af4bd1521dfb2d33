"""Recap: classical against modern machine learning, memorization, smoothness, the law of
robustness and FGSM, each claim next to a live figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.chart_export import chart_with_downloads
from app.charts import recap as charts
from app.errors import student_message
from app.navigation import keep_talk_navigation
from app.url_settings import TalkSettings, what_to_notice
from core.experiments import robustness_law as law
from core.experiments.double_descent import peak_ratio
from core.results.recap import FALLBACK_DIM
from core.specs import MNIST_MODELS

keep_talk_navigation()

SMALL, BIG = MNIST_MODELS["f_n"], MNIST_MODELS["f_nd"]
MNIST = law.MNIST_SCALE
# The calculator's ranges. Computed in float64 (n·d up to 1e21), never in int64 (overflows at 9.2e18).
LAW_N_MAX, LAW_D_MAX, LAW_P_MAX = 10**12, 10**9, 10**15


def tex_number(x: float) -> str:
    """A number for LaTeX: integers with thin-space-free thousands commas ({,}), else 3 digits."""
    if float(x).is_integer():
        return f"{int(x):,}".replace(",", "{,}")
    return f"{x:.3g}"


# --- the talk's settings -------------------------------------------------------------------------

ID_RESULT, ID_ERROR = charts.shipped_intrinsic_dim()

TALK = TalkSettings("recap", charts.talk_defaults())

# The page's sections: (title, anchor). A table of contents at the top links to each: the page is
# many screens long, more so on a phone.
SECTIONS = (
    ("1. Classical against modern machine learning", "classical-against-modern"),
    ("2. Memorization: about n parameters suffice", "memorization"),
    ("3. Smoothness: the Lipschitz constant", "smoothness"),
    ("4. The universal law of robustness", "law-of-robustness"),
    ("5. Measuring the lack of smoothness: FGSM", "fgsm"),
)


def contents() -> None:
    """The table of contents: one link per section, to its header's anchor."""
    st.markdown("**On this page**\n\n" + "\n".join(f"- [{title}](#{anchor})" for title, anchor in SECTIONS))


def section(i: int) -> None:
    """Section i's header, with the anchor the table of contents links to."""
    title, anchor = SECTIONS[i]
    st.header(title, anchor=anchor, divider="gray")


st.title("Recap: why size could buy robustness")
st.markdown(
    "Five ideas carry the talk: the double-descent curve of modern machine learning, how few "
    "parameters suffice to **memorize**, what it means for a fit to be **smooth**, the "
    "**universal law of robustness** that ties the two together, and the **FGSM** attack that "
    "measures the lack of smoothness. Every figure below is computed live."
)
contents()
TALK.reset_button()

# --- 1. classical against modern ------------------------------------------------------------------

section(0)
st.markdown(
    r"""
**Classical statistics**: a model with more parameters than needed *overfits*. As the number of
parameters $p$ grows, the test error first falls (less bias) and then rises (more variance): the
**U-curve**, whose bottom is the model to pick. Once $p \geq n$ the model can fit the $n$
training points exactly, noise included, which the classical picture says is the worst place to be.

**Modern practice** trains networks with $p \gg n$ that fit the training data exactly, even random
labels (Zhang et al. 2017), and still predict well. Belkin, Hsu, Ma and Mandal (2019) reconcile the
two with **double descent**: the test error peaks at the **interpolation threshold** $p = n$, then
falls a second time as $p$ keeps growing.

Below: minimum-norm least squares on $p$ random ReLU features of $d = 20$-dimensional inputs,
$n$ noisy training points, median over 5 draws (`core.experiments.double_descent`).
"""
)


@st.fragment
def double_descent_panel():
    c1, c2, c3 = st.columns(3)
    n = c1.slider("Training points n", 50, 400, step=50, **TALK.bind("dd_n", low=50, high=400))
    noise = c2.slider("Label noise (std)", 0.0, 1.0, step=0.05, **TALK.bind("dd_noise", low=0.0, high=1.0))
    seed = c3.slider("Seed", 0, 20, **TALK.bind("dd_seed", low=0, high=20))
    what_to_notice(
        "The test error spikes exactly where the number of features p reaches the number of "
        "training points n, then falls again: to the right of the spike, more parameters give a "
        "better model, not a worse one. The y-axis is logarithmic."
    )
    c = charts.curve(n, noise, seed)
    spec, frame = charts.double_descent_chart(n, noise, seed)
    chart_with_downloads(spec, frame, "recap-double-descent")

    peak = peak_ratio(c)
    i_peak = int(np.argmax(c.test_error))
    below = c.ratios < 1.0
    best_below = float(c.test_error[below].min())
    best_ratio = float(c.ratios[below][int(np.argmin(c.test_error[below]))])
    last = float(c.test_error[-1])
    train_after = float(c.train_error[c.ratios >= 1.0].max())
    st.markdown(
        f"Here the test error peaks at **p/n = {peak:g}** (p = {int(c.n_features[i_peak])}) at "
        f"{c.test_error[i_peak]:.3g}. The best model below the threshold (p/n = {best_ratio:.2g}) "
        f"reaches {best_below:.3g}; the largest, p = {int(c.n_features[-1])} = "
        f"{c.ratios[-1]:g} n, reaches **{last:.3g}**"
        + (", better than any model on the classical side." if last < best_below else
           ", not better than the best classical model at these settings.")
        + f" From p = n on, the training error is at most {train_after:.1e}: every model to the "
        "right of the threshold interpolates its training data."
    )


double_descent_panel()

# --- 2. memorization ------------------------------------------------------------------------------

section(1)
st.markdown(
    r"""
How many parameters does a network need to fit *any* labels on $n$ points? Baum (1988): a
network with one hidden layer of $\lceil n/d \rceil$ threshold units fits arbitrary binary labels on
$n$ points in general position in $\mathbb{R}^d$. That is about $n/d \times d = n$ weights:
**$p \approx n$ parameters suffice to memorize**. Zhang et al. (2017) saw it in practice: standard
networks fit random labels on CIFAR-10 and ImageNet.

The law of robustness below says that memorizing **smoothly** needs about $n \cdot d$.
The gauge puts both counts next to real models.
"""
)
what_to_notice(
    f"Both MNIST networks have more than n parameters, so both can memorize MNIST; f_nd is still "
    f"{MNIST.memorize_smoothly / BIG.param_count:.0f} times short of n·d. For ImageNet, n·d ≈ "
    f"{law.IMAGENET_SCALE.memorize_smoothly:.1e} is the size of GPT-3 ({law.GPT3.params:.2e} "
    f"parameters) and {law.IMAGENET_SCALE.memorize_smoothly / law.RESNET50.params:,.0f} times the "
    "size of ResNet-50.".replace("e+", "·10^")
)
gauge_spec, gauge_rows = charts.gauge_chart()
chart_with_downloads(gauge_spec, gauge_rows, "recap-memorization-gauge")
st.caption(
    f"MNIST: n = {MNIST.n:,}, d = 28·28 = {MNIST.d}, n·d = {MNIST.memorize_smoothly:,}. "
    f"ImageNet (ILSVRC-2012): n = {law.IMAGENET_SCALE.n:,} training images (the talk rounds to 10⁶), "
    f"d = 224·224·3 = {law.IMAGENET_SCALE.d:,}, n·d ≈ {law.IMAGENET_SCALE.memorize_smoothly:.2g}. "
    f"GPT-3: 175 billion parameters (Brown et al. 2020). ResNet-50: {law.RESNET50.params:,} "
    "(He et al. 2016). Sources on the References page."
)

# --- 3. smoothness ----------------------------------------------------------------------------------

section(2)
st.markdown(
    r"""
A function $f$ is **$L$-Lipschitz** if for all inputs $x, x'$

"""
)
st.latex(r"|f(x) - f(x')| \;\leq\; L\,\|x - x'\|_2 .")
st.markdown(
    r"""

The smallest such $L$ is $\mathrm{Lip}(f)$; for a differentiable $f$ it is $\sup_x \|\nabla f(x)\|_2$.
A perturbation of size $\delta$ moves the output by at most $L\delta$: a small $L$ is a
**robust** function, a large one can be flipped by a small push.

**Why the parameter count matters.** Take $n$ random points $x_i \sim \mathcal N(0, I_d/d)$
(so $\|x_i\| \approx 1$) with random labels $y_i = \pm 1$. In high dimension they are all about
$\sqrt 2$ apart (the figure), so nothing in the data forces a steep function:

* **About $n d$ parameters allow $\mathrm{Lip}(f) = O(1)$.** Put a bump of radius about $1/2$ on
  each point, $f(x) = \sum_i y_i\, \varphi(\|x - x_i\|)$: the bumps do not overlap, each has slope
  about 2, so $f$ fits every label with $\mathrm{Lip}(f) = O(1)$. But every bump needs its centre,
  $d$ numbers: $n d$ parameters.
* **About $n$ parameters force $\mathrm{Lip}(f) \gtrsim \sqrt d$.** With $p \approx 10n$ a
  two-layer network has only $k \approx 10n/d$ neurons, so each must fit $m = n/k \approx d/10$
  points. The natural way is a weight vector $w = \sum_{i \in G} y_i x_i$ over its group $G$:
  $w \cdot x_i = y_i \pm$ cross-talk of size $\sqrt{m/d} \approx 0.3$, so the signs come out right,
  but $\|w\| \approx \sqrt m = \sqrt{d/10}$, and $f$ is that steep along $w$. That is
  $\sqrt{nd/p}$. Bubeck, Li and Nagaraj (2021) conjectured that no two-layer network with
  $p \approx n$ does much better; Bubeck and Sellke (2021) proved it, up to constants and a log
  factor, for every smoothly parametrized model class with polynomially bounded weights, when the
  labels are noisy (random labels are) and the fit is below the noise level (next section).
"""
)


@st.fragment
def geometry_panel():
    d = st.select_slider("Dimension d", options=[2, 5, 10, 20, 50, 100, 200, 500, 784, 2000],
                         **TALK.bind("geo_d"))
    what_to_notice(
        "As d grows the distances between random points bunch up around √2: no two points are close, "
        "so an interpolating f never has to be steep (the floor stays near 2/√2 ≈ 1.4), while the "
        "law's bound for a model with only p ≈ n parameters, √d, keeps growing."
    )
    spec, frame, closest, floor = charts.distances_chart(int(d))
    left, right = st.columns([3, 1])
    with left:
        chart_with_downloads(spec, frame, f"recap-distances-d{d}")
    right.metric("Closest pair", f"{closest:.2f}")
    right.metric("Lipschitz floor of any interpolant", f"{floor:.2f}",
                 help="max |y_i − y_j| / ||x_i − x_j||: the least Lip(f) any f with f(x_i) = y_i has")
    right.metric("Law's bound at p = n: √d", f"{np.sqrt(d):.1f}",
                 help="sqrt(n d / p) with p = n, constants dropped")


geometry_panel()

# --- 4. the universal law of robustness ------------------------------------------------------------

section(3)
st.markdown(
    r"""
**Theorem 3** (Bubeck and Sellke 2021). Let $(x_i, y_i)_{i \le n}$ be i.i.d. with
$x_i \in \mathbb R^d$ and $|y_i| \le 1$, fix $\varepsilon, \delta \in (0, 1)$, and assume

1. **isoperimetry**: the distribution of $x$ concentrates like a Gaussian: for every
   $L$-Lipschitz $g$, $\;\mathbb P(|g(x) - \mathbb E g| \ge t) \le 2 e^{-d t^2 / (2 c L^2)}$
   (e.g. $\mathcal N(0, I_d/d)$, the uniform distribution on the unit sphere, or a mixture of such:
   data lying near a few smooth "class manifolds");
2. **a smooth parametrization with bounded weights**: the model class is
   $\{f_w : w \in \mathcal W\}$, $\mathcal W \subset \mathbb R^p$ of diameter at most $W$, with
   $\|f_{w_1} - f_{w_2}\|_\infty \le J \|w_1 - w_2\|$ (for weights and $J$ polynomial in $n, d$
   the log below is a log of $n d$);
3. **noisy labels**: $\sigma^2 = \mathbb E[\mathrm{Var}(y \mid x)] > 0$;
4. **fitting below the noise level**: $\frac1n \sum_i (f(x_i) - y_i)^2 \le \sigma^2 - \varepsilon$.

Then, with probability at least $1 - \delta$, every such $f$ in the class has

"""
)
st.latex(law.LAW_LATEX + " .")
st.markdown(
    r"""

Up to constants and the log factor: **$p \approx n$ parameters force $\mathrm{Lip}(f) \gtrsim \sqrt d$;
$\mathrm{Lip}(f) = O(1)$ needs $p \gtrsim n d$.** The law is a lower bound: more parameters
*allow* a smooth fit, they do not guarantee that training finds it (the Random-data page shows a
case where it does not). It needs label noise (condition 3): MNIST's labels are nearly noise-free,
so applied to MNIST below it is a heuristic, not a theorem.

**Calculator.** The bound, constants and logarithms dropped, in the units where the data have norm
about 1:

"""
)
st.latex(r"\mathrm{Lip}(f) \;\gtrsim\; \sqrt{\frac{n\,d}{p}} .")
st.markdown(
    r"""

Real images do not fill all $d$ pixel dimensions: the bound with the
data's **effective dimension** (the intrinsic dimension of MNIST, estimated offline with the
Levina–Bickel estimator) is the other reading.
"""
)
if ID_ERROR:
    st.error(
        f"{student_message(ID_ERROR)}\n\nThe effective-dimension slider falls back to d_eff = {FALLBACK_DIM} "
        "(every pixel, i.e. no reduction) until the estimate is regenerated.",
        icon=":material/error:",
    )


@st.fragment
def law_panel():
    c1, c2, c3, c4 = st.columns(4)
    n = c1.number_input("n (training points)", min_value=1, max_value=LAW_N_MAX, step=1000,
                         **TALK.bind("law_n", low=1, high=LAW_N_MAX))
    d = c2.number_input("d (input dimension)", min_value=1, max_value=LAW_D_MAX, step=1,
                         **TALK.bind("law_d", low=1, high=LAW_D_MAX))
    p = c3.number_input("p (parameters)", min_value=1, max_value=LAW_P_MAX, step=1000,
                         **TALK.bind("law_p", low=1, high=LAW_P_MAX))
    deff_label = ("d_eff (effective dimension)" if ID_RESULT else
                  f"d_eff (fallback {FALLBACK_DIM}: no estimate shipped)")
    deff = c4.slider(deff_label, 1.0, 784.0, step=0.1, **TALK.bind("law_deff", low=1.0, high=784.0),
                     help=(f"Default: the Levina–Bickel estimate of MNIST, {ID_RESULT.estimate:.2f} "
                           f"({ID_RESULT.n_images:,} training images, k = {ID_RESULT.k1}..{ID_RESULT.k2}, "
                           f"seed {ID_RESULT.seed})") if ID_RESULT else
                          f"No shipped estimate: {FALLBACK_DIM}, every pixel counted.")
    ratio = BIG.param_count / SMALL.param_count
    what_to_notice(
        f"The bound falls like 1/√p: f_nd has {ratio:.0f} times the parameters of f_n, so its bound is "
        f"√{ratio:.0f} = {np.sqrt(ratio):.1f} times lower. Only at p ≈ n·d does it reach 1. With an "
        "effective dimension d_eff < d the whole line drops by √(d / d_eff)."
    )
    if deff > d:
        st.warning(
            f"d_eff = {deff:g} is larger than d = {d:g}: an effective dimension counts the directions "
            "the data actually vary in, so it cannot exceed the input dimension. Using d_eff = d.",
            icon=":material/warning:")
        deff = float(d)
    bound = law.law_lower_bound(n, d, p)
    bound_eff = law.law_lower_bound(n, deff, p)
    st.latex(rf"\sqrt{{\frac{{n\,d}}{{p}}}} = \sqrt{{\frac{{{tex_number(n)} \times {tex_number(d)}}}"
             rf"{{{tex_number(p)}}}}} = {bound:.3g} \qquad \sqrt{{\frac{{n\,d_\mathrm{{eff}}}}{{p}}}} = "
             rf"\sqrt{{\frac{{{tex_number(n)} \times {tex_number(deff)}}}{{{tex_number(p)}}}}} "
             rf"= {bound_eff:.3g}")
    m1, m2, m3 = st.columns(3)
    m1.metric("Lower bound on Lip(f), √(nd/p)", f"{bound:.3g}")
    m2.metric(f"With d_eff = {deff:g}", f"{bound_eff:.3g}")
    m3.metric("Parameters for Lip ≈ 1: n·d", f"{law.parameters_for_lipschitz(n, d, 1.0):.3g}")

    spec, data = charts.law_chart(n, d, p, deff)
    chart_with_downloads(spec, data, "recap-law-of-robustness",
                         caption="Solid: the bound with d; dashed: with d_eff. Squares and dots: the two "
                                 "MNIST networks; ring: the p you entered.")
    st.dataframe(
        pd.DataFrame([{"model": s.label, "parameters p": s.param_count,
                       "p / n": s.param_count / n,
                       f"√(nd/p), d = {d:g}": law.law_lower_bound(n, d, s.param_count),
                       f"√(n d_eff/p), d_eff = {deff:g}": law.law_lower_bound(n, deff, s.param_count)}
                      for s in (SMALL, BIG)]),
        hide_index=True, key="recap_law_table",
        column_config={"parameters p": st.column_config.NumberColumn(format="localized")},
    )


law_panel()

# --- 5. FGSM ---------------------------------------------------------------------------------------

section(4)
st.markdown(
    "The **fast gradient sign method** (Goodfellow, Shlens and Szegedy 2015) moves every input "
    "coordinate by $\\varepsilon$ in the direction that increases the loss $L$:"
)
st.latex(r"x_{\mathrm{adv}} = x + \varepsilon\, \mathrm{sign}\big(\nabla_x L(f(x), y)\big),"
         r"\qquad \|x_{\mathrm{adv}} - x\|_\infty = \varepsilon")
st.markdown(
    "It is the best first-order step inside the $\\ell_\\infty$ ball of radius $\\varepsilon$ (for "
    "images, pixels are then clipped to $[0, 1]$). On a **linear** score $f(x) = w \\cdot x + b$ it "
    "is exact: every coordinate moves against the label, so the score moves by"
)
st.latex(r"|f(x_{\mathrm{adv}}) - f(x)| = \varepsilon \sum_{j=1}^d |w_j| = \varepsilon\, \|w\|_1")
st.markdown(
    "and $\\|w\\|_1 \\approx \\sqrt{2d/\\pi}$ for a random unit-norm $w$. In high dimension, a push "
    "too small to see in any single coordinate adds up over all $d$ of them: Goodfellow et al.'s "
    "*linearity* explanation of adversarial examples."
)


@st.fragment
def fgsm_panel():
    c1, c2 = st.columns(2)
    d = c1.select_slider("Dimension d", options=[1, 2, 4, 10, 25, 50, 100, 200, 400, 784],
                         **TALK.bind("fgsm_d"))
    eps = c2.slider("ε (per coordinate)", 0.0, 0.5, step=0.005, format="%.3f", **TALK.bind("fgsm_eps", low=0.0, high=0.5))
    flip_784 = charts.fgsm_example(784, 0.0).flip_eps
    what_to_notice(
        "The clean point has score 1 (classified correctly, with margin 1) and every coordinate "
        "moves by only ε, yet the score drops by ε·‖w‖₁, which grows like √d: at d = 784 an ε of "
        f"{flip_784:.3f} is enough to cross the boundary, at d = 2 it takes about 1."
    )
    ex = charts.fgsm_example(d, eps)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Clean score f(x)", f"{ex.score:.3f}")
    m2.metric("‖w‖₁ (with ‖w‖₂ = 1)", f"{ex.l1:.2f}")
    m3.metric("Attacked score f(x_adv)", f"{ex.score_adv:.3f}", delta=f"{ex.shift:.3f} = −ε‖w‖₁",
              delta_color="normal" if ex.shift else "off")
    m4.metric("ε that flips the decision", f"{ex.flip_eps:.4f}", help="margin / ‖w‖₁")
    if ex.flipped:
        st.markdown(f"**The decision flips**: ε = {eps:g} ≥ {ex.flip_eps:.4f}.")
    else:
        st.markdown(f"The decision holds: ε = {eps:g} < {ex.flip_eps:.4f}.")

    left, right = st.columns(2)
    flip_spec, flip, pic_spec, pic_data, ex2 = charts.fgsm_charts(int(d), float(eps), ex.flip_eps)
    with left:
        chart_with_downloads(flip_spec, flip, "recap-fgsm-flip-eps",
                             caption="Solid: the flipping ε for a random unit w; dashed: √(π/2d), its "
                                     "typical value; large dot: your d.")

    with right:
        chart_with_downloads(pic_spec, pic_data,
                             "recap-fgsm-2d", stretch=False,
                             caption=f"The same ε in d = 2: the square is the ℓ∞ ball of radius "
                                     f"ε = {eps:g} around x; FGSM jumps to its corner against w. Score "
                                     f"{ex2.score:.2f} → {ex2.score_adv:.2f}: the corner is only ε√2 "
                                     "away, the boundary 1 away. In d dimensions the corner is ε√d away.")


fgsm_panel()
