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

st.markdown(
    """
**The route**

1. **Recap**: double descent, memorization, smoothness and the law of robustness.
2. **Random data**: memorize random labels with *p ~ n* and *p ~ nd* parameters and measure how
   smooth each fit is.
3. **MNIST**: two networks with 120k and 3M parameters, attacked with FGSM and with noise.
4. **Draw and attack**: draw a digit, watch both networks classify it, and attack it yourself.

Use the menu on the left to move through the talk.
"""
)
