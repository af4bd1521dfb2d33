"""The draw page's canvas: a 280x280 black square to draw a digit on, its Undo and Clear buttons,
and the drawing read as a 28x28 MNIST digit.

Not a page (the navigation lists only the files in streamlit_app.TALK). The drawing is per-user
state in `st.session_state`, under keys that are not widget keys: Streamlit forgets a widget's
state when the page is left, and the drawing must survive a visit to another page. The canvas is
a custom component (streamlit-drawable-canvas), imported inside `drawn_digit` (page code), not
when this module is imported.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app.errors import student_message
from core.digits import (
    EmptyDrawingError,
    InvertedDrawingError,
    TooSmallDrawingError,
    decode_canvas_png,
    png_from_data_url,
    to_mnist,
)
from core.errors import InputError

CANVAS_SIZE = 280  # ten canvas pixels per MNIST pixel
STROKE = 20  # about two MNIST pixels once the digit is scaled into its 20x20 box
CANVAS_KEY = "draw_canvas"
SAVED = "draw__saved_drawing"  # {"json": Fabric.js JSON, "png": bytes}: the last drawing received
SEED = "draw__canvas_seed"  # the drawing the mounted canvas starts from (its `initial_drawing`)


def _restart_canvas(objects: list) -> None:
    """Give the mounted canvas a new starting drawing (a button callback): the canvas redraws it
    and sends it back, so the page answers the new drawing. A counter makes every restart a new
    `initial_drawing`, even a second "Clear" of an already empty canvas."""
    previous = st.session_state.get(SEED) or {}
    st.session_state[SEED] = {"objects": objects, "restart": previous.get("restart", 0) + 1}


def _saved_strokes() -> list:
    """The strokes of the last drawing received (Fabric.js objects), oldest first."""
    saved = st.session_state.get(SAVED)
    return list((saved or {}).get("json", {}).get("objects", [])) if saved else []


def _undo() -> None:
    """The Undo button's callback: the drawing without its last stroke."""
    _restart_canvas(_saved_strokes()[:-1])


def _clear() -> None:
    """The Clear button's callback: an empty canvas."""
    _restart_canvas([])


def canvas_drawing(state: object) -> tuple[dict | None, bytes | None]:
    """(Fabric.js JSON, PNG bytes) of the canvas component's state as the browser sent it.

    The state is {"drawing": {"raw": {"objects": [...]}, "data": "data:image/png;base64,..."}}; either
    part may be None (nothing drawn yet). Anything else, from a forged message, raises InputError
    (streamlit-drawable-canvas itself would raise AttributeError or binascii.Error on it, on every
    run of the session).
    """
    if state is None:
        return None, None
    if not isinstance(state, dict):
        raise InputError("the canvas state is not a mapping")
    drawing = state.get("drawing")
    if drawing is None:
        return None, None
    if not isinstance(drawing, dict):
        raise InputError("the canvas drawing is not a mapping")
    raw, data = drawing.get("raw"), drawing.get("data")
    if raw is not None and not (isinstance(raw, dict) and isinstance(raw.get("objects", []), list)
                                and all(isinstance(o, dict) for o in raw.get("objects", []))):
        raise InputError("the canvas strokes are not a list of objects")
    return raw, None if data is None else png_from_data_url(data)


def _forget_forged_state() -> None:
    """Drop the canvas's state from the session: it is mounted afresh, from the last good drawing."""
    st.session_state.pop(CANVAS_KEY, None)


def drawn_digit() -> np.ndarray | None:
    """The canvas, as a 28x28 MNIST-style digit in [0, 1]; None (with a hint) while it is empty.

    The drawing survives a visit to another page: the last one received is kept in the session
    (`SAVED`), and a canvas mounted afresh starts from it (`SEED`). The seed changes only on a new
    mount or on our Undo / Clear buttons, never with each stroke: a new `initial_drawing` resets
    the canvas (and its own undo history) and makes it send the drawing again.
    """
    from streamlit_drawable_canvas import st_canvas  # a custom component: import inside page code

    state = st.session_state
    try:
        canvas_drawing(state.get(CANVAS_KEY))
    except InputError as exc:
        _forget_forged_state()
        st.warning(f"The canvas sent a drawing this page cannot read ({student_message(exc)}): it shows your "
                   "last drawing again; draw on it as before.", icon=":material/draw:")
    if CANVAS_KEY not in state:  # mounted afresh (first visit, or back from another page)
        saved = state.get(SAVED)
        state[SEED] = {"objects": saved["json"].get("objects", [])} if saved else None
    seed = state.get(SEED)
    st_canvas(  # its state is read from the session, checked (canvas_drawing)
        stroke_width=STROKE, stroke_color="#FFFFFF", background_color="#000000",
        height=CANVAS_SIZE, width=CANVAS_SIZE, drawing_mode="freedraw", initial_drawing=seed,
        return_image_data=True, update_streamlit=True, key=CANVAS_KEY,
    )
    try:  # checked above; the PNG as sent (its size is checked before it is decoded)
        json_data, raw = canvas_drawing(state.get(CANVAS_KEY))
    except InputError:
        json_data, raw = None, None
    saved = state.get(SAVED)
    if raw is not None:
        state[SAVED] = {"json": json_data or {"objects": []}, "png": raw}
    elif seed and seed.get("objects") and saved and saved["json"].get("objects") == seed["objects"]:
        # A canvas restored from the session does not send its first drawing: use the one we kept.
        raw = saved["png"]
    strokes = len(_saved_strokes())
    row = st.container(horizontal=True, gap="small", key="draw_canvas_buttons")
    row.button("Undo last stroke", key="draw__undo", icon=":material/undo:", on_click=_undo,
               disabled=strokes == 0, help="Removes the last stroke you drew.")
    row.button("Clear drawing", key="draw__clear", icon=":material/delete:", on_click=_clear,
               disabled=strokes == 0, help="Empties the black square; draw again on it.")
    if raw is None:
        st.info("Draw a digit on the black square to see what the networks make of it.", icon=":material/draw:")
        return None
    try:
        return to_mnist(decode_canvas_png(raw, CANVAS_SIZE))
    except TooSmallDrawingError as exc:
        st.info(f"Not yet a digit: {exc}.", icon=":material/draw:")
    except EmptyDrawingError:
        st.info("The canvas is empty: draw a digit on the black square.", icon=":material/draw:")
    except InvertedDrawingError as exc:
        st.warning(f"Inverted drawing: {exc}.", icon=":material/invert_colors:")
    except InputError as exc:  # not a PNG this canvas draws (a forged message): forget it, carry on
        if (state.get(SAVED) or {}).get("png") == raw:
            del state[SAVED]
        _forget_forged_state()
        st.warning(f"The canvas sent a drawing this page cannot read ({student_message(exc)}): draw again.",
                   icon=":material/draw:")
    return None
