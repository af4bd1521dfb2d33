"""The class board's logic: sending a drawing, starting its worker, and reading the board.

A student's drawing goes into the class database (app/classroom/store.py) at once, pending; a
niced worker process (app/classroom/measure.py) measures it on the four networks within seconds,
outside the app server, so a class sending drawings never slows the slider moves. The readers
below turn the stored drawings into what the board shows: the drawings sorted by how hard they
are to flip, the smallest flipping eps per network, the most robust drawing of each digit.

No streamlit here (the board's page and slide: app/classroom/board_view.py).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.classroom.measure import NETWORKS
from app.classroom.store import ClassStore, Entry

REPO = Path(__file__).resolve().parents[2]
ATTACKS = ("pgd", "fgsm")  # the stored measures, strongest first
ATTACK_NAMES = {"pgd": "PGD", "fgsm": "FGSM"}
GRID_END = 0.3  # no eps up to this flips the answer: the drawing is shown "beyond 0.3"
WORKER_NICE = 10

_worker: subprocess.Popen | None = None
_worker_lock = threading.Lock()


def ensure_worker(store: ClassStore, root: str) -> None:
    """Start this app process's measuring worker unless it runs (it exits when idle)."""
    global _worker
    with _worker_lock:
        if _worker is not None and _worker.poll() is None:
            return
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        _worker = subprocess.Popen(
            [sys.executable, "-m", "app.classroom.measure", "--db", str(store.path), "--root", root,
             "--nice", str(WORKER_NICE), "--parent", str(os.getpid())],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def send_drawing(store: ClassStore, root: str, student: str, digit: int, x: np.ndarray, nickname: str = "") -> int:
    """Put a student's drawing on the board and make sure a worker will measure it; its id."""
    entry = store.add_entry(student, digit, x, nickname)
    ensure_worker(store, root)
    return entry


# --- reading the board ----------------------------------------------------------------------------


def flip_eps(entry: Entry, network: str, attack: str) -> float | None:
    """The smallest flipping eps of a measured drawing (inf: nothing up to GRID_END flips it);
    None while it is being measured or if measuring failed."""
    if entry.measures is None or network not in entry.measures:
        return None
    value = entry.measures[network].get(attack)
    return float("inf") if value is None else float(value)


def hardest_first(entries: list[Entry], network: str, attack: str = "pgd") -> list[Entry]:
    """Measured drawings, hardest to flip first (by one network's smallest flipping eps), then the
    ones still measured, newest first."""
    done = [e for e in entries if flip_eps(e, network, attack) is not None]
    waiting = [e for e in entries if e.state in ("pending", "working")]
    return sorted(done, key=lambda e: (-flip_eps(e, network, attack), e.id)) + waiting[::-1]


def most_robust(entries: list[Entry], network: str, attack: str = "pgd") -> dict[int, Entry]:
    """Per digit 0-9, the drawing the network reads as that digit that takes the largest push to
    flip (digits no one drew, or that the network misreads every time, are absent)."""
    best: dict[int, Entry] = {}
    for e in entries:
        eps = flip_eps(e, network, attack)
        if eps is None or e.measures[network]["label"] != e.digit:
            continue
        if e.digit not in best or eps > flip_eps(best[e.digit], network, attack):
            best[e.digit] = e
    return dict(sorted(best.items()))


@dataclass(frozen=True)
class NetworkSummary:
    """One network over the class's measured drawings: how many, how many it reads as meant, the
    median smallest flipping eps (inf when most resist up to GRID_END), how many nothing flips."""

    network: str
    attack: str
    drawings: int
    read_as_meant: int
    median: float
    unflipped: int


def summaries(entries: list[Entry], attack: str = "pgd") -> list[NetworkSummary]:
    out = []
    for net in NETWORKS:
        values = [v for e in entries if (v := flip_eps(e, net, attack)) is not None]
        meant = sum(1 for e in entries if e.measures and net in e.measures and e.measures[net]["label"] == e.digit)
        median = statistics.median(values) if values else float("nan")
        out.append(NetworkSummary(net, attack, len(values), meant, median, sum(1 for v in values if v == float("inf"))))
    return out


def eps_text(value: float) -> str:
    if value != value:  # nan: no drawing measured yet
        return "–"
    return f"> {GRID_END:.1f}" if value == float("inf") else f"{value:.3f}"


def summary_sentence(entries: list[Entry], attack: str = "pgd") -> str:
    """One sentence over the class's drawings, every number computed: the median push that flips
    each network under the attack."""
    rows = [s for s in summaries(entries, attack) if s.drawings]
    if not rows:
        return "No drawing has been measured yet: send one from the Draw and attack page."
    n = max(s.drawings for s in rows)
    parts = ", ".join(f"{s.network} {eps_text(s.median)}" for s in rows)
    return (f"Median smallest {ATTACK_NAMES[attack]} eps that flips the class's {n} measured "
            f"drawing{'s' if n != 1 else ''}: {parts}.")


def distribution_rows(entries: list[Entry], attack: str = "pgd") -> list[dict]:
    """One row per (measured drawing, network): the chart's data. No flip up to GRID_END is drawn
    just beyond it (`beyond`: True)."""
    rows = []
    for e in entries:
        for net in NETWORKS:
            eps = flip_eps(e, net, attack)
            if eps is None:
                continue
            beyond = eps == float("inf")
            rows.append({"network": net, "drawing": e.id, "digit": e.digit,
                         "eps": round(GRID_END + 0.01, 4) if beyond else eps, "beyond": beyond})
    return rows
