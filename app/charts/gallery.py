"""The MNIST page's gallery, built once per (models, perturbation, budget, digit set) and shared by
every session: five test digits, and for each model the input it sees and the perturbation, as ONE
HTML grid (`app.images.figure_html`; laid out by app/assets/page.css, `.talk-gallery`), with its
"What to notice" and its summary line over every shipped digit.

Not a page (the navigation lists only the files in streamlit_app.TALK). Defined here, not in
pages/mnist.py: a cached function defined in a page is a new function on every run, and Streamlit
then hashes its source again on every call.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import shipped
from app.accessible import attacked_alt, budget_text, digit_alt, legend_alt, perturbation_alt
from app.images import digit_url, figure_html, perturbation_legend, perturbation_url, png_url
from app.theme import model_name_html
from core.attacks import get_attack
from core.attacks.fgsm import FGSM
from core.results import mnist as mnist_results
from core.specs import TALK_MODELS


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def heading(html: str) -> str:
    """A heading cell of the gallery's grid: html (trusted: the page's own text) at the cell's bottom."""
    return f"<p class='talk-gallery-head'>{html}</p>"


@st.cache_resource(show_spinner=False, max_entries=512)
def gallery_view(root: str, small_name: str, big_name: str, kind: str, budget: float,
                 seed: int) -> tuple[str, str, str]:
    """The gallery's "What to notice", its summary line (markdown) and its grid (HTML) for two
    models (keys of core.specs.TALK_MODELS), an attack of `ATTACKS` at `budget` (eps or noise std)
    and a digit set (a seed, 0 to 999 on the page). Shared by every session: about 30 kB an entry."""
    images, labels = shipped.sample(root)
    small, big = TALK_MODELS[small_name], TALK_MODELS[big_name]
    attack = get_attack(kind)
    idx = mnist_results.gallery_indices(labels, shipped.GALLERY_SIZE, seed)
    # The digit set also picks the noise draw.
    options = {"seed": int(seed)} if "seed" in attack.options else {}
    outcomes, right, clean = {}, {}, {}
    for spec in (small, big):
        # The five shown digits live, from a cached preparation (FGSM: their gradients); the
        # summary over all shipped digits from a cache keyed on (model, attack, budget, draw),
        # shared by every student.
        prepared = shipped.sample_prepared(root, kind, spec.name, idx, **options)
        outcomes[spec.name] = attack.outcome(shipped.classifier(root, spec.name), prepared, budget)
        right[spec.name] = shipped.sample_accuracy(root, kind, spec.name, round(budget, 6), **options)
        clean[spec.name] = prepared.clean

    what = f"eps = {budget:.3f}" if attack.budget == "eps" else f"noise std {budget:.2f}"
    if attack is FGSM:
        notice = ("Count the crosses for each model, and compare the two perturbation maps of a digit. "
                  + mnist_results.fgsm_reading({n: o.delta for n, o in outcomes.items()}, images[list(idx)]))
    else:
        notice = mnist_results.noise_reading({n: o.delta for n, o in outcomes.items()})
    summary = (f"On all {len(labels)} shipped test digits at {what}: "
               f"{model_name_html(small)} **{_pct(right[small.name])}** correct, "
               f"{model_name_html(big)} **{_pct(right[big.name])}** correct.")

    # The colour bar spans the largest change actually shown (noise is clipped to [0, 1]).
    scale = max(float(np.abs(o.delta).max()) for o in outcomes.values())
    said = budget_text(kind, budget, attack.budget == "eps")
    # The whole grid (headings, then a row per digit: the digit, and for each model the input it
    # sees and the perturbation) is ONE element: st.columns, st.image and st.caption cost a
    # message each, about 95 per slider move, the server's main cost under a class's load.
    cells = [heading("<strong>test digit</strong>")]
    for spec in (small, big):
        cells.append(heading(f"{model_name_html(spec)}<br>input it sees"))
        cells.append(figure_html(png_url(perturbation_legend(scale)), legend_alt(scale),
                                 f"perturbation: −{scale:.3f} to +{scale:.3f}", css_class="talk-legend"))
    for row, i in enumerate(idx):
        # 28x28 PNGs (cached, shared by every session) that the browser enlarges, pixels visible.
        cells.append(figure_html(digit_url(images[i]), digit_alt(
            int(labels[i]), answers=[(s.name, clean[s.name].label[row], clean[s.name].confidence[row])
                                     for s in (small, big)]),
            f"label {labels[i]} · clean: {small.name} → {clean[small.name].label[row]} "
            f"({_pct(clean[small.name].confidence[row])}), {big.name} → {clean[big.name].label[row]} "
            f"({_pct(clean[big.name].confidence[row])})"))
        for spec in (small, big):
            out = outcomes[spec.name]
            pred, conf = int(out.prediction.label[row]), float(out.prediction.confidence[row])
            mark = "✓" if pred == labels[i] else "✗"
            l2 = float(np.linalg.norm(out.delta[row]))
            cells.append(figure_html(digit_url(out.x[row]), attacked_alt(spec.name, said, int(labels[i]), pred, conf),
                                     f"{spec.name}: {mark} {pred} ({_pct(conf)})"))
            cells.append(figure_html(perturbation_url(out.delta[row], scale),
                                     perturbation_alt(spec.name, said, float(out.max_change[row]), l2),
                                     f"‖δ‖∞ {out.max_change[row]:.3f} · ‖δ‖₂ {l2:.2f}"))
    return notice, summary, f"<div class='talk-gallery'>{''.join(cells)}</div>"
