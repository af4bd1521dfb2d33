"""The board's worker: a low-priority process that measures the drawings students send.

    python -m app.classroom.measure --db classroom-data/class.sqlite3 --root pretrained

For each drawing waiting in the class database (app/classroom/store.py), oldest first, and for each
of the four networks (f_n and f_nd, trained normally and adversarially): the clean answer and the
smallest flipping eps under FGSM and PGD (`core.attacks.board.board_measures`: about 0.25 s of
one core for the four, `python -m benchmarks.board_flip`). The app process that
takes a drawing starts this worker if none of its own runs (app/classroom/board.py); with several
app processes, several workers share the queue (each claim is one transaction). It runs niced, on
one thread, so the students' slider moves come first on a busy CPU; it exits after `--idle-exit`
seconds without work or when the app process that started it is gone.

No streamlit here.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time

from app.classroom.store import ClassStore, StoreError
from core.errors import RobustnessError
from core.specs import talk_models

# The four networks a drawing is measured on, in the board's order.
NETWORKS = tuple(s.name for s in talk_models("standard") + talk_models("adversarial"))


def load_networks(root: str) -> dict:
    """The four shipped networks' ONNX Runtime classifiers (one thread each)."""
    from core.results.classifiers import load_classifier

    return {name: load_classifier(name, root=root, threads=1) for name in NETWORKS}


def as_json(value: float) -> float | None:
    """A flip eps as stored: None where no eps up to the grid's end flips the answer."""
    return None if not math.isfinite(value) else float(value)


def measure(classifiers: dict, image) -> dict:
    """network -> {"label", "confidence", "fgsm", "pgd"} for one drawing [1, 784] in [0, 1]."""
    from core.attacks.board import board_measures

    out = board_measures(classifiers, image)
    return {name: {"label": int(m.label), "confidence": float(m.confidence), "fgsm": as_json(m.fgsm_eps),
                   "pgd": as_json(m.pgd_eps)} for name, m in out.items()}


def work(store: ClassStore, classifiers: dict, idle_exit_s: float, poll_s: float = 0.25,
         parent: int | None = None, max_entries: int | None = None) -> int:
    """Measure drawings until none has come for idle_exit_s (or the parent is gone); how many measured."""
    done, idle_since = 0, time.monotonic()
    while max_entries is None or done < max_entries:
        if parent is not None and os.getppid() != parent:
            break
        try:
            entry = store.claim_next()
        except StoreError:
            entry = None  # busy or damaged: the pages say so; try again later
        if entry is None:
            if time.monotonic() - idle_since > idle_exit_s:
                break
            time.sleep(poll_s)
            continue
        try:
            measures = measure(classifiers, entry.image)
        except RobustnessError as exc:
            measures, error = None, str(exc)
        # Busy or damaged: the claim expires and the drawing is measured again (STALE_CLAIM_S).
        with contextlib.suppress(StoreError):
            store.finish(entry.id, measures) if measures is not None else store.fail(entry.id, error)
        done += 1
        idle_since = time.monotonic()
    return done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.classroom.measure", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="the class database (app/classroom/store.py)")
    p.add_argument("--root", required=True, help="the pretrained/ folder the app reads")
    p.add_argument("--idle-exit", type=float, default=120.0, help="seconds without work before exiting")
    p.add_argument("--nice", type=int, default=10, help="niceness added to this process")
    p.add_argument("--parent", type=int, default=None, help="exit when this process is no longer the parent")
    args = p.parse_args(argv)
    os.nice(max(0, args.nice))
    try:
        classifiers = load_networks(args.root)
    except RobustnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    work(ClassStore(args.db), classifiers, args.idle_exit, parent=args.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
