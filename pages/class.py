"""The class: the poll now open (vote from a phone) and the class board (everyone's drawings).

Students reach it from the QR code on the title and "Your turn" slides (app/classroom/join.py). The
state is the whole class's, kept in one database for every app process (app/classroom/store.py); a
broken database shows its error in these sections only.
"""

import streamlit as st

from app import shipped
from app.classroom.board_view import board_section, lecturer_controls
from app.classroom.poll_view import vote_section
from app.navigation import keep_talk_navigation

keep_talk_navigation()
root = shipped.pretrained_root()

st.title("The class: polls and the board")
st.caption("Vote when the lecturer opens a poll, and see the drawings the class sent from the Draw and "
           "attack page. You need no account; your vote and drawings are tied to this browser tab.")
st.subheader("Poll", divider="gray")
vote_section(root)
st.subheader("The class board", divider="gray")
board_section("class_board", projector=False, root=root)
lecturer_controls("class_board")
