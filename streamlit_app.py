"""Entry point: page config and the navigation, in the talk's order. Nothing else lives here."""

from pathlib import Path

import streamlit as st

from app import page_style, posture, presenter, warmup
from app.navigation import page_links

st.set_page_config(
    page_title="Adversarial robustness through overparameterization",
    page_icon="🛡️",
    layout="wide",
)

HERE = Path(__file__).parent
# (file, title, icon), in the order of the talk.
TALK = (
    ("pages/home.py", "The question", ":material/help:"),
    ("pages/recap.py", "Recap", ":material/school:"),
    ("pages/random_data.py", "Random data", ":material/scatter_plot:"),
    ("pages/mnist.py", "MNIST", ":material/grid_on:"),
    ("pages/capacity.py", "Robustness against size", ":material/stacked_line_chart:"),
    ("pages/draw.py", "Draw and attack", ":material/draw:"),
    ("pages/class.py", "Class", ":material/groups:"),
    ("pages/references.py", "References", ":material/menu_book:"),
)

pages = [
    st.Page(path, title=title, icon=icon, default=(i == 0))
    for i, (path, title, icon) in enumerate(TALK)
    if (HERE / path).is_file()
]
posture.protect()  # no "clear cache" for all, no unused messages, no uploads kept, no forged numbers
warmup.start()  # once per server process: capped BLAS threads, shared caches filled in the background
presenting = presenter.presenting()
current = st.navigation(pages, position="hidden" if presenting else "sidebar")
# Each page its own browser-tab title (the config above is the app's default).
st.set_page_config(page_title=f"{current.title} · Adversarial robustness through overparameterization")
page_style.browser_side()  # the presenter keys, tighter titles, icon names not read out
page_file = next(path for path, title, _ in TALK if title == current.title)
if presenting:
    presenter.show(page_file)  # one slide of the talk instead of the page
else:
    presenter.presenter_toggle()
    current.run()
    page_links(page_file, [(path, title) for path, title, _ in TALK if (HERE / path).is_file()])
