"""References: the talk's nine papers, and the data and estimators the app uses."""

from __future__ import annotations

import streamlit as st

from app.navigation import keep_talk_navigation
from core.references import DATA_AND_METHOD_REFERENCES, TALK_REFERENCES, Reference

keep_talk_navigation()


def show(refs: tuple[Reference, ...], numbered_from: int = 1) -> None:
    for i, ref in enumerate(refs, start=numbered_from):
        links = " · ".join(f"[{label}]({url})" for label, url in ref.links.items())
        st.markdown(
            f"**[{i}]** {ref.authors} ({ref.year}). *{ref.title}*. {ref.venue}.  \n"
            f"{links}  \n"
            f"<span class='talk-muted'>{ref.role}</span>",
            unsafe_allow_html=True,
        )


st.title("References")
st.header("The talk", divider="gray")
show(TALK_REFERENCES)
st.header("Data, models and estimators used by this app", divider="gray")
show(DATA_AND_METHOD_REFERENCES, numbered_from=len(TALK_REFERENCES) + 1)
