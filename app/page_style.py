"""The talk's browser side: the style of every page, the presenter's style, and the keys script.

Not a page (the navigation lists only the files in streamlit_app.TALK). The CSS and JavaScript
live in app/assets/ (page.css, presenter.css, keys.js; accessible.css and accessible.js: contrast,
names and motion, see app/accessible.py), read once per process; the models' dark
colours are added to the page style from the model registry (core.specs), so a colour is
defined once. `streamlit_app.py` calls `browser_side()` on every run; presenter mode adds
`presenter_style()` (app/presenter.py).
"""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

ASSETS = Path(__file__).parent / "assets"


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _dark_model_rules() -> str:
    """Each model's dark variant for its `talk-model-<name>` text, where the page's theme is dark."""
    from core.specs import MNIST_MODELS

    return "\n".join(f'html[data-talk-theme="dark"] .talk-model-{m.name} {{color: {m.color_on_dark} !important;}}'
                     for m in MNIST_MODELS.values() if m.dark_color)


@functools.cache
def page_style() -> str:
    """Every page's <style>: tighter titles, scrolling formulas, image rows on a phone, dark model colours."""
    return f"<style>\n{_asset('page.css')}{_asset('accessible.css')}{_dark_model_rules()}\n</style>"


@functools.cache
def presenter_style() -> str:
    """Presenter mode's <style>: no sidebar or header, large claim, text and metrics."""
    return f"<style>\n{_asset('presenter.css')}</style>"


@functools.cache
def keys_script() -> str:
    """The <script> that marks the theme on <html> and maps the presenter keys to Next / Previous,
    and the accessibility script (accessible.js: the canvas's name, live regions, reduced motion)."""
    return f"<script>\n{_asset('keys.js')}\n{_asset('accessible.js')}</script>"


def browser_side() -> None:
    """The page style and the keys script (cheap: two small elements; the script registers once)."""
    st.html(page_style())
    st.html(keys_script(), unsafe_allow_javascript=True)
