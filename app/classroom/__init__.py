"""The class together: what students send from their phones and what the projector shows of it.

By role:

    store.py      one state for the whole class (SQLite, WAL): board entries, polls, votes, settings
    board.py      a drawing sent to the board: checked, rate-limited, measured by a worker process
    key.py        the lecturer key: made once per lecture, printed on the console, checked here
    join.py       the address students type, and its QR code, for the title and "Your turn" slides

The polls' questions live beside the slides (app/polls.py); the class page is pages/classroom.py.
Not a page (the navigation lists only the files in streamlit_app.TALK).
"""
