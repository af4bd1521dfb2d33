"""Polls on screen: a student's vote (the class page) and the poll slide (count, then the reveal).

Predict, then see: the lecturer opens a poll on its slide, students vote from their phones (one
vote each, changeable while it is open), the slide shows the count as it grows, and on "Reveal" the
class's answers beside the measured answer from the shipped results (app/polls.py). Refreshed in
fragments every `REFRESH_S` seconds, pausable.

Not a page (the navigation lists only the files in streamlit_app.TALK).
"""

from __future__ import annotations

import streamlit as st

from app import accessible
from app.classroom.board_view import store, student_id
from app.classroom.lecturer import act, is_lecturer, show_note
from app.errors import show_error
from app.polls import POLLS, Poll, get_poll
from core.errors import RobustnessError

REFRESH_S = 2.0
# Neither model's colour (orange is f_n, blue f_nd): the measured answer in Okabe-Ito's bluish green,
# the others grey; both at 3:1 or more against a light and a dark background (WCAG 1.4.11).
MEASURED_COLOR, OTHER_COLOR = "#009E73", "#767676"
STATE_TEXT = {"waiting": "Not open yet.", "open": "Open: vote on your phone.", "closed": "Closed: no more votes.",
              "revealed": "Revealed."}


def counts_spec(poll: Poll, counts: list[int], measured: int | None = None) -> dict:
    """Vega-Lite: the class's votes per answer, as bars (the measured answer marked once revealed)."""
    rows = [{"answer": c, "votes": n, "measured": "measured answer" if i == measured else "other"}
            for i, (c, n) in enumerate(zip(poll.choices, counts))]
    total = sum(counts)
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"The class's answers: {total} vote{'s' if total != 1 else ''}",
        "data": {"values": rows}, "height": {"step": 46},
        "layer": [
            {"mark": {"type": "bar", "color": OTHER_COLOR},
             "encoding": {"y": {"field": "answer", "type": "nominal", "sort": list(poll.choices), "title": None,
                                "axis": {"labelLimit": 360}},
                          "x": {"field": "votes", "type": "quantitative", "title": "votes",
                                "axis": {"tickMinStep": 1}},
                          **({"color": {"field": "measured", "type": "nominal", "title": None,
                                        "scale": {"domain": ["measured answer", "other"],
                                                  "range": [MEASURED_COLOR, OTHER_COLOR]}}} if measured is not None else {})}},
            {"mark": {"type": "text", "align": "left", "dx": 6},
             "encoding": {"y": {"field": "answer", "type": "nominal", "sort": list(poll.choices)},
                          "x": {"field": "votes", "type": "quantitative"}, "text": {"field": "votes"}}},
        ],
    }


@st.cache_data(show_spinner=False, max_entries=32)
def _measured_answer(poll_id: str, root: str):
    """A poll's measured answer from the shipped results (read once per process: up to 0.3 s)."""
    return get_poll(poll_id).answer(root)


def _measured(poll: Poll, root: str):
    return _measured_answer(poll.id, root)


def results(poll: Poll, state: str, root: str, key: str, projector: bool) -> None:
    """The count (and, once revealed, the measured answer beside the class's)."""
    counts = store().counts(poll.id, len(poll.choices))
    measured = None
    if state == "revealed":
        try:
            measured = _measured(poll, root)
        except RobustnessError as exc:
            show_error(exc)
    spec = counts_spec(poll, counts, measured.choice if measured is not None else None)
    if projector:
        from app.projector import chart

        chart(spec, key, height=46 * len(poll.choices))
    else:
        st.vega_lite_chart(spec=accessible.described(spec, spec["data"]["values"]), width="stretch", key=f"{key}_chart")
        accessible.hidden_table(spec, spec["data"]["values"])
    if measured is not None:
        said = class_said(poll, counts)
        answer = (f"The shipped results say **{poll.choices[measured.choice]}**." if measured.choice is not None
                  else "The shipped results decide none of the answers.")
        st.markdown(f"{said} {answer} {measured.text}  \n:gray[Source: {measured.source}]")


def class_said(poll: Poll, counts: list[int]) -> str:
    """What the class answered: the most voted answer, or the answers tied for most, with the counts."""
    total = sum(counts)
    if not total:
        return "No one voted."
    top = [i for i, n in enumerate(counts) if n == max(counts)]
    if len(top) == 1:
        return f"The class said **{poll.choices[top[0]]}** ({counts[top[0]]} of {total})."
    names = " and ".join(f"**{poll.choices[i]}**" for i in top)
    return f"The class split between {names} ({counts[top[0]]} each of {total})."


def poll_slide(poll_id: str, root: str) -> None:
    """A poll's slide: its state, the live count, then the reveal; the lecturer's buttons."""
    poll = get_poll(poll_id)
    from app.classroom.join import join_address

    paused = st.toggle("Pause the count's updates", key=f"poll_{poll.id}_pause",
                       help=f"The count refreshes every {REFRESH_S:.0f} s while this is off.")

    @st.fragment(run_every=None if paused else REFRESH_S)
    def live() -> None:
        try:
            state = store().poll_state(poll.id)
            address = join_address()
            where = f" Vote at {address}" if address and state in ("waiting", "open") else ""
            st.markdown(f"<div class='present-big'>{STATE_TEXT[state]}{where}</div>", unsafe_allow_html=True)
            st.markdown("  \n".join(f"**{chr(65 + i)}.** {c}" for i, c in enumerate(poll.choices)))
            if state != "waiting":
                results(poll, state, root, f"poll_{poll.id}", projector=True)
        except RobustnessError as exc:
            show_error(exc)
    live()
    if is_lecturer():
        controls(poll)


def _set(poll_id: str, state: str) -> None:
    store().set_poll_state(poll_id, state)


def controls(poll: Poll) -> None:
    show_note()
    bar = st.container(horizontal=True, key=f"poll_{poll.id}_controls")
    for label, state, icon in (("Open the poll", "open", ":material/how_to_vote:"),
                               ("Close it", "closed", ":material/block:"),
                               ("Reveal the answers", "revealed", ":material/visibility:")):
        bar.button(label, key=f"poll_{poll.id}_{state}", icon=icon, on_click=act, args=(_set, poll.id, state))


# --- a student's vote ----------------------------------------------------------------------------


def _vote(poll: Poll) -> None:
    choice = st.session_state.get(f"vote_{poll.id}")
    if choice is None or choice not in poll.choices:
        return
    try:
        store().vote(poll.id, student_id(), poll.choices.index(choice), len(poll.choices))
    except RobustnessError as exc:
        st.session_state[f"vote_{poll.id}_error"] = str(exc)


def vote_section(root: str) -> None:
    """The poll now open (a vote, changeable until it closes), or the last revealed one's answers."""
    paused = st.toggle("Pause the poll's updates", key="vote_pause",
                       help=f"This section checks every {REFRESH_S:.0f} s whether the lecturer opened a poll.")

    @st.fragment(run_every=None if paused else REFRESH_S)
    def live() -> None:
        try:
            s = store()
            open_id = s.open_poll()
            states = s.poll_states()
        except RobustnessError as exc:
            show_error(exc)
            return
        if open_id is not None and open_id in {p.id for p in POLLS}:
            poll = get_poll(open_id)
            st.markdown(f"### {poll.question}")
            mine = s.my_vote(poll.id, student_id())
            st.radio("Your answer (you can change it until the poll closes)", poll.choices,
                     index=mine, key=f"vote_{poll.id}", on_change=_vote, args=(poll,))
            if error := st.session_state.pop(f"vote_{poll.id}_error", None):
                show_error(error)
            elif mine is not None:
                st.caption(f"Your vote: {poll.choices[mine]}.")
            return
        revealed = [p for p in POLLS if states.get(p.id) == "revealed"]
        if revealed:
            st.markdown(f"No poll is open. The last revealed: **{revealed[-1].question}**")
            results(revealed[-1], "revealed", root, "vote_revealed", projector=False)
        else:
            st.info("No poll is open: when the lecturer opens one, it appears here.", icon=":material/how_to_vote:")
    live()
