"""The app's shared machinery; the page scripts themselves are in pages/ (one per page of the talk).

By role:

    url_settings.py    a page's widgets bound to the URL (TalkSettings), the reset, what_to_notice
    chart_export.py    PNG / SVG / CSV downloads of a chart, the spec as drawn (theme, Arrow data)
    theme.py           the student's light or dark theme and the models' colours in it
    shipped.py         the shipped MNIST models and digits, cached, and the attack results on them
    images.py          digits and perturbation heatmaps as images, sent inside the page
    canvas.py          the draw page's canvas and its per-user drawing
    charts/            cached chart builders, one module per page: recap, random_data, mnist,
                       capacity; probabilities.py (the draw page's class-probability bars)
    errors.py          an error a user can fix, shown with st.error instead of a traceback
    slides.py          the talk as slides: the registry (with the polls' slides) and what each slide draws
    projector.py       the projector's look: chart fonts for the back of a hall, large text, slide sizes
    presenter.py       presenter mode: ?present=1&slide=7, the step buttons and the clicker keys
    polls.py           the class polls: each question, the slide it comes before, its measured answer
    navigation.py      deep links inside the talk's navigation; Previous / Next links in its order
    page_style.py      every page's CSS and the keys script (the files in assets/)
    warmup.py          start-up work in the background: shared caches filled once per server
    posture.py         server hardening Streamlit has no setting for (a client cannot clear the caches
                       nor send a number no browser sends)
    classroom/         the class together: one store for every app process (SQLite), the board and
                       its measuring worker, the lecturer key, joining by QR code; the board, poll
                       and lecturer views (its __init__ lists them)
"""
