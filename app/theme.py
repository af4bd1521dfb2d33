"""The student's theme and the models' colours in it: a model's name in its colour, on light or dark.

Not a page (the navigation lists only the files in streamlit_app.TALK). Each model of the talk has
a colour (core.specs.MLPSpec.color) and a variant readable on a dark background; charts swap them
in `app.chart_export.themed_spec`, text through `model_color` and the `talk-model-<name>` class
(app/page_style.py switches it to the dark variant in the browser, even on a session's first run).
"""

from __future__ import annotations

import streamlit as st

from core.specs import MLPSpec


def dark_theme() -> bool:
    """Whether this student's app is in a dark theme (Streamlit infers it from the background)."""
    try:
        return st.context.theme.type == "dark"
    except Exception:  # outside a running app (a unit test): the light theme
        return False


def model_color(spec: MLPSpec) -> str:
    """A model's colour for this student's theme: its dark variant on a dark one."""
    return spec.color_on_dark if dark_theme() else spec.color


def model_name_html(spec: MLPSpec, label: str | None = None) -> str:
    """The model's label (or a shorter `label`) in its colour, for
    st.markdown(..., unsafe_allow_html=True)."""
    # The class lets the page's style switch to the dark variant even on a session's first run,
    # before Streamlit knows the theme (app/page_style.py).
    return (f"<span class='talk-model-{spec.name}' style='color:{model_color(spec)}; font-weight:600'>"
            f"&#9632; {spec.label if label is None else label}</span>")


def model_html(spec: MLPSpec, text: str, css_class: str = "present-big") -> str:
    """A block of text (a <div>) in the model's colour: the presenter's model lines."""
    return (f"<div class='{css_class} talk-model-{spec.name}' style='color:{model_color(spec)}'>"
            f"{text}</div>")
