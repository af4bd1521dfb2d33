"""Recap: classical against modern machine learning, memorization, smoothness, the law of
robustness and FGSM, each claim next to a live figure."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import core.pretrained as pretrained
from core import linear_fgsm, robustness_law as law
from core.data import random_gaussian_data
from core.double_descent import double_descent_curve, peak_ratio
from core.errors import RobustnessError
from core.recap_results import FALLBACK_DIM, INTRINSIC_DIM_FILE, load_intrinsic_dim, recap_dir
from core.specs import MNIST_MODELS
from pages.sharing import TalkSettings, chart_with_downloads, what_to_notice
from pages.navigation import keep_talk_navigation

keep_talk_navigation()

SMALL, BIG = MNIST_MODELS["f_n"], MNIST_MODELS["f_nd"]
MNIST = law.MNIST_SCALE
THRESHOLD_COLOR = "#D55E00"  # Okabe-Ito vermillion: the interpolation threshold and the law's bound
NEUTRAL = "#555555"
POWER_OF_TEN = "'10^' + round(log(datum.value) / LN10)"  # axis labels 10^3, 10^4, ... (ticks at powers of 10)


@st.cache_data(show_spinner="Fitting random-features models...", max_entries=64)
def curve(n: int, noise: float, seed: int):
    return double_descent_curve(n=n, noise=noise, seed=seed)


@st.cache_data(show_spinner=False, max_entries=16)
def intrinsic_dim(root: str, stamp: int | None):
    """(estimate or None, error message or None): the shipped MNIST intrinsic dimension.

    `stamp` (the file's modification time) makes a regenerated file replace the cached one."""
    try:
        return load_intrinsic_dim(root), None
    except RobustnessError as exc:
        return None, str(exc)


def tex_number(x: float) -> str:
    """A number for LaTeX: integers with thin-space-free thousands commas ({,}), else 3 digits."""
    if float(x).is_integer():
        return f"{int(x):,}".replace(",", "{,}")
    return f"{x:.3g}"


def log_ticks(lo: float, hi: float) -> list[float]:
    return [10.0**e for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)]


# --- the talk's settings -------------------------------------------------------------------------

_id_file = recap_dir(pretrained.PRETRAINED_DIR) / INTRINSIC_DIM_FILE
ID_RESULT, ID_ERROR = intrinsic_dim(str(pretrained.PRETRAINED_DIR),
                                    _id_file.stat().st_mtime_ns if _id_file.is_file() else None)
DEFAULT_DEFF = round(ID_RESULT.estimate, 1) if ID_RESULT else float(FALLBACK_DIM)

TALK = TalkSettings("recap", {
    "dd_n": 200, "dd_noise": 0.5, "dd_seed": 0,
    "geo_d": 784,
    "law_n": MNIST.n, "law_d": MNIST.d, "law_p": BIG.param_count, "law_deff": DEFAULT_DEFF,
    "fgsm_d": 784, "fgsm_eps": 0.05,
})

st.title("Recap: why size could buy robustness")
st.markdown(
    "Five ideas carry the talk: the double-descent curve of modern machine learning, how few "
    "parameters suffice to **memorize**, what it means for a fit to be **smooth**, the "
    "**universal law of robustness** that ties the two together, and the **FGSM** attack that "
    "measures the lack of smoothness. Every figure below is computed live."
)
TALK.reset_button()

# --- 1. classical against modern ------------------------------------------------------------------

st.header("1. Classical against modern machine learning", divider="gray")
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
$n$ noisy training points, median over 5 draws (`core.double_descent`).
"""
)


@st.fragment
def double_descent_panel():
    c1, c2, c3 = st.columns(3)
    n = c1.slider("Training points n", 50, 400, step=50, **TALK.bind("dd_n"))
    noise = c2.slider("Label noise (std)", 0.0, 1.0, step=0.05, **TALK.bind("dd_noise"))
    seed = c3.slider("Seed", 0, 20, **TALK.bind("dd_seed"))
    what_to_notice(
        "The test error spikes exactly where the number of features p reaches the number of "
        "training points n, then falls again: to the right of the spike, more parameters give a "
        "better model, not a worse one. The y-axis is logarithmic."
    )
    c = curve(n, noise, seed)
    frame = pd.DataFrame({"p/n": c.ratios, "features p": c.n_features, "test error": c.test_error,
                          "train error": c.train_error})
    lo, hi = float(frame["test error"].min()), float(frame["test error"].max())
    ymin, ymax = lo / 2, hi * 2
    regions = pd.DataFrame({
        "from": [float(c.ratios.min()), 1.0], "to": [1.0, float(c.ratios.max())],
        "regime": ["classical: p < n (U-curve)", "modern: p > n (interpolation)"],
        "shade": ["#F0F0F0", "#E8F1F8"], "y": [ymax, ymax],
    })
    x = alt.X("p/n:Q", scale=alt.Scale(type="log"), title="parameters per training point, p / n")
    y_scale = alt.Scale(type="log", domain=[ymin, ymax])
    bands = alt.Chart(regions).mark_rect(opacity=0.6).encode(
        x="from:Q", x2="to:Q", color=alt.Color("shade:N", scale=None))
    band_labels = alt.Chart(regions).mark_text(align="left", dx=6, dy=10, color=NEUTRAL).encode(
        x="from:Q", y=alt.Y("y:Q", scale=y_scale), text="regime:N")
    line = alt.Chart(frame).mark_line(point=True, color=BIG.color).encode(
        x=x, y=alt.Y("test error:Q", scale=y_scale, title="test error (MSE, log scale)"),
        tooltip=["features p:Q", alt.Tooltip("p/n:Q", format=".2f"),
                 alt.Tooltip("test error:Q", format=".3g"), alt.Tooltip("train error:Q", format=".2g")])
    rule = alt.Chart(pd.DataFrame({"p/n": [1.0], "label": ["interpolation threshold p = n"]}))
    threshold = rule.mark_rule(color=THRESHOLD_COLOR, strokeDash=[6, 3], size=2).encode(x="p/n:Q")
    threshold_label = rule.mark_text(align="left", dx=5, dy=-8, color=THRESHOLD_COLOR).encode(
        x="p/n:Q", y=alt.value(40), text="label:N")
    chart = (bands + band_labels + line + threshold + threshold_label).properties(height=340)
    chart_with_downloads(chart, frame, "recap-double-descent")

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

st.header("2. Memorization: about n parameters suffice", divider="gray")
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
gauge_rows = []
for ds in law.DATASET_SCALES:
    gauge_rows.append({"data set": ds.name, "what": "n: enough to memorize", "parameters": ds.memorize,
                       "kind": "threshold", "source": ds.source})
    gauge_rows.append({"data set": ds.name, "what": "n·d: enough to memorize smoothly",
                       "parameters": ds.memorize_smoothly, "kind": "threshold", "source": ds.source})
for spec in (SMALL, BIG):
    gauge_rows.append({"data set": MNIST.name, "what": spec.label, "parameters": spec.param_count,
                       "kind": "model", "source": "this lecture's MNIST networks (core.specs)"})
gauge_rows.append({"data set": "ImageNet", "what": f"{law.RESNET50.name}", "parameters": law.RESNET50.params,
                   "kind": "model", "source": law.RESNET50.source})
gauge = pd.DataFrame(gauge_rows)
marks = {
    "n: enough to memorize": ("circle", NEUTRAL),
    "n·d: enough to memorize smoothly": ("diamond", THRESHOLD_COLOR),
    SMALL.label: ("square", SMALL.color),
    BIG.label: ("square", BIG.color),
    law.RESNET50.name: ("triangle-up", "#009E73"),
}
x_gauge = alt.X("parameters:Q", scale=alt.Scale(type="log", domain=[1e4, 1e12]),
                axis=alt.Axis(values=log_ticks(1e4, 1e12), labelExpr=POWER_OF_TEN),
                title="parameters (log scale)")
points = alt.Chart(gauge).mark_point(size=220, filled=True, opacity=0.9).encode(
    x=x_gauge, y=alt.Y("data set:N", title=None, sort=[d.name for d in law.DATASET_SCALES]),
    shape=alt.Shape("what:N", scale=alt.Scale(domain=list(marks), range=[m[0] for m in marks.values()]),
                    legend=alt.Legend(title=None, orient="bottom", columns=3, labelLimit=320)),
    color=alt.Color("what:N", scale=alt.Scale(domain=list(marks), range=[m[1] for m in marks.values()])),
    tooltip=["data set:N", "what:N", alt.Tooltip("parameters:Q", format=",.0f"), "source:N"])
gpt = pd.DataFrame({"parameters": [law.GPT3.params], "label": ["GPT-3: 1.75·10¹¹"]})
gpt_rule = alt.Chart(gpt).mark_rule(strokeDash=[4, 4], color=NEUTRAL).encode(x="parameters:Q")
gpt_text = alt.Chart(gpt).mark_text(align="right", dx=-6, color=NEUTRAL).encode(
    x="parameters:Q", y=alt.value(10), text="label:N")
gauge_chart = (points + gpt_rule + gpt_text).properties(height=240)
chart_with_downloads(gauge_chart, pd.concat([gauge, pd.DataFrame([{
    "data set": "", "what": law.GPT3.name, "parameters": law.GPT3.params, "kind": "model for scale",
    "source": law.GPT3.source}])], ignore_index=True), "recap-memorization-gauge")
st.caption(
    f"MNIST: n = {MNIST.n:,}, d = 28·28 = {MNIST.d}, n·d = {MNIST.memorize_smoothly:,}. "
    f"ImageNet (ILSVRC-2012): n = {law.IMAGENET_SCALE.n:,} training images (the talk rounds to 10⁶), "
    f"d = 224·224·3 = {law.IMAGENET_SCALE.d:,}, n·d ≈ {law.IMAGENET_SCALE.memorize_smoothly:.2g}. "
    f"GPT-3: 175 billion parameters (Brown et al. 2020). ResNet-50: {law.RESNET50.params:,} "
    "(He et al. 2016). Sources on the References page."
)

# --- 3. smoothness ----------------------------------------------------------------------------------

st.header("3. Smoothness: the Lipschitz constant", divider="gray")
st.markdown(
    r"""
A function $f$ is **$L$-Lipschitz** if for all inputs $x, x'$

$$|f(x) - f(x')| \;\leq\; L\,\|x - x'\|_2 .$$

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
  $p \approx n$ does much better; Bubeck and Sellke (2021) proved it for every smooth model class
  (next section).
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
    n = 200
    x, y = random_gaussian_data(n, int(d), seed=0)
    dist = law.pairwise_distances(x)
    floor = law.interpolation_lipschitz_floor(x, y)
    frame = pd.DataFrame({"distance": dist})
    hist = alt.Chart(frame).mark_bar(color=BIG.color, opacity=0.8).encode(
        x=alt.X("distance:Q", bin=alt.Bin(extent=[0, 3], step=0.05),
                axis=alt.Axis(values=[0, 0.5, 1, 1.5, 2, 2.5, 3]),
                title=f"distance ‖x_i − x_j‖ between {n} random points, d = {d}"),
        y=alt.Y("count():Q", title="pairs"))
    sqrt2 = alt.Chart(pd.DataFrame({"distance": [np.sqrt(2)], "label": ["√2"]}))
    chart = (hist + sqrt2.mark_rule(color=THRESHOLD_COLOR, strokeDash=[6, 3]).encode(x="distance:Q")
             + sqrt2.mark_text(dx=12, color=THRESHOLD_COLOR).encode(x="distance:Q", y=alt.value(12),
                                                                     text="label:N")
             ).properties(height=260)
    left, right = st.columns([3, 1])
    with left:
        chart_with_downloads(chart, frame, f"recap-distances-d{d}")
    right.metric("Closest pair", f"{dist.min():.2f}")
    right.metric("Lipschitz floor of any interpolant", f"{floor:.2f}",
                 help="max |y_i − y_j| / ||x_i − x_j||: the least Lip(f) any f with f(x_i) = y_i has")
    right.metric("Law's bound at p = n: √d", f"{np.sqrt(d):.1f}",
                 help="sqrt(n d / p) with p = n, constants dropped")


geometry_panel()

# --- 4. the universal law of robustness ------------------------------------------------------------

st.header("4. The universal law of robustness", divider="gray")
st.markdown(
    r"""
**Theorem** (Bubeck and Sellke 2021, informal). Let $(x_i, y_i)_{i \le n}$ be i.i.d. with
$x_i \in \mathbb R^d$ and $|y_i| \le 1$, and assume

1. **isoperimetry**: the distribution of $x$ concentrates like a Gaussian: for every
   $L$-Lipschitz $g$, $\;\mathbb P(|g(x) - \mathbb E g| \ge t) \le 2 e^{-d t^2 / (2 c L^2)}$
   (e.g. $\mathcal N(0, I_d/d)$, the uniform distribution on the unit sphere, or a mixture of such:
   data lying near a few smooth "class manifolds");
2. **a smooth parametrization with bounded weights**: the model class is
   $\{f_w : w \in \mathbb R^p\}$ with $w \mapsto f_w$ Lipschitz and weights of size at most
   polynomial in $n, d$ (only the logarithm of the weights' size enters the bound);
3. **noisy labels**: $\sigma^2 = \mathbb E[\mathrm{Var}(y \mid x)] > 0$;
4. **fitting below the noise level**: $\frac1n \sum_i (f(x_i) - y_i)^2 \le \sigma^2 - \varepsilon$.

Then, with high probability, every such $f$ in the class has

$$\mathrm{Lip}(f) \;\ge\; \tilde\Omega\!\left(\frac{\varepsilon}{\sigma}\sqrt{\frac{n\,d}{p}}\right).$$

Up to constants and logarithms: **$p \approx n$ parameters force $\mathrm{Lip}(f) \gtrsim \sqrt d$;
$\mathrm{Lip}(f) = O(1)$ needs $p \gtrsim n d$.** The law is a lower bound: more parameters
*allow* a smooth fit, they do not guarantee that training finds it (the Random-data page shows a
case where it does not). It needs label noise (condition 3): MNIST's labels are nearly noise-free,
so applied to MNIST below it is a heuristic, not a theorem.

**Calculator.** The bound $\sqrt{nd/p}$, constants and logarithms dropped, in the units where the
data have norm about 1. Real images do not fill all $d$ pixel dimensions: the bound with the
data's **effective dimension** (the intrinsic dimension of MNIST, estimated offline with the
Levina–Bickel estimator) is the other reading.
"""
)
if ID_ERROR:
    st.error(
        f"{ID_ERROR}\n\nThe effective-dimension slider falls back to d_eff = {FALLBACK_DIM} "
        "(every pixel, i.e. no reduction) until the estimate is regenerated.",
        icon=":material/error:",
    )


@st.fragment
def law_panel():
    c1, c2, c3, c4 = st.columns(4)
    n = c1.number_input("n (training points)", min_value=1, max_value=10**12, step=1000, **TALK.bind("law_n"))
    d = c2.number_input("d (input dimension)", min_value=1, max_value=10**9, step=1, **TALK.bind("law_d"))
    p = c3.number_input("p (parameters)", min_value=1, max_value=10**15, step=1000, **TALK.bind("law_p"))
    deff_label = ("d_eff (effective dimension)" if ID_RESULT else
                  f"d_eff (fallback {FALLBACK_DIM}: no estimate shipped)")
    deff = c4.slider(deff_label, 1.0, 784.0, step=0.1, **TALK.bind("law_deff"),
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

    p_grid = np.geomspace(min(n, p) / 10, max(n * d, p) * 10, 200)
    curves = pd.concat([
        pd.DataFrame({"p": p_grid, "bound": law.law_curve(n, d, p_grid), "dimension": f"d = {d:g}"}),
        pd.DataFrame({"p": p_grid, "bound": law.law_curve(n, deff, p_grid),
                      "dimension": f"d_eff = {deff:g}"}),
    ])
    models = pd.DataFrame([
        {"model": s.label, "p": s.param_count, "bound": law.law_lower_bound(n, dim, s.param_count),
         "dimension": f"{name} = {dim:g}", "color": s.color}
        for s in (SMALL, BIG) for name, dim in (("d", d), ("d_eff", deff))
    ])
    yours = pd.DataFrame([{"model": "your p", "p": p, "bound": law.law_lower_bound(n, d, p),
                           "dimension": f"d = {d:g}"}])
    xs = alt.X("p:Q", scale=alt.Scale(type="log"),
               axis=alt.Axis(values=log_ticks(p_grid[0], p_grid[-1]), labelExpr=POWER_OF_TEN),
               title="parameters p (log scale)")
    ys = alt.Y("bound:Q", scale=alt.Scale(type="log"), title="√(n d / p), log scale")
    lines = alt.Chart(curves).mark_line().encode(
        x=xs, y=ys, strokeDash=alt.StrokeDash("dimension:N", legend=alt.Legend(orient="bottom", title=None)),
        color=alt.value(NEUTRAL))
    dots = alt.Chart(models).mark_point(size=160, filled=True).encode(
        x=xs, y=ys, color=alt.Color("color:N", scale=None), shape=alt.Shape("model:N", legend=None),
        tooltip=["model:N", "dimension:N", alt.Tooltip("p:Q", format=",.0f"),
                 alt.Tooltip("bound:Q", format=".3g")])
    labels = alt.Chart(models[models["dimension"].str.startswith("d =")]).mark_text(
        align="left", dx=10, dy=-10).encode(x=xs, y=ys, text="model:N",
                                            color=alt.Color("color:N", scale=None))
    ring = alt.Chart(yours).mark_point(size=420, shape="circle", filled=False, strokeWidth=2,
                                       color=THRESHOLD_COLOR).encode(
        x=xs, y=ys,
        tooltip=["model:N", alt.Tooltip("p:Q", format=",.0f"), alt.Tooltip("bound:Q", format=".3g")])
    marks_frame = pd.DataFrame({"p": [n, n * d], "label": ["p = n", "p = n·d"]})
    v_rules = alt.Chart(marks_frame).mark_rule(strokeDash=[6, 3], color=THRESHOLD_COLOR).encode(x="p:Q")
    v_text = alt.Chart(marks_frame).mark_text(align="left", dx=4, y=12, color=THRESHOLD_COLOR).encode(
        x="p:Q", text="label:N")
    chart = (lines + v_rules + v_text + dots + labels + ring).properties(height=340)
    chart_with_downloads(chart, pd.concat([curves.assign(model=""), models.drop(columns="color"), yours]),
                         "recap-law-of-robustness",
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

st.header("5. Measuring the lack of smoothness: FGSM", divider="gray")
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
    eps = c2.slider("ε (per coordinate)", 0.0, 0.5, step=0.005, format="%.3f", **TALK.bind("fgsm_eps"))
    flip_784 = linear_fgsm.random_example(784, 0.0, margin=1.0, seed=0).flip_eps
    what_to_notice(
        "The clean point has score 1 (classified correctly, with margin 1) and every coordinate "
        "moves by only ε, yet the score drops by ε·‖w‖₁, which grows like √d: at d = 784 an ε of "
        f"{flip_784:.3f} is enough to cross the boundary, at d = 2 it takes about 1."
    )
    ex = linear_fgsm.random_example(int(d), float(eps), margin=1.0, seed=0)
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
    dims = np.unique(np.geomspace(1, 784, 40).astype(int))
    flip = pd.DataFrame({"d": dims, "flipping ε": linear_fgsm.flip_eps_by_dimension(dims, 1.0, 0)})
    flip["√(π/2d)"] = np.sqrt(np.pi / (2 * dims))
    base = alt.Chart(flip).encode(
        x=alt.X("d:Q", scale=alt.Scale(type="log"), title="dimension d (log scale)"))
    flip_chart = (
        base.mark_line(color=BIG.color, point=True).encode(
            y=alt.Y("flipping ε:Q", scale=alt.Scale(type="log"), title="ε that flips a margin-1 point"),
            tooltip=["d:Q", alt.Tooltip("flipping ε:Q", format=".4f")])
        + base.mark_line(color=NEUTRAL, strokeDash=[4, 4]).encode(y="√(π/2d):Q")
        + alt.Chart(pd.DataFrame({"d": [d], "flipping ε": [ex.flip_eps]})).mark_point(
            size=200, color=THRESHOLD_COLOR, filled=True).encode(x="d:Q", y="flipping ε:Q")
    ).properties(height=280)
    with left:
        chart_with_downloads(flip_chart, flip, "recap-fgsm-flip-eps",
                             caption="Solid: the flipping ε for a random unit w; dashed: √(π/2d), its "
                                     "typical value; large dot: your d.")

    # The same attack in two dimensions, where it can be drawn.
    ex2 = linear_fgsm.random_example(2, float(eps), margin=1.0, seed=0)
    w = ex2.w
    t = np.linspace(-2.5, 2.5, 2)
    boundary = pd.DataFrame({"x1": -w[1] * t, "x2": w[0] * t})  # w . x = 0
    pts = pd.DataFrame({"x1": [ex2.x[0], ex2.x_adv[0]], "x2": [ex2.x[1], ex2.x_adv[1]],
                        "point": ["x (clean)", "x_adv (FGSM)"]})
    box = pd.DataFrame({"x1": [ex2.x[0] - eps], "x2": [ex2.x[1] - eps],
                        "x1e": [ex2.x[0] + eps], "x2e": [ex2.x[1] + eps]})
    dom = alt.Scale(domain=[-1.6, 1.6])
    pic = (
        alt.Chart(box).mark_rect(opacity=0.35, color=THRESHOLD_COLOR, stroke=THRESHOLD_COLOR,
                                 strokeWidth=1.5).encode(
            x=alt.X("x1:Q", scale=dom, title="x₁"), y=alt.Y("x2:Q", scale=dom, title="x₂"),
            x2="x1e:Q", y2="x2e:Q")
        + alt.Chart(boundary).mark_line(color=NEUTRAL).encode(
            x=alt.X("x1:Q", scale=dom), y=alt.Y("x2:Q", scale=dom))
        + alt.Chart(pts).mark_line(color=THRESHOLD_COLOR).encode(x="x1:Q", y="x2:Q")
        + alt.Chart(pts).mark_point(size=45, filled=True).encode(
            x="x1:Q", y="x2:Q", color=alt.Color("point:N", scale=alt.Scale(
                domain=["x (clean)", "x_adv (FGSM)"], range=[BIG.color, THRESHOLD_COLOR]),
                legend=alt.Legend(orient="bottom", title=None)))
    ).properties(height=300, width=300)
    with right:
        chart_with_downloads(pic, pd.concat([pts, boundary.assign(point="decision boundary")]),
                             "recap-fgsm-2d", stretch=False,
                             caption=f"The same ε in d = 2: the square is the ℓ∞ ball of radius "
                                     f"ε = {eps:g} around x; FGSM jumps to its corner against w. Score "
                                     f"{ex2.score:.2f} → {ex2.score_adv:.2f}: the corner is only ε√2 "
                                     "away, the boundary 1 away. In d dimensions the corner is ε√d away.")


fgsm_panel()
