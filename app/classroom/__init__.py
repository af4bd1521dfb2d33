"""The class together: what students send from their phones and what the projector shows of it.

By role:

    store.py      one state for the whole class (SQLite, WAL): board entries, polls, votes, settings
    board.py      a drawing sent to the board, its worker started; the board's readers (hardest to
                  flip, most robust per digit, the class's sentence and chart rows)
    measure.py    the board's worker process: measures waiting drawings on the four networks
    key.py        the lecturer key: made once per lecture, printed on the console, checked here
    join.py       the address students type, and its QR code, for the title and "Your turn" slides
    lecturer.py   the lecturer's key field in the presenter, and `act`: only the key's holder acts
    board_view.py "send to the board" on the draw page; the board (class page and slide); its
                  lecturer controls
    poll_view.py  a student's vote (class page) and a poll's slide (the count, then the reveal)

The polls' questions live beside the slides (app/polls.py); the class page is pages/classroom.py.
Not a page (the navigation lists only the files in streamlit_app.TALK).
"""
