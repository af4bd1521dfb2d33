"""Text alternatives: what a chart shows in a sentence and its data as an HTML table, and what a
digit image shows (the digit, the attack and its budget, each network's answer), for screen readers.

Not a page (the navigation lists only the files in streamlit_app.TALK). Every sentence is computed
from the chart's spec and data or from the caller's numbers, never written by hand:

    chart_description(spec, rows)   "FGSM (one gradient step). Line chart of test accuracy against ..."
    data_table(spec, rows, key)     an expander holding the rows as an HTML table (st.table)
    hidden_table(spec, rows)        the same table for screen readers only (presenter slides)
    digit_alt(...), attacked_alt(...), perturbation_alt(...), legend_alt(...)   alt texts of images

The chart's description also goes into its Vega-Lite spec (`described`): Vega gives the drawn chart
that description as its accessible name (aria-label).
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import streamlit as st

# A data table shows at most this many rows; a longer one is thinned evenly (first and last kept)
# and says so, the full data staying in the CSV download.
TABLE_ROWS_MAX = 120
_MARKS = {"line": "Line", "point": "Scatter", "circle": "Scatter", "bar": "Bar", "area": "Area",
          "rule": "Rule", "tick": "Tick", "rect": "Heat-map", "square": "Scatter", "text": "Text"}


# --- charts --------------------------------------------------------------------------------------


def _title(spec: Mapping) -> str:
    title = spec.get("title")
    if isinstance(title, Mapping):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(str(t) for t in title)
    return str(title).strip() if title else ""


def _views(spec: Mapping):
    """Every single view of a spec (layers and concatenations walked), depth first."""
    if "mark" in spec:
        yield spec
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []) or []:
            if isinstance(sub, Mapping):
                yield from _views(sub)
    inner = spec.get("spec")
    if isinstance(inner, Mapping):
        yield from _views(inner)


def _channel_title(enc: Mapping, titled_only: bool) -> str:
    """A channel's axis title; its field name when untitled, unless titled_only."""
    if not isinstance(enc, Mapping):
        return ""
    title = enc.get("title")
    if isinstance(title, list):
        title = " ".join(str(t) for t in title)
    if title:
        return str(title).strip()
    return "" if titled_only or "title" in enc else str(enc.get("field", "") or "").strip()


def _inline_values(spec: Mapping):
    """Every inline `data.values` of a spec and of its layers and concatenations."""
    data = spec.get("data")
    if isinstance(data, Mapping) and isinstance(data.get("values"), list):
        yield data["values"]
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []) or []:
            if isinstance(sub, Mapping):
                yield from _inline_values(sub)


def rows_of(spec: Mapping, data=None) -> list[dict]:
    """The chart's rows: `data` (a DataFrame or a list of row dicts) if given, else the largest
    dataset of the spec (named or inline, in any layer): the data, not an annotation's.

    A new list of the same row dicts, not copies (read them, do not change them: they may be a
    cached spec's, shared by every session); copying every row of the MNIST curves on each page
    open was 6% of the server's busy time under load (py-spy)."""
    if data is not None:
        if hasattr(data, "to_dict"):
            return data.to_dict("records")
        return [r if isinstance(r, dict) else dict(r) for r in data]
    datasets = [v for v in (spec.get("datasets") or {}).values() if isinstance(v, list)]
    datasets += list(_inline_values(spec))
    return [r if isinstance(r, dict) else dict(r) for r in max(datasets, key=len)] if datasets else []


def chart_description(spec: Mapping, data=None) -> str:
    """One or two sentences saying what the chart shows: its title, its kind, what is plotted
    against what, the series (its colour legend) and how many rows its data table has."""
    rows = rows_of(spec, data)
    views = list(_views(spec))
    kinds, series_field = [], ""
    for view in views:
        mark = view.get("mark")
        mark = mark.get("type") if isinstance(mark, Mapping) else mark
        kind = _MARKS.get(str(mark))
        if kind and kind not in kinds and kind not in ("Rule", "Text"):
            kinds.append(kind)
    # The axes' titles: a titled channel first (annotation layers often have none), else a field.
    encodings = [view.get("encoding") or {} for view in views]
    x_title, y_title = ("" for _ in range(2))
    for titled_only in (True, False):
        x_title = x_title or next((t for e in encodings if (t := _channel_title(e.get("x", {}), titled_only))), "")
        y_title = y_title or next((t for e in encodings if (t := _channel_title(e.get("y", {}), titled_only))), "")
    # The series: the colour field of a view that also carries the y axis's title.
    for enc in sorted(encodings, key=lambda e: _channel_title(e.get("y", {}), False) != y_title):
        color = enc.get("color")
        if isinstance(color, Mapping) and color.get("field"):
            series_field = str(color["field"])
            break
    title = _title(spec) or next((_title(v) for v in views if _title(v)), "")
    kind = " and ".join(k.lower() for k in kinds) or "chart"
    what = f"{kind[0].upper()}{kind[1:]} chart"
    if x_title and y_title:
        what += f" of {y_title} against {x_title}"
    sentence = f"{title}. {what}" if title else what
    names = []
    if series_field:
        for row in rows:
            name = row.get(series_field)
            if name is not None and str(name) not in names:
                names.append(str(name))
    if 1 < len(names) <= 8:
        sentence += f", one series per {series_field}: " + ", ".join(names)
    return sentence + f". Its data: a table of {len(rows)} rows."


def described(spec: Mapping, data=None) -> dict:
    """The spec with its `description` (Vega's accessible name of the drawn chart) filled in.

    Vega's per-mark ARIA stays on: `config.aria = false` leaves some mark containers with a role
    and no name (axe's svg-img-alt on the Recap page)."""
    if spec.get("description"):
        return dict(spec)
    return {**spec, "description": chart_description(spec, data)}


def _thinned(rows: list[dict]) -> tuple[list[dict], str]:
    if len(rows) <= TABLE_ROWS_MAX:
        return rows, ""
    step = (len(rows) - 1) / (TABLE_ROWS_MAX - 1)
    picked = [rows[round(i * step)] for i in range(TABLE_ROWS_MAX)]
    return picked, (f"{TABLE_ROWS_MAX} of its {len(rows)} rows, evenly spaced; "
                    "the CSV download holds them all.")


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _columns(rows: Sequence[Mapping]) -> list[str]:
    cols: list[str] = []
    for row in rows:
        cols += [c for c in row if c not in cols]
    return cols


def table_html(spec: Mapping, data=None, caption: str | None = None) -> str:
    """The chart's data as an HTML <table> with a caption and column headers."""
    rows, note = _thinned(rows_of(spec, data))
    cols = _columns(rows)
    caption = caption or chart_description(spec, data)
    head = "".join(f"<th scope='col'>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_format(r.get(c, '')))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return (f"<table><caption>{html.escape(caption)} {html.escape(note)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


# (id(source), id(data)) -> (source, data, description, table HTML). The entry holds the objects
# themselves, so their ids cannot be reused by other objects while it lives.
_PARTS: OrderedDict = OrderedDict()
_PARTS_MAX = 256
_parts_lock = threading.Lock()


def chart_parts(source: object, spec: Mapping, data=None) -> tuple[str, str]:
    """(accessible description, data table HTML) of a chart, computed once per cached chart: data
    the cached rows (with the title, they name the chart), else source, the cached object the spec
    was made from (a builder's spec, shared by every session). A page open of the Recap or Random data page described and tabulated every
    chart's rows on every run (a third of the server's Python time, py-spy)."""
    # With cached rows, the rows and the title name the chart (the MNIST curves' spec is rebuilt
    # with its marker on each run, over the same cached rows); else the cached spec itself.
    key = (id(data), _title(spec)) if data is not None else (id(source), None)
    with _parts_lock:
        hit = _PARTS.get(key)
        if hit is not None and hit[1] is data and (data is not None or hit[0] is source):
            _PARTS.move_to_end(key)
            return hit[2], hit[3]
    description = spec.get("description") or chart_description(spec, data)
    title = _title(spec) or next((_title(v) for v in _views(spec) if _title(v)), "the chart")
    table = table_html(spec, data, caption=title)
    with _parts_lock:
        _PARTS[key] = (source, data, description, table)
        while len(_PARTS) > _PARTS_MAX:
            _PARTS.popitem(last=False)
    return description, table


def data_table(spec: Mapping, data, key: str, table: str | None = None) -> None:
    """An expander under a chart with its data as an HTML table (`table_html`, captioned with the
    chart's title), for a screen reader or anyone who wants the numbers; read from the same rows as
    the CSV download. Markdown, not st.table: the draw page's bars answer every slider move, and a
    DataFrame's Arrow conversion for st.table cost more than the chart itself (py-spy)."""
    title = _title(spec) or next((_title(v) for v in _views(spec) if _title(v)), "the chart")
    with st.expander(f"Data table: {title}", key=f"{key}__table"):
        st.markdown(table if table is not None else table_html(spec, data, caption=title), unsafe_allow_html=True)


SR_ONLY = ("position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;"
           "clip:rect(0,0,0,0);white-space:nowrap;border:0")


def hidden_table(spec: Mapping, data=None) -> None:
    """The chart's data table for screen readers only: no space on a projector slide."""
    st.markdown(f"<div class='talk-sr-only' style='{SR_ONLY}'>{table_html(spec, data)}</div>",
                unsafe_allow_html=True)


def announce(key: str, text: str) -> None:
    """Text for screen readers only, in a polite live region (app/assets/accessible.js marks the
    container keyed "talk_live_<key>"): read out whenever it changes, silent while it stays."""
    with st.container(key=f"talk_live_{key}"):
        st.markdown(f"<div class='talk-sr-only' style='{SR_ONLY}'>{html.escape(text)}</div>",
                    unsafe_allow_html=True)


def verdicts_text(answers: Sequence[tuple[str, int, int]]) -> str:
    """"f_n now answers 3 (clean 7, changed). f_nd still answers 7." from (model, clean, attacked)."""
    return " ".join(f"{m} now answers {a} (clean {c}, changed)." if a != c else f"{m} still answers {a}."
                    for m, c, a in answers)


# --- digit images --------------------------------------------------------------------------------


def _answer(model: str, prediction: int, confidence: float | None, label: int | None) -> str:
    verdict = "" if label is None else (", right" if prediction == label else ", wrong")
    conf = "" if confidence is None else f" with {100 * confidence:.0f}% confidence"
    return f"{model} answers {prediction}{conf}{verdict}"


def digit_alt(label: int | None = None, what: str = "Test digit", answers: Sequence[tuple] = ()) -> str:
    """A clean digit: what it is and, if given, each network's answer.

    answers: (model name, predicted digit, confidence in [0, 1] or None) per network."""
    text = f"{what}, labelled {label}" if label is not None else what
    parts = [_answer(m, int(p), c, label) for m, p, c in answers]
    return text + (": " + "; ".join(parts) if parts else "") + "."


def budget_text(attack: str, budget: float, eps: bool = True) -> str:
    """"FGSM at eps 0.050" or "White noise of std 0.10"."""
    return f"{attack} at eps {budget:.3f}" if eps else f"{attack} of std {budget:.2f}"


def attacked_alt(model: str, attack: str, label: int | None, prediction: int,
                 confidence: float | None = None) -> str:
    """An attacked input: the digit, the attack and its budget, what the network answers."""
    of = f"digit labelled {label}" if label is not None else "digit"
    return f"The {of} after {attack}, as {model} sees it: {_answer(model, prediction, confidence, label)}."


def perturbation_alt(model: str, attack: str, max_change: float, l2: float | None = None) -> str:
    """A perturbation map: whose, which attack, how large."""
    size = f"largest pixel change {max_change:.3f}" + ("" if l2 is None else f", L2 norm {l2:.2f}")
    return (f"Perturbation {attack} added to {model}'s input: green pixels made brighter, purple darker, "
            f"white unchanged; {size}.")


def legend_alt(scale: float) -> str:
    """The perturbation colour bar."""
    return f"Colour bar: purple is a pixel made darker by up to {scale:.3f}, green brighter by up to {scale:.3f}."


# --- motion --------------------------------------------------------------------------------------


def reduced_motion() -> bool:
    """Whether this student's browser asks for reduced motion (`prefers-reduced-motion: reduce`):
    then Play and the sweep jump to their end state. The browser side (app/assets/accessible.js)
    sends the preference as the cookie `talk_reduced_motion`."""
    try:
        return st.context.cookies.get("talk_reduced_motion") == "1"
    except Exception:  # outside a running app (a unit test): full motion
        return False
