"""Presenter mode: the talk one slide at a time (app/slides.py), stepped with buttons or a clicker.

Not a page (the navigation lists only the files in streamlit_app.TALK).

    ?present=1            presenter mode, from the first slide of the page opened
    ?present=1&slide=7    the talk at slide 7 (1-based), whatever the page

Keys: ArrowRight / PageDown next, ArrowLeft / PageUp previous (what a clicker sends); the arrows
are left to a focused slider. app/assets/keys.js maps them to the Next / Previous buttons
(`NEXT_KEY`, `PREVIOUS_KEY`). `streamlit_app.py` calls `presenting()` before the navigation
(which it hides in presenter mode), then either `show()` or the page with `presenter_toggle()`.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from app.classroom.lecturer import key_field
from app.page_style import presenter_style
from app.slides import SLIDES, Slide, claim

PRESENT_PARAM, SLIDE_PARAM = "present", "slide"
NEXT_KEY, PREVIOUS_KEY = "present_next", "present_previous"  # the keys script clicks these buttons


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
    st.html(presenter_style())
    bar = st.container(horizontal=True, vertical_alignment="center", key="present_bar")
    previous = bar.button("Previous", key=PREVIOUS_KEY, disabled=index == 0, help="← or Page Up")
    nxt = bar.button("Next", key=NEXT_KEY, disabled=index == len(SLIDES) - 1, type="primary",
                     help="→ or Page Down")
    bar.markdown(f"**{index + 1} / {len(SLIDES)}**")
    bar.button("Leave presenter mode", key="present_leave", on_click=_leave, type="tertiary")
    with bar.popover("Lecturer", icon=":material/key:"):
        key_field()  # the lecture's key, once per tab: the class's controls (app/classroom/lecturer.py)
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
