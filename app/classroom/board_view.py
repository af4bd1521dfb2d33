"""The class board on screen: the draw page's "send to the board", the board itself (the class page
and the board slide), and the lecturer's board controls.

The board refreshes every `REFRESH_S` seconds in a fragment (a student or the lecturer can pause
it: WCAG 2.2.2), and does its work only when the class's database changed since (its version).
Drawings are sent as 28x28 PNGs that the browser enlarges (`image-rendering: pixelated`), each
encoded once per process. Nicknames stay off every screen until the lecturer shows them.

Not a page (the navigation lists only the files in streamlit_app.TALK).
"""

from __future__ import annotations

import functools
import html
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app import accessible
from app.classroom import board
from app.classroom.lecturer import act, is_lecturer, show_note
from app.classroom.measure import NETWORKS
from app.classroom.store import NICKNAME_MAX, ClassStore, Entry, db_path
from app.errors import show_error
from app.images import digit_image, png_url
from core.errors import RobustnessError
from core.specs import talk_models

REFRESH_S = 1.5  # the projector's board: a new drawing shows within about this long (target: 3 s)
STUDENT_REFRESH_S = 5.0  # a student's board: 60 phones refreshing cost the server more than one projector
ATTACK_LABELS = tuple(board.ATTACK_NAMES[a] for a in board.ATTACKS)  # "PGD", "FGSM": the board's attack choice
SHOW_NAMES = "show_nicknames"  # the class setting: "1" once the lecturer shows them
STUDENT = "class__student"  # this session's anonymous id: one vote, one drawing per 10 s
SPECS = {s.name: s for s in talk_models("standard") + talk_models("adversarial")}
_png_cache: OrderedDict[bytes, str] = OrderedDict()
PNG_CACHE_MAX = 2048
# The drawings' grid: 28x28 PNGs enlarged by the browser, pixels kept sharp.
BOARD_CSS = """<style>
.class-board {display: flex; flex-wrap: wrap; gap: 0.4rem; margin-bottom: 0.5rem;}
.class-thumb {margin: 0; text-align: center; line-height: 1.15;}
.class-thumb img {width: var(--thumb); height: var(--thumb); image-rendering: pixelated; background: #000;
  display: block; margin: 0 auto;}
.class-thumb figcaption {font-size: 1rem; max-width: calc(var(--thumb) + 3.6rem); white-space: normal;
  overflow: visible; text-overflow: clip;}
</style>"""


def student_id() -> str:
    """This browser tab's anonymous id (students need no account)."""
    if STUDENT not in st.session_state:
        st.session_state[STUDENT] = uuid.uuid4().hex
    return st.session_state[STUDENT]


def store() -> ClassStore:
    """The class's store, one per app process and file ($LECTURE_DB, else classroom-data/)."""
    return _store(str(db_path()))


@st.cache_resource(show_spinner=False)
def _store(path: str) -> ClassStore:
    return ClassStore(path)


def thumb_url(pixels: np.ndarray) -> str:
    """A drawing as a 28x28 PNG data URL, encoded once per process (the browser enlarges it)."""
    key = pixels.tobytes()
    url = _png_cache.get(key)
    if url is None:
        url = png_url(digit_image(pixels.astype(np.float32) / 255.0, zoom=1))
        _png_cache[key] = url
        while len(_png_cache) > PNG_CACHE_MAX:
            _png_cache.popitem(last=False)
    return url


# --- sending a drawing ----------------------------------------------------------------------------


def send_section(x: np.ndarray, root: str) -> None:
    """Under the draw page: send this drawing to the class board (the digit meant, a nickname)."""
    st.subheader("Send it to the class board", divider="gray")
    st.caption("The board on the projector gathers the class's drawings and measures how hard each is "
               "to flip for the four networks. Your nickname stays off the projector unless the "
               "lecturer shows names.")
    with st.form("class__send", border=False, enter_to_submit=False):
        c_digit, c_name = st.columns([1, 1.4], vertical_alignment="bottom")
        digit = c_digit.selectbox("The digit you meant", tuple(range(10)), index=None,
                                  placeholder="Choose 0-9", key="class__digit")
        name = c_name.text_input(f"Nickname (optional, at most {NICKNAME_MAX} characters)",
                                 max_chars=NICKNAME_MAX, key="class__nickname")
        sent = st.form_submit_button("Send to the board", icon=":material/send:", width="stretch",
                                       key="class__send_go")
    if not sent:
        return
    if digit is None:
        st.error("Choose the digit you meant first: the board compares it with the networks' answers.")
        return
    try:
        entry = board.send_drawing(store(), root, student_id(), digit, x, name or "")
    except RobustnessError as exc:
        show_error(exc)
        return
    st.success(f"Sent as drawing #{entry}: the board shows it in a few seconds, then how hard it is to flip.",
               icon=":material/check:")


# --- the board ------------------------------------------------------------------------------------


def _caption(e: Entry, network: str, names: bool, attack: str = "pgd") -> str:
    eps = board.flip_eps(e, network, attack)
    said = ("measuring…" if e.state in ("pending", "working") else "not measured" if eps is None
            else f"{board.eps_text(eps)}")
    who = f" · {html.escape(e.nickname)}" if names and e.nickname else ""
    return f"#{e.id} a {e.digit}{who}<br>{said}"


def _alt(e: Entry, names: bool, attack: str = "pgd") -> str:
    who = f" by {e.nickname}" if names and e.nickname else ""
    if e.measures is None:
        return f"Drawing number {e.id}{who}, meant as a {e.digit}; not measured yet."
    name = board.ATTACK_NAMES[attack]
    parts = [f"{n} reads {e.measures[n]['label']}, flips at {name} eps {board.eps_text(board.flip_eps(e, n, attack))}"
             for n in NETWORKS if n in e.measures]
    return f"Drawing number {e.id}{who}, meant as a {e.digit}: " + "; ".join(parts) + "."


def gallery_html(entries: list[Entry], network: str, names: bool, size: int, attack: str = "pgd") -> str:
    """The drawings as a grid of figures (size px each), with alt texts and captions."""
    figures = "".join(
        f"<figure class='class-thumb'><img src='{thumb_url(e.pixels)}' width='{size}' height='{size}' "
        f"alt='{html.escape(_alt(e, names, attack), quote=True)}'><figcaption>{_caption(e, network, names, attack)}"
        "</figcaption></figure>"
        for e in entries)
    return (f"<div class='class-board' style='--thumb:{size}px'>{figures}</div>" if figures
            else "<p>No drawings yet: send one from the Draw and attack page.</p>")


def distribution_spec(entries: list[Entry], attack: str, step: int = 34) -> dict:
    """Vega-Lite: one point per drawing and network at its smallest flipping eps, the median ticked."""
    rows = board.distribution_rows(entries, attack)
    name = board.ATTACK_NAMES[attack]
    color = {"field": "network", "type": "nominal", "legend": None,
             "scale": {"domain": list(NETWORKS), "range": [SPECS[n].color for n in NETWORKS]}}
    y = {"field": "network", "type": "nominal", "sort": list(NETWORKS), "title": None}
    x = {"field": "eps", "type": "quantitative", "title": f"{name} eps that flips it (past {board.GRID_END}: none)",
         "scale": {"domain": [0, board.GRID_END + 0.02]}}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"Smallest {name} eps per drawing",
        "data": {"values": rows}, "height": {"step": step},
        "layer": [
            {"mark": {"type": "circle", "opacity": 0.55, "size": 70},
             "encoding": {"x": x, "y": y, "color": color, "yOffset": {"field": "digit", "type": "quantitative"},
                          "tooltip": [{"field": "drawing"}, {"field": "digit"}, {"field": "network"},
                                      {"field": "eps", "format": ".4f"}]}},
            {"mark": {"type": "tick", "thickness": 3, "size": 30, "color": "#222"},
             "encoding": {"x": {"aggregate": "median", "field": "eps", "type": "quantitative"}, "y": y}},
        ],
    }


# Thumbnail sizes (px) and counts, projector (True: one 1280x720 screen) or page.
SIZES = {True: {"hardest": (44, 10), "best": (40, 10), "newest": (40, 6), "chart": 26},
         False: {"hardest": (56, 60), "best": (48, 10), "newest": (48, 12), "chart": 34}}


@dataclass(frozen=True)
class BoardView:
    """What one refresh shows, built once per change of the class's database (its version)."""

    sentence: str
    hardest: str
    best: str
    newest: str
    spec: dict
    count: int


@functools.lru_cache(maxsize=64)
def board_view(path: str, version: int, network: str, attack: str, projector: bool) -> BoardView:
    """The board as HTML and a chart spec for this database version: a refresh that finds the
    class unchanged (or another student's refresh of the same view) reads nothing and builds nothing."""
    s = _store(path)
    entries = s.entries()
    names = s.setting(SHOW_NAMES) == "1"
    sizes = SIZES[projector]
    hardest = [e for e in board.hardest_first(entries, network, attack) if e.measures][:sizes["hardest"][1]]
    best = list(board.most_robust(entries, network, attack).values())[:sizes["best"][1]]
    return BoardView(
        sentence=board.summary_sentence(entries, attack),
        hardest=gallery_html(hardest, network, names, sizes["hardest"][0], attack),
        best=gallery_html(best, network, names, sizes["best"][0], attack),
        newest=gallery_html(entries[::-1][:sizes["newest"][1]], network, names, sizes["newest"][0], attack),
        spec=distribution_spec(entries, attack, sizes["chart"]),
        count=len(entries))


def board_section(key: str, projector: bool, root: str) -> None:
    """The board: a pause toggle, then (refreshed) the sentence, the chart, the drawings, the best per digit."""
    for name, allowed in (("network", NETWORKS), ("attack", ATTACK_LABELS)):
        if st.session_state.get(f"{key}_{name}", allowed[0]) not in allowed:  # forged: the default again
            st.session_state.pop(f"{key}_{name}", None)
    c_sort, c_attack, c_pause = st.columns([3, 1.5, 1.2], vertical_alignment="center")
    collapsed = "collapsed" if projector else "visible"
    network = c_sort.radio("Sort the drawings by the network", NETWORKS, index=NETWORKS.index("f_nd"),
                           horizontal=True, key=f"{key}_network", label_visibility=collapsed)
    attack = board.ATTACKS[ATTACK_LABELS.index(c_attack.radio(
        "Attack", ATTACK_LABELS, horizontal=True, key=f"{key}_attack", label_visibility=collapsed))]
    paused = c_pause.toggle("Pause the updates", key=f"{key}_pause",
                            help=f"The board refreshes every {REFRESH_S if projector else STUDENT_REFRESH_S:g} s "
                                 "while this is off.")
    every = REFRESH_S if projector else STUDENT_REFRESH_S
    st.html(BOARD_CSS)  # the drawings' grid style, once for the section's galleries

    @st.fragment(run_every=None if paused else every)
    def live() -> None:
        try:
            s = store()
            view = board_view(str(s.path), s.version(), network, attack, projector)
        except RobustnessError as exc:
            show_error(exc)
            return
        st.markdown(view.sentence)
        left, right = st.columns([1.15, 1], gap="medium")
        with left:
            st.markdown(f"**Hardest to flip first**, by {network}'s smallest {board.ATTACK_NAMES[attack]} eps")
            st.html(view.hardest)
            st.markdown(f"**Most robust drawing of each digit** for {network}")
            st.html(view.best)
        with right:
            spec = view.spec
            if not spec["data"]["values"]:  # no chart without a drawing measured (and no empty marks)
                st.markdown(f"*The chart of the smallest {board.ATTACK_NAMES[attack]} eps per drawing appears "
                            "with the first measured drawing.*")
            elif projector:  # the slides' fonts (>= 16 px), drawn as SVG
                from app.projector import chart

                chart(spec, key, height=4 * SIZES[projector]["chart"] + 20)
            else:
                st.vega_lite_chart(spec=accessible.described(spec, spec["data"]["values"]), width="stretch",
                                   key=f"{key}_chart")
                accessible.hidden_table(spec, spec["data"]["values"])
            st.markdown(f"**Newest** ({view.count} drawing{'s' if view.count != 1 else ''} on the board)")
            st.html(view.newest)
    live()


# --- the lecturer's board controls ------------------------------------------------------------------


def _hide(entry_id: int) -> None:
    store().hide_entry(entry_id)


def _names(show: bool) -> None:
    store().set_setting(SHOW_NAMES, "1" if show else "0")


def lecturer_controls(key: str) -> None:
    """Hide a drawing, show or hide nicknames, clear the board, reset the class: lecturer only."""
    if not is_lecturer():
        return
    with st.expander("Lecturer: board controls", key=f"{key}_controls"):
        show_note()
        try:
            entries = store().entries()
            names = store().setting(SHOW_NAMES) == "1"
        except RobustnessError as exc:
            show_error(exc)
            return
        c1, c2 = st.columns(2)
        ids = [e.id for e in entries]
        pick = c1.selectbox("Drawing to hide", ids, index=None, key=f"{key}_hide_pick",
                            format_func=lambda i: f"#{i}")
        c1.button("Hide it", key=f"{key}_hide", disabled=pick is None, on_click=act, args=(_hide, pick))
        c2.button("Hide nicknames" if names else "Show nicknames", key=f"{key}_names",
                  on_click=act, args=(_names, not names))
        sure = c2.checkbox("Yes, delete the class's data", key=f"{key}_sure")
        c2.button("Clear the board", key=f"{key}_clear", disabled=not sure,
                  on_click=act, args=(lambda: store().clear_board(),))
        c2.button("Reset the class (board, polls, votes)", key=f"{key}_reset", disabled=not sure,
                  on_click=act, args=(lambda: store().reset_class(),))
