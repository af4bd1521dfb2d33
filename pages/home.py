"""The title slide: the question of the talk and the route through it."""

import streamlit as st

from app.navigation import keep_talk_navigation
from core.specs import MNIST_MODELS

keep_talk_navigation()

st.title("Does overparameterization make neural networks robust to adversarial attacks?")
st.caption("The talk *Adversarial Robustness Through Overparameterization*, as a live lecture "
           "with the real experiments behind it.")

st.markdown(
    """
A network that fits its training data perfectly can still be fooled by a perturbation too small
for a person to see. The **universal law of robustness** (Bubeck & Sellke, 2021) says why: to fit
*n* noisily labelled points in dimension *d* smoothly (below the noise level, with weights of
polynomial size), a network needs about **n·d** parameters, not *n*. It is a lower bound: more
parameters allow a smooth fit, they do not guarantee that training finds one.
This lecture walks through the argument and then measures it.
"""
)

cols = st.columns(len(MNIST_MODELS))
for col, spec in zip(cols, MNIST_MODELS.values()):
    col.metric(spec.label.split(":")[0], f"{spec.param_count:,} parameters", help=spec.label)

small, big = (f"{spec.param_count:,}" for spec in MNIST_MODELS.values())
st.markdown(
    f"""
**The route**

1. **Recap**: double descent, memorization, smoothness and the law of robustness.
2. **Random data**: memorize random labels with *p ~ n* and *p ~ nd* parameters and measure how
   smooth each fit is.
3. **MNIST**: two networks with {small} and {big} parameters, attacked with FGSM, PGD and noise.
4. **Robustness against size**: networks of eight widths, trained normally and adversarially:
   is size necessary, and is it sufficient?
5. **Draw and attack**: draw a digit, watch both networks classify it, and attack it yourself.
6. **Class**: the class's polls and board: vote from your phone, and see how hard everyone's
   drawings are to flip.
7. **References**: the papers behind each claim.

Move through the talk with the **Next** link at the end of each page, or with the list of pages
in the sidebar (on a phone, open it with **»** at the top left).
"""
)
