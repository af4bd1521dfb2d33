"""The board's readers (app/classroom/board.py) and its worker (app/classroom/measure.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.classroom import board
from app.classroom.measure import NETWORKS, as_json
from app.classroom.store import ClassStore, Entry


def entry(i: int, digit: int, eps: dict | None, labels: dict | None = None, state: str = "done") -> Entry:
    """A stored drawing with PGD (and FGSM = PGD + 0.01) flip eps per network; None eps: no flip."""
    measures = None
    if eps is not None:
        measures = {n: {"label": (labels or {}).get(n, digit), "confidence": 0.9,
                        "pgd": eps[n], "fgsm": None if eps[n] is None else eps[n] + 0.01} for n in eps}
    return Entry(i, float(i), digit, f"n{i}", np.zeros(784, np.uint8), False, state, measures)


def four(a, b, c, d) -> dict:
    return dict(zip(NETWORKS, (a, b, c, d)))


def test_the_hardest_to_flip_come_first_then_those_being_measured():
    es = [entry(1, 3, four(0.02, 0.03, 0.1, 0.2)), entry(2, 4, four(0.05, None, 0.1, 0.2)),
          entry(3, 5, None, state="pending"), entry(4, 6, four(0.01, 0.04, 0.1, 0.2))]
    assert [e.id for e in board.hardest_first(es, "f_nd")] == [2, 4, 1, 3]
    assert [e.id for e in board.hardest_first(es, "f_n")] == [2, 1, 4, 3]
    assert [e.id for e in board.hardest_first(es, "f_n", "fgsm")] == [2, 1, 4, 3]


def test_the_most_robust_drawing_of_each_digit_is_one_the_network_reads_as_meant():
    es = [entry(1, 3, four(0.02, 0.03, 0.1, 0.2)), entry(2, 3, four(0.05, 0.09, 0.1, 0.2)),
          entry(3, 7, four(0.2, 0.2, 0.2, 0.2), labels={"f_nd": 1}), entry(4, 7, four(0.01, 0.01, 0.1, 0.2))]
    best = board.most_robust(es, "f_nd")
    assert {d: e.id for d, e in best.items()} == {3: 2, 7: 4}  # #3 is read as a 1 by f_nd
    assert {d: e.id for d, e in board.most_robust(es, "f_n").items()} == {3: 2, 7: 3}


def test_the_summary_sentence_is_computed_from_the_class():
    es = [entry(1, 3, four(0.02, 0.03, 0.1, None)), entry(2, 3, four(0.04, 0.05, 0.3, None)),
          entry(3, 1, four(0.06, 0.07, 0.2, None))]
    text = board.summary_sentence(es)
    assert "3 measured drawings" in text
    assert "f_n 0.040" in text and "f_nd 0.050" in text and "f_n_adv 0.200" in text and "f_nd_adv > 0.3" in text
    es[0] = entry(1, 3, four(0.5, 0.03, 0.1, None))
    assert "f_n 0.060" in board.summary_sentence(es)
    assert "No drawing has been measured yet" in board.summary_sentence([entry(1, 3, None, state="pending")])


def test_the_distribution_puts_no_flip_beyond_the_grid():
    rows = board.distribution_rows([entry(1, 3, four(0.02, None, 0.1, 0.2))])
    assert len(rows) == 4
    beyond = [r for r in rows if r["beyond"]]
    assert len(beyond) == 1 and beyond[0]["network"] == "f_nd" and beyond[0]["eps"] > board.GRID_END


def test_flip_eps_as_stored():
    assert as_json(float("inf")) is None and as_json(0.05) == 0.05
    e = entry(1, 3, four(0.02, None, 0.1, 0.2))
    assert board.flip_eps(e, "f_nd", "pgd") == math.inf
    assert board.flip_eps(entry(2, 3, None, state="pending"), "f_n", "pgd") is None


def test_the_worker_measures_what_waits_and_records_failures(tmp_path, monkeypatch):
    from app.classroom import measure

    s = ClassStore(tmp_path / "c.sqlite3")
    ok = s.add_entry("s1", 3, np.zeros(784, np.float32))
    bad = s.add_entry("s2", 4, np.ones(784, np.float32))

    def fake(classifiers, image):
        if image.max() > 0.5:
            from core.errors import InputError
            raise InputError("no")
        return {n: {"label": 3, "confidence": 0.5, "fgsm": 0.1, "pgd": None} for n in NETWORKS}

    monkeypatch.setattr(measure, "measure", fake)
    assert measure.work(s, {}, idle_exit_s=0.0, poll_s=0.01) == 2
    got = {e.id: e for e in s.entries()}
    assert got[ok].state == "done" and got[ok].measures["f_n"]["pgd"] is None
    assert got[bad].state == "failed" and got[bad].error == "no"


@pytest.mark.parametrize("network", NETWORKS)
def test_the_worker_measures_a_shipped_digit_on_the_four_networks(network):
    """The real measures: the clean answer and flip eps of a shipped test digit."""
    from app.classroom import measure
    from core.results.pretrained import PRETRAINED_DIR, load_sample

    images, labels = load_sample(root=PRETRAINED_DIR)
    classifiers = measure.load_networks(str(PRETRAINED_DIR))
    out = measure.measure({network: classifiers[network]}, images[:1])
    m = out[network]
    assert m["label"] == int(np.argmax(classifiers[network].predict_proba(images[:1])))
    for attack in ("fgsm", "pgd"):
        assert m[attack] is None or 0 < m[attack] <= board.GRID_END


def test_a_sent_drawing_is_measured_by_a_niced_worker_process(tmp_path):
    """The whole path: `send_drawing` stores it and starts this process's worker, which measures it
    on the four networks at a lower priority, then exits when idle."""
    import os
    import time

    from core.results.pretrained import PRETRAINED_DIR, load_sample

    images, labels = load_sample(root=PRETRAINED_DIR)
    s = ClassStore(tmp_path / "c.sqlite3")
    entry = board.send_drawing(s, str(PRETRAINED_DIR), "s1", int(labels[0]), images[0])
    worker = board._worker
    assert worker is not None and worker.poll() is None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and s.entries()[0].state != "done":
        time.sleep(0.2)
    (got,) = s.entries()
    assert got.id == entry and got.state == "done", got.error
    assert set(got.measures) == set(NETWORKS)
    # Niced as it starts (before it loads a network): the students' requests come first.
    assert os.getpriority(os.PRIO_PROCESS, worker.pid) >= os.getpriority(os.PRIO_PROCESS, 0) + board.WORKER_NICE
    board.ensure_worker(s, str(PRETRAINED_DIR))  # still running: not a second one
    assert board._worker is worker
    worker.terminate()
    worker.wait(timeout=30)
